"""Every check on rulesets and vignettes (SPEC 2, 4), each a small function yielding Problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ..expr import Condition, Issue, compile_condition
from ..expr.syntax import KEYWORDS, ExprSyntaxError, names, parse
from ..problems import LARGEST, Problem, did_you_mean, has_errors, quoted_list, sensible_number, show_number
from .answers import answer_check, answer_problems
from .loader import Document, YamlPath, describe, parse_ruleset, parse_vignettes, read_text
from .model import DecisionNode, EnumInput, NumberInput, OutcomeNode, Ruleset, VignetteFile

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_NODES = 5000
MAX_VIGNETTES = 2000


@dataclass
class Report:
    """What validating one file found: the model (when its shape is right) and all problems."""

    file: str
    kind: str  # 'ruleset' | 'vignettes'
    model: Any = None
    document: Document | None = None
    problems: list[Problem] = field(default_factory=list)
    conditions: dict[str, Condition] = field(default_factory=dict)  # each `when`, compiled once, for the engine

    @property
    def ok(self) -> bool:
        return self.model is not None and not has_errors(self.problems)


# --- rulesets -------------------------------------------------------------------------------

def validate_ruleset_text(text: str, file: str = "<text>") -> Report:
    parsed = parse_ruleset(text, file)
    report = Report(file, "ruleset", parsed.model, parsed.document, list(parsed.problems))
    if parsed.model is not None and parsed.document is not None:
        report.problems.extend(check_ruleset(parsed.model, parsed.document, report.conditions))
    return report


def validate_ruleset_file(path: str | Path) -> Report:
    text, problems = read_text(path)
    if text is None:
        return Report(str(path), "ruleset", problems=problems)
    return validate_ruleset_text(text, str(path))


def check_ruleset(ruleset: Ruleset, doc: Document | None = None,
                  conditions: dict[str, Condition] | None = None) -> list[Problem]:
    """All checks that need the whole ruleset: references, graph, conditions, and warnings. Each condition
    that compiles is left in `conditions` (text -> Condition) for the compiled ruleset to take over."""
    doc = doc or Document("<model>", ruleset.model_dump(by_alias=True))
    compiled = conditions if conditions is not None else {}
    problems: list[Problem] = []
    for check in (_size, _unique_ids, _input_definitions, _references, partial(_conditions, compiled=compiled),
                  _graph, _unused, partial(_safety, compiled=compiled)):
        problems.extend(check(ruleset, doc))
    return problems


def _compiled(text: str, inputs: dict[str, Any], compiled: dict[str, Condition]) -> list[Issue]:
    """Check one condition, keeping it compiled when it has no errors; its issues."""
    condition, issues = compile_condition(text, inputs)
    if condition is not None:
        compiled.setdefault(text, condition)
    return issues


_SECTIONS = ("references", "dispositions", "inputs", "red_flags", "nodes")


def _size(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    """A tree past MAX_NODES is refused: no clinician can review it, and every page would crawl."""
    if len(ruleset.nodes) > MAX_NODES:
        yield doc.problem("WB1010", f"The ruleset has {len(ruleset.nodes):,} nodes; the limit is {MAX_NODES:,}. "
                          "Split it into rulesets for separate presenting complaints.", ("nodes",))


def _unique_ids(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    for section in _SECTIONS:
        first: dict[str, int] = {}
        for i, item in enumerate(getattr(ruleset, section)):
            if item.id in first:
                line = doc.locate((section, first[item.id], "id"))[0]
                yield doc.problem("WB101", f"Two {section.replace('_', ' ')} are called '{item.id}' (the first is on "
                                  f"line {line}); ids must be unique.", (section, i, "id"))
            else:
                first[item.id] = i


def _input_definitions(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    for i, spec in enumerate(ruleset.inputs):
        if not _IDENTIFIER.match(spec.id) or spec.id in KEYWORDS:
            yield doc.problem("WB013", f"Input id '{spec.id}' is used in conditions, so it must start with a letter "
                              "and hold only lower-case letters, digits and '_' (not a word such as 'and').",
                              ("inputs", i, "id"))
        for bound in ("min", "max"):
            value = getattr(spec, bound, None) if isinstance(spec, NumberInput) else None
            if value is not None and not sensible_number(value):
                yield doc.problem("WB1035", f"Input '{spec.id}' has {bound} {show_number(value)}, which is not a "
                                  f"finite number a clinical value could take (within ±{show_number(LARGEST)}).",
                                  ("inputs", i, bound))
        if isinstance(spec, NumberInput) and spec.min is not None and spec.max is not None and spec.min > spec.max:
            yield doc.problem("WB107", f"Input '{spec.id}' has min {show_number(spec.min)} above max "
                              f"{show_number(spec.max)}.",
                              ("inputs", i, "min"))
        if isinstance(spec, EnumInput):
            seen: set[str] = set()
            for j, value in enumerate(spec.values):
                if value in seen:
                    yield doc.problem("WB107", f"Input '{spec.id}' lists the answer '{value}' twice.",
                                      ("inputs", i, "values", j))
                seen.add(value)
            for key in (spec.labels or {}):
                if key not in seen:
                    yield doc.problem("WB107", f"Input '{spec.id}' has a label for '{key}', which is not one of its "
                                      f"values ({quoted_list(spec.values)}).", ("inputs", i, "labels", key))


def _references(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    nodes = {node.id: None for node in ruleset.nodes}  # ordered sets: fast lookups, stable suggestions
    dispositions = {d.id: None for d in ruleset.dispositions}
    references = {r.id: None for r in ruleset.references}
    if ruleset.start not in nodes:
        yield doc.problem("WB102", f"The ruleset starts at '{ruleset.start}', which is not a node"
                          f"{did_you_mean(ruleset.start, nodes) or '.'}", ("start",))
    for i, node in enumerate(ruleset.nodes):
        if isinstance(node, DecisionNode):
            for j, branch in enumerate(node.branches):
                if branch.next not in nodes:
                    yield doc.problem("WB104", f"Branch {j + 1} of '{node.id}' goes to '{branch.next}', which is not a "
                                      f"node{did_you_mean(branch.next, nodes) or '.'}",
                                      ("nodes", i, "branches", j, "next"))
            if node.else_ not in nodes:
                yield doc.problem("WB104", f"The else of '{node.id}' goes to '{node.else_}', which is not a node"
                                  f"{did_you_mean(node.else_, nodes) or '.'}", ("nodes", i, "else"))
        elif node.disposition not in dispositions:
            hint = did_you_mean(node.disposition, dispositions) or f"; declared: {quoted_list(dispositions)}."
            yield doc.problem("WB105", f"Outcome '{node.id}' gives disposition '{node.disposition}', which is not "
                              f"declared{hint}", ("nodes", i, "disposition"))
    for path, cites in _citations(ruleset):
        for j, cited in enumerate(cites):
            if cited not in references:
                yield doc.problem("WB106", f"{describe(path, doc.data).capitalize()} cites '{cited}', "
                                  f"which is not in references{did_you_mean(cited, references) or '.'}",
                                  path + ("cites", j))


def _citations(ruleset: Ruleset) -> Iterator[tuple[YamlPath, list[str]]]:
    """Every list of citations with the path of what cites it: nodes, their branches, and red flags."""
    for i, node in enumerate(ruleset.nodes):
        yield ("nodes", i), node.cites
        if isinstance(node, DecisionNode):
            for j, branch in enumerate(node.branches):
                yield ("nodes", i, "branches", j), branch.cites
    for i, flag in enumerate(ruleset.red_flags):
        yield ("red_flags", i), flag.cites


def conditions_of(ruleset: Ruleset) -> Iterator[tuple[YamlPath, str]]:
    """Every `when` in the ruleset with its YAML path."""
    for i, flag in enumerate(ruleset.red_flags):
        yield ("red_flags", i, "when"), flag.when
    for i, node in enumerate(ruleset.nodes):
        if isinstance(node, DecisionNode):
            for j, branch in enumerate(node.branches):
                yield ("nodes", i, "branches", j, "when"), branch.when


def _conditions(ruleset: Ruleset, doc: Document, compiled: dict[str, Condition]) -> Iterator[Problem]:
    inputs = {spec.id: spec for spec in ruleset.inputs}
    for path, text in conditions_of(ruleset):
        issues = _compiled(text, inputs, compiled)
        for issue in issues:
            where = describe(path[:-1], doc.data)
            line, column = doc.locate(path)
            column += issue.pos + doc.quote_offset(path)
            end = "" if issue.message.endswith("?") else "."
            yield Problem(issue.code, f"The condition of {where}: {issue.message}{end}", issue.severity,  # type: ignore[arg-type]
                          doc.file, line, column, path)


def edges(ruleset: Ruleset) -> dict[str, list[tuple[str, YamlPath]]]:
    """Each node's successors, in branch order with else last, and the YAML path of each edge."""
    out: dict[str, list[tuple[str, YamlPath]]] = {}
    for i, node in enumerate(ruleset.nodes):
        if isinstance(node, DecisionNode):
            out[node.id] = [(b.next, ("nodes", i, "branches", j, "next")) for j, b in enumerate(node.branches)]
            out[node.id].append((node.else_, ("nodes", i, "else")))
        else:
            out.setdefault(node.id, [])
    return out


