// What an EHR selects from an exported PlanDefinition for each QuestionnaireResponse, with fhirpath.js (npm
// `fhirpath`, the R4 model), each FHIRPath expression compiled once. The same algorithm as tests/fhir_selection.py
// and docs/downstream.md ("Running the PlanDefinition"):
//   - an action applies when every condition gives exactly [true];
//   - under cqf-applicabilityBehavior "any" the first applicable child is taken, under "all" every one;
//   - a leaf is an outcome (its outcome and disposition codes) or "ask next" (its applicable children's questions);
//   - an answer coded data-absent-reason asked-unknown is Unsure (SPEC 3a): when the questions to ask include one,
//     the response is tried with each value of the unsure-values extension in its place (depth first, the last
//     value first), and the most urgent disposition (disposition-order) wins.
// With --evaluate, reads {"expressions": [...], "responses": [...]} and writes each expression's value on each
// response. Otherwise reads {"plan": PlanDefinition, "responses": [QuestionnaireResponse, ...]}; writes one result per
// response: {"results": [{"status", "outcome", "disposition", "red_flags", "needs"}, ...], "evaluations": N}.
import fhirpath from "fhirpath";
import r4 from "fhirpath/fhir-context/r4/index.js";

const APPLICABILITY = "http://hl7.org/fhir/StructureDefinition/cqf-applicabilityBehavior";
const UNSURE_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
const UNSURE_CODES = new Set(["asked-unknown", "unknown"]);

// Each expression is compiled once, and evaluated (on the whole response) once per distinct set of the items it
// names: an expression reading only the items `linkId = '...'` gives the same value wherever those are the same.
const compiled = new Map();
const values = new Map();
export const counts = { evaluations: 0 };
function run(expression, response) {
  let found = compiled.get(expression);
  if (found === undefined) {
    const links = new Set([...expression.matchAll(/linkId = '((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]));
    found = { fn: fhirpath.compile(expression, r4), links };
    compiled.set(expression, found);
  }
  const key = expression + "\u0000" + JSON.stringify((response.item ?? []).filter((i) => found.links.has(i.linkId)));
  let value = values.get(key);
  if (value === undefined) {
    counts.evaluations += 1;
    value = found.fn({}, { response });
    values.set(key, value);
  }
  return value;
}

const ext = (element, name) => (element.extension ?? []).filter((e) => e.url.endsWith(`/${name}`));
const behaviour = (action) => (action.extension ?? []).find((e) => e.url === APPLICABILITY)?.valueCode ?? "all";
const codes = (action, suffix) => (action.code ?? []).flatMap((c) => c.coding ?? [])
  .filter((c) => c.system.endsWith(suffix)).map((c) => c.code);

function applies(action, response) {
  return (action.condition ?? []).every((c) => {
    const value = run(c.expression.expression, response);
    return value.length === 1 && value[0] === true;
  });
}

function leaves(action, response, out) {
  if (codes(action, "-action").includes("ask")) {
    out.push({ needs: action.action.filter((q) => applies(q, response)).map((q) => codes(q, "-input")[0]) });
    return out;
  }
  if (!action.action) {
    out.push({ outcome: codes(action, "-outcome")[0], disposition: codes(action, "-disposition")[0] });
    return out;
  }
  const any = behaviour(action) === "any";
  for (const child of action.action) {
    if (applies(child, response)) {
      leaves(child, response, out);
      if (any) break;
    }
  }
  return out;
}

function isUnsure(item) {
  const coding = item?.answer?.[0]?.valueCoding;
  return coding?.system === UNSURE_SYSTEM && UNSURE_CODES.has(coding.code);
}

function withAnswer(response, linkId, value) {
  const { url, ...answer } = value;
  return { ...response, item: response.item.map((i) => (i.linkId === linkId ? { ...i, answer: [answer] } : i)) };
}

export function select(plan, response) {
  const triage = plan.action.find((a) => a.id === "triage");
  const flags = plan.action.find((a) => a.id === "red-flags");
  const order = ext(plan, "disposition-order").map((e) => e.valueCoding.code);
  const inputs = ext(plan, "unsure-values").map((e) => e.extension.find((x) => x.url === "linkId").valueString);
  const values = new Map(ext(plan, "unsure-values").map((e) => [
    e.extension.find((x) => x.url === "linkId").valueString, e.extension.filter((x) => x.url === "value")]));
  const once = (r) => leaves(triage, r, [])[0];
  const redFlags = flags ? flags.action.filter((f) => applies(f, response)).map((f) => codes(f, "-red-flag")[0]) : [];
  const unsure = new Set((response.item ?? []).filter(isUnsure).map((i) => i.linkId));
  let best = null;
  const stuck = [];
  const stack = [response];
  while (stack.length) {
    const current = stack.pop();
    const leaf = once(current);
    if (leaf === undefined) {  // nothing applicable: what a broken PlanDefinition gives an EHR
      return { status: "nothing-selected", outcome: null, disposition: null, red_flags: redFlags, needs: [] };
    }
    if (leaf.outcome !== undefined) {
      if (best === null || order.indexOf(leaf.disposition) < order.indexOf(best.disposition)) {
        best = leaf;
        if (order.indexOf(leaf.disposition) === 0) break;
      }
      continue;
    }
    const open = new Set((current.item ?? []).filter(isUnsure).map((i) => i.linkId));
    const split = leaf.needs.find((n) => unsure.has(n) && open.has(n));
    if (split === undefined) {
      stuck.push(leaf);
      continue;
    }
    for (const value of values.get(split)) stack.push(withAnswer(current, split, value));
  }
  if (best !== null && (stuck.length === 0 || order.indexOf(best.disposition) === 0)) {
    return { status: "complete", outcome: best.outcome, disposition: best.disposition, red_flags: redFlags, needs: [] };
  }
  const needed = new Set(stuck.flatMap((s) => s.needs));
  return { status: "needs_input", outcome: null, disposition: null, red_flags: redFlags,
           needs: inputs.filter((i) => needed.has(i)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let text = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) text += chunk;
  const input = JSON.parse(text);
  if (process.argv.includes("--evaluate")) {  // every expression on every response, each compiled once
    const fns = input.expressions.map((e) => fhirpath.compile(e, r4));
    process.stdout.write(JSON.stringify(fns.map((fn) => input.responses.map((response) => fn({}, { response })))));
  } else {
    const results = input.responses.map((r) => select(input.plan, r));
    process.stdout.write(JSON.stringify({ results, evaluations: counts.evaluations }));
  }
}
