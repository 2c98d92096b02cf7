// Evaluating a verified release here, in plain JavaScript: the condition language (SPEC 3) and the walk of the
// tree (SPEC 5), as the workbench's engine does them. An app evaluates the release whose signature it checked,
// never trusting an answer a server computed (that answer is not signed, so a server could say anything).
//
//   import { evaluate } from "./evaluate.mjs";
//   evaluate(release, { age: 62, known_cancer: true })
//   // {status: "needs_input", outcome: null, disposition: null, red_flags: [...], path: [...], needs: [...]}
//
// Unknown is `null` throughout (three-valued, Kleene): a missing answer is never false. Not covered here: answers
// marked unsure (SPEC 3a); send those to an app that runs the workbench's own runtime.

export class AnswerError extends Error {}

// --- the condition language ------------------------------------------------------------------------------------

const TOKEN = /\s+|(\d+(?:\.\d+)?(?![A-Za-z_]))|('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)/y;

function tokenize(text) {
  const tokens = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`cannot read the condition at column ${at + 1}: ${text}`);
    if (match[1] !== undefined) tokens.push({ kind: "num", text: match[1] });
    else if (match[2] !== undefined) tokens.push({ kind: "str", text: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: "name", text: match[3] });
    else if (match[4] !== undefined) tokens.push({ kind: "op", text: match[4] });
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

const COMPARISONS = ["==", "!=", "<", "<=", ">", ">="];

/** The tree of a condition: {kind: "literal"|"list"|"name"|"not"|"and"|"or"|"compare"|"count", ...}. */
export function parse(text) {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (offset = 0) => tokens[at + offset];
  const is = (kind, value) => peek().kind === kind && (value === undefined || peek().text === value);
  const take = () => tokens[at++];

  function orExpr() { return joined("or", andExpr); }
  function andExpr() { return joined("and", notExpr); }
  function joined(op, part) {
    const operands = [part()];
    while (is("name", op)) { take(); operands.push(part()); }
    return operands.length === 1 ? operands[0] : { kind: op, operands };
  }
  function notExpr() {
    if (is("name", "not") && peek(1).text !== "in") { take(); return { kind: "not", operand: notExpr() }; }
    return comparison();
  }
  function comparison() {
    let left = operand();
    const pairs = [];
    for (;;) {
      let op;
      if (peek().kind === "op" && COMPARISONS.includes(peek().text)) op = take().text;
      else if (is("name", "in")) op = take().text;
      else if (is("name", "not") && peek(1).text === "in") { take(); take(); op = "not in"; }
      else break;
      const right = operand();
      pairs.push({ kind: "compare", op, left, right });
      left = right;
    }
    if (pairs.length === 0) return left;
    return pairs.length === 1 ? pairs[0] : { kind: "and", operands: pairs };
  }
  function operand() {
    if (is("op", "(")) { take(); const inner = orExpr(); take(); return inner; }
    if (is("op", "[")) {
      take();
      const items = [];
      while (!is("op", "]")) { items.push(literal().value); if (is("op", ",")) take(); }
      take();
      return { kind: "list", items };
    }
    if (peek().kind === "name" && peek(1).text === "(") {  // count(...), the only function
      take(); take();
      const operands = [];
      while (!is("op", ")")) { operands.push(orExpr()); if (is("op", ",")) take(); }
      take();
      return { kind: "count", operands };
    }
    if (peek().kind === "name" && !["and", "or", "not", "in"].includes(peek().text)) {
      const name = take().text;
      if (name === "true" || name === "false") return { kind: "literal", value: name === "true" };
      return { kind: "name", id: name };
    }
    return literal();
  }
  function literal() {
    if (is("op", "-") && peek(1).kind === "num") { take(); return { kind: "literal", value: -Number(take().text) }; }
    if (peek().kind === "num") return { kind: "literal", value: Number(take().text) };
    if (peek().kind === "str") return { kind: "literal", value: take().text.slice(1, -1).replace(/\\(.)/g, "$1") };
    if (is("name", "true") || is("name", "false")) return { kind: "literal", value: take().text === "true" };
    throw new Error(`expected a value in the condition: ${text}`);
  }
  const tree = orExpr();
  if (!is("end")) throw new Error(`cannot read the condition: ${text}`);
  return tree;
}

/** The input ids a tree reads. */
export function names(tree, found = new Set()) {
  if (tree.kind === "name") found.add(tree.id);
  for (const part of [tree.operand, tree.left, tree.right, ...(tree.operands ?? [])]) if (part) names(part, found);
  return found;
}

const RELATIONS = {
  "==": (a, b) => a === b, "!=": (a, b) => a !== b, "<": (a, b) => a < b, "<=": (a, b) => a <= b,
  ">": (a, b) => a > b, ">=": (a, b) => a >= b,
  "in": (a, members) => members.includes(a), "not in": (a, members) => !members.includes(a),
};

/** A side of a comparison as the values it may still take: a list, or null when unknown. */
function possible(tree, answers) {
  if (tree.kind === "count") {
    let yes = 0, unknown = 0;
    for (const operand of tree.operands) {
      const value = value_(operand, answers);
      if (value === null) unknown += 1; else if (value) yes += 1;
    }
    return Array.from({ length: unknown + 1 }, (_, i) => yes + i);
  }
  if (tree.kind === "list") return [tree.items];
  const value = value_(tree, answers);
  return value === null ? null : [value];
}

/** true, false, or null (unknown) for a condition on these answers. */
function value_(tree, answers) {
  switch (tree.kind) {
    case "literal": return tree.value;
    case "list": return tree.items;
    case "name": return answers[tree.id] ?? null;
    case "not": { const v = value_(tree.operand, answers); return v === null ? null : !v; }
    case "and": case "or": {
      const decisive = tree.kind === "or";
      let unknown = false;
      for (const operand of tree.operands) {
        const v = value_(operand, answers);
        if (v === null) unknown = true; else if (v === decisive) return decisive;
      }
      return unknown ? null : !decisive;
    }
    case "compare": {
      const left = possible(tree.left, answers), right = possible(tree.right, answers);
      if (left === null || right === null) return null;
      const outcomes = new Set();
      for (const a of left) for (const b of right) outcomes.add(RELATIONS[tree.op](a, b));
      return outcomes.size === 1 ? [...outcomes][0] : null;
    }
    default: throw new Error(`a ${tree.kind} is not a condition`);
  }
}

// --- the release ---------------------------------------------------------------------------------------------

function checkAnswers(release, answers) {
  const inputs = new Map(release.inputs.map((spec) => [spec.id, spec]));
  for (const [id, value] of Object.entries(answers)) {
    const spec = inputs.get(id);
    if (!spec) throw new AnswerError(`'${id}' is not a question of ${release.id} ${release.version}`);
    if (value === null) continue;
    if (spec.type === "boolean" && typeof value !== "boolean") throw new AnswerError(`'${id}' takes true or false`);
    if (spec.type === "enum" && !spec.values.includes(value)) {
      throw new AnswerError(`'${id}' takes one of ${spec.values.join(", ")}`);
    }
    if (spec.type === "number") {
      if (typeof value !== "number" || !Number.isFinite(value)) throw new AnswerError(`'${id}' takes a number`);
      if ((spec.min ?? -Infinity) > value || value > (spec.max ?? Infinity)) {
        throw new AnswerError(`'${id}' must be between ${spec.min} and ${spec.max}`);
      }
    }
  }
}

/** SPEC 5's result for these answers on a verified release document. */
export function evaluate(release, answers) {
  checkAnswers(release, answers);
  const order = release.inputs.map((spec) => spec.id);
  const nodes = new Map(release.nodes.map((node) => [node.id, node]));
  const trees = new Map();
  const tree = (text) => trees.get(text) ?? trees.set(text, parse(text)).get(text);
  const red_flags = (release.red_flags ?? []).filter((flag) => value_(tree(flag.when), answers) === true)
    .map((flag) => flag.id);
  const path = [];
  let node = nodes.get(release.start);
  while (node.kind !== "outcome") {
    path.push(node.id);
    let next = node.else;
    for (const branch of node.branches) {
      const v = value_(tree(branch.when), answers);
      if (v === true) { next = branch.next; break; }
      if (v === null) {
        const reads = names(tree(branch.when));
        const needs = order.filter((id) => reads.has(id) && (answers[id] ?? null) === null);
        return { status: "needs_input", outcome: null, disposition: null, red_flags, path, needs };
      }
    }
    node = nodes.get(next);
  }
  path.push(node.id);
  return { status: "complete", outcome: node.id, disposition: node.disposition, red_flags, path, needs: [] };
}