def _graph(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    graph = edges(ruleset)
    index = {node.id: i for i, node in enumerate(ruleset.nodes)}
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for root in graph:
        if root in state:
            continue
        stack: list[tuple[str, Iterator[tuple[str, YamlPath]]]] = [(root, iter(graph[root]))]
        state[root] = 1
        trail = [root]
        while stack:
            node_id, successors = stack[-1]
            for target, path in successors:
                if target not in graph:
                    continue
                if state.get(target) == 1:
                    loop = trail[trail.index(target):] + [target]
                    yield doc.problem("WB201", f"The flow goes round in a loop: {' → '.join(loop)}. A decision tree "
                                      "must always move forward to an outcome.", path)
                elif target not in state:
                    state[target] = 1
                    trail.append(target)
                    stack.append((target, iter(graph[target])))
                    break
            else:
                state[node_id] = 2
                trail.pop()
                stack.pop()
    if ruleset.start not in graph:
        return
    seen = {ruleset.start}
    frontier = [ruleset.start]
    while frontier:
        for target, _ in graph[frontier.pop()]:
            if target in graph and target not in seen:
                seen.add(target)
                frontier.append(target)
    for node_id in graph:
        if node_id not in seen:
            yield doc.problem("WB202", f"Node '{node_id}' cannot be reached from the start ('{ruleset.start}'): no "
                              "branch or else leads to it.", ("nodes", index[node_id], "id"))


def _unused(ruleset: Ruleset, doc: Document) -> Iterator[Problem]:
    read: set[str] = set()
    for _, text in conditions_of(ruleset):
        try:
            read.update(names(parse(text)))
        except ExprSyntaxError:
            pass
    for i, spec in enumerate(ruleset.inputs):
        if spec.id not in read:
            yield doc.problem("WB401", f"Input '{spec.id}' is asked for but no rule or red flag reads it.",
                              ("inputs", i, "id"), severity="warning")
    for i, flag in enumerate(ruleset.red_flags):
        if not flag.cites:
            yield doc.problem("WB402", f"Red flag '{flag.id}' cites no reference: say which guideline it comes from.",
                              ("red_flags", i, "id"), severity="warning")
    used = {node.disposition for node in ruleset.nodes if isinstance(node, OutcomeNode)}
    for i, disposition in enumerate(ruleset.dispositions):
        if disposition.id not in used:
            yield doc.problem("WB404", f"No outcome gives disposition '{disposition.id}'.", ("dispositions", i, "id"),
                              severity="warning")
    cited = {c for _, cites in _citations(ruleset) for c in cites} | {c for prop in ruleset.safety for c in prop.cites}
    for i, reference in enumerate(ruleset.references):
        if reference.id not in cited:
            yield doc.problem("WB405", f"Reference '{reference.id}' is never cited.", ("references", i, "id"),
                              severity="warning")
    for i, node in enumerate(ruleset.nodes):
        if not isinstance(node, DecisionNode):
            continue
        if not node.branches:
            yield doc.problem("WB407", f"Decision '{node.id}' has no branches, so it always goes to "
                              f"'{node.else_}'.", ("nodes", i, "id"), severity="warning")
        seen: dict[str, int] = {}
        for j, branch in enumerate(node.branches):
            key = " ".join(branch.when.split())
            if key in seen:
                yield doc.problem("WB403", f"Branch {j + 1} of '{node.id}' has the same condition as branch "
                                  f"{seen[key] + 1}, so it can never be taken.", ("nodes", i, "branches", j, "when"),
                                  severity="warning")
            seen.setdefault(key, j)


def _safety(ruleset: Ruleset, doc: Document, compiled: dict[str, Condition]) -> Iterator[Problem]:
    """The `safety:` promises `workbench verify` proves: one kind each, names that resolve, a sound condition."""
    inputs = {spec.id: spec for spec in ruleset.inputs}
    known = {"at_least": [d.id for d in ruleset.dispositions], "never": [d.id for d in ruleset.dispositions],
             "requires_red_flag": [f.id for f in ruleset.red_flags]}
    references = [r.id for r in ruleset.references]
    seen: set[str] = set()
    for i, prop in enumerate(ruleset.safety):
        at = ("safety", i)
        if prop.id in seen:
            yield doc.problem("WB101", f"Two safety properties are called '{prop.id}'; ids must be unique.",
                              at + ("id",))
        seen.add(prop.id)
        kinds = [kind for kind in known if getattr(prop, kind) is not None]
        if len(kinds) != 1:
            given = f"; it gives {' and '.join(kinds)}" if kinds else ""
            yield doc.problem("WB801", f"Safety property '{prop.id}' must say exactly one of 'at_least', 'never' or "
                              f"'requires_red_flag'{given}.", at + ((kinds[1],) if kinds else ("id",)), key=bool(kinds))
        for kind in kinds:
            target = getattr(prop, kind)
            if target not in known[kind]:
                what = "red flag" if kind == "requires_red_flag" else "disposition"
                hint = did_you_mean(target, known[kind]) or f"; declared: {quoted_list(known[kind])}."
                yield doc.problem("WB802", f"Safety property '{prop.id}' names {what} '{target}', which is not "
                                  f"declared{hint}", at + (kind,))
        for j, cited in enumerate(prop.cites):
            if cited not in references:
                yield doc.problem("WB106", f"Safety property '{prop.id}' cites '{cited}', which is not in references"
                                  f"{did_you_mean(cited, references) or '.'}", at + ("cites", j))
        for issue in _compiled(prop.when, inputs, compiled):
            line, column = doc.locate(at + ("when",))
            column += issue.pos + doc.quote_offset(at + ("when",))
            end = "" if issue.message.endswith("?") else "."
            yield Problem(issue.code, f"The condition of safety property '{prop.id}': {issue.message}{end}",
                          issue.severity, doc.file, line, column, at + ("when",))  # type: ignore[arg-type]


# --- vignettes ------------------------------------------------------------------------------

def validate_vignettes_text(text: str, file: str, ruleset: Ruleset | None, *, ruleset_broken: bool = False) -> Report:
    """`ruleset_broken`: the ruleset exists but has errors, so the vignettes can only be checked for shape."""
    parsed = parse_vignettes(text, file)
    report = Report(file, "vignettes", parsed.model, parsed.document, list(parsed.problems))
    if parsed.model is not None and parsed.document is not None:
        report.problems.extend(check_vignettes(parsed.model, parsed.document, ruleset, ruleset_broken=ruleset_broken))
    return report


def check_vignettes(vignettes: VignetteFile, doc: Document, ruleset: Ruleset | None, *,
                    ruleset_broken: bool = False) -> Iterator[Problem]:
    """Each vignette's answers fit the inputs and its expectations name things the ruleset has."""
    if ruleset is None and ruleset_broken:
        yield doc.problem("WB507", f"The ruleset '{vignettes.ruleset}' has errors, so these vignettes were checked "
                          "for their shape only: fix the ruleset first.", ("ruleset",), severity="warning")
    elif ruleset is None:
        yield doc.problem("WB501", f"The vignettes are for ruleset '{vignettes.ruleset}', which cannot be found "
                          "beside this file or among the files given.", ("ruleset",))
    elif ruleset.id != vignettes.ruleset:
        yield doc.problem("WB501", f"The vignettes are for ruleset '{vignettes.ruleset}', but the ruleset found "
                          f"beside them is '{ruleset.id}'.", ("ruleset",))
        ruleset = None
    if len(vignettes.vignettes) > MAX_VIGNETTES:
        yield doc.problem("WB1011", f"The file holds {len(vignettes.vignettes):,} vignettes; the limit is "
                          f"{MAX_VIGNETTES:,} a file. Split them into several files in the vignettes folder.",
                          ("vignettes",))
    first: dict[str, int] = {}
    for i, vignette in enumerate(vignettes.vignettes):
        at = ("vignettes", i)
        if vignette.id in first:
            yield doc.problem("WB506", f"Two vignettes are called '{vignette.id}'; ids must be unique.", at + ("id",))
        first.setdefault(vignette.id, i)
        expect = vignette.expect
        if expect.disposition is None and expect.needs is None:
            yield doc.problem("WB505", f"Vignette '{vignette.id}' expects neither a disposition nor 'needs': give "
                              "the disposition a clinician expects.", at + ("expect",))
        if ruleset is not None:
            yield from _vignette_against_ruleset(vignette, at, doc, ruleset)


def _vignette_against_ruleset(vignette: Any, at: YamlPath, doc: Document, ruleset: Ruleset) -> Iterator[Problem]:
    checks = {spec.id: answer_check(spec) for spec in ruleset.inputs}
    for input_id, message in answer_problems(checks, vignette.inputs):
        code = "WB503" if input_id in checks else "WB502"
        yield doc.problem(code, f"Vignette '{vignette.id}': {message}", at + ("inputs", input_id), key=code == "WB502")
    for j, input_id in enumerate(vignette.unsure):
        if input_id not in checks:
            yield doc.problem("WB502", f"Vignette '{vignette.id}' is unsure about '{input_id}', which is not an input "
                              f"of this ruleset{did_you_mean(input_id, checks) or '.'}", at + ("unsure", j))
        elif vignette.inputs.get(input_id) is not None:
            yield doc.problem("WB503", f"Vignette '{vignette.id}' both answers '{input_id}' and is unsure about it; "
                              "keep one.", at + ("unsure", j))
    expect = vignette.expect
    dispositions = [d.id for d in ruleset.dispositions]
    outcomes = {n.id: n for n in ruleset.nodes if isinstance(n, OutcomeNode)}
    flags = [f.id for f in ruleset.red_flags]

    def unknown(kind: str, value: str, known: list[str], path: YamlPath) -> Problem:
        return doc.problem("WB504", f"Vignette '{vignette.id}' expects {kind} '{value}', which the ruleset does not "
                           f"have{did_you_mean(value, known) or '.'}", at + ("expect",) + path)

    if expect.disposition is not None and expect.disposition not in dispositions:
        yield unknown("disposition", expect.disposition, dispositions, ("disposition",))
    if expect.outcome is not None:
        node = outcomes.get(expect.outcome)
        if node is None:
            yield unknown("outcome", expect.outcome, list(outcomes), ("outcome",))
        elif expect.disposition is not None and node.disposition != expect.disposition:
            yield doc.problem("WB504", f"Vignette '{vignette.id}' expects outcome '{node.id}', which gives "
                              f"'{node.disposition}', but also expects disposition '{expect.disposition}'.",
                              at + ("expect", "outcome"))
    for j, flag in enumerate(expect.red_flags or []):
        if flag not in flags:
            yield unknown("red flag", flag, flags, ("red_flags", j))
    for j, need in enumerate(expect.needs or []):
        if need not in checks:
            yield unknown("a question about", need, list(checks), ("needs", j))
    for j, flag in enumerate(expect.possible_red_flags or []):
        if flag not in flags:
            yield unknown("possible red flag", flag, flags, ("possible_red_flags", j))
    references = [r.id for r in ruleset.references]
    for j, cited in enumerate(vignette.cites):
        if cited not in references:
            yield doc.problem("WB508", f"Vignette '{vignette.id}' cites '{cited}', which is not among the ruleset's "
                              f"references{did_you_mean(cited, references) or '.'}", at + ("cites", j))
