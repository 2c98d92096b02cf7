"""A ruleset as a clinical safety officer reads it: the questions in the order they are asked, the dispositions with
their outcomes, the red flags, the safety promises and whether they hold, how much of the tree the vignettes
reach, the last release and what changed since — everything said in the ruleset's own words, ids kept only for
whoever needs them. The Overview page lays it out; safety_report.py prints it as the document a DCB0129 hazard
log points at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.verify import Verification
from ..content.model import DecisionNode, OutcomeNode
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset
from ..run.explain import input_label
from ..run.replay import ReplayReport
from ..run.words import answers_in_words, condition_words, short
from .canonical import ruleset_sha256
from .diff import diff_versions
from .releases import Release


@dataclass(frozen=True)
class Step:
    """One way out of a question: when (in words), and where it leads."""

    when: str
    condition: str | None  # as written, for whoever checks it
    to: str  # the next question's or the outcome's title
    to_id: str
    disposition: str | None  # the outcome's disposition label, when it leads to an outcome


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    asks: tuple[tuple[str, str], ...]  # (short name, question as asked)
    steps: tuple[Step, ...]  # the branches in order, the "otherwise" last


@dataclass(frozen=True)
class DispositionOutcomes:
    id: str
    label: str
    outcomes: tuple[tuple[str, str], ...]  # (id, title)


@dataclass(frozen=True)
class Flag:
    id: str
    label: str
    when: str


@dataclass(frozen=True)
class Promise:
    id: str
    title: str
    when: str
    demands: str  # "at least Emergency", "never Self-care", "always raises History of cancer"
    status: str  # holds | violated | vacuous | unproved | not checked
    counterexample: str | None = None  # the answers of a case that breaks it, in words


@dataclass(frozen=True)
class ReleaseFacts:
    version: str
    sha256: str
    released_at: str
    author: str
    approver: str
    current: bool  # the content described is this release's content


@dataclass
class Overview:
    id: str
    title: str
    version: str
    description: str | None
    content_sha256: str  # of the content described (canonical JSON, as a release hashes it)
    questions: list[Question]
    dispositions: list[DispositionOutcomes]
    red_flags: list[Flag]
    promises: list[Promise]
    verification_status: str  # verified | violated | incomplete | invalid | not checked
    combinations: int | None  # every possible patient, as answer combinations (numbers by range)
    vignettes: int
    passed: int
    failing: list[str]
    nodes_reached: tuple[int, int]  # (reached, total)
    branches_reached: tuple[int, int]
    release: ReleaseFacts | None = None
    changes: list[str] = field(default_factory=list)  # since the last release, in words
    bump: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def broken(self) -> list[Promise]:
        return [p for p in self.promises if p.status == "violated"]


def asked_order(ruleset: CompiledRuleset) -> list[str]:
    """The questions in the order a case meets them: depth first from the start, each question's branches in
    order before its "otherwise", as the first matching branch wins."""
    nodes = {node.id: node for node in ruleset.model.nodes}
    order: list[str] = []
    stack = [ruleset.model.start]
    while stack:
        here = stack.pop()
        node = nodes.get(here)
        if here in order or not isinstance(node, DecisionNode):
            continue
        order.append(here)
        stack.extend(reversed(node.targets))
    return order


def build(ruleset: CompiledRuleset, replay: ReplayReport, verification: Verification | None,
          releases: Sequence[Release] = (), ruleset_dir: Path | None = None) -> Overview:
    """The overview of `ruleset`, from its replay, its verification (None while it runs) and its releases; with
    `ruleset_dir`, what changed since the last release (the behavioural diff, which reads the history)."""
    model = ruleset.model
    nodes = {node.id: node for node in model.nodes}
    dispositions = {d.id: d.label for d in model.dispositions}

    def step(target: str, condition: str | None, words: str) -> Step:
        node = nodes[target]
        label = short(dispositions.get(node.disposition, "")) if isinstance(node, OutcomeNode) else None
        return Step(words, condition, node.title, target, label)

    questions = []
    for node_id in asked_order(ruleset):
        node = nodes[node_id]
        assert isinstance(node, DecisionNode)
        reads = list(dict.fromkeys(name for b in ruleset.steps[node_id].branches for name in b.reads))
        asks = tuple((input_label(ruleset, name), ruleset.inputs[name].question) for name in reads
                     if name in ruleset.inputs)
        steps = [step(b.next, b.when, condition_words(ruleset, b.when)) for b in node.branches]
        steps.append(step(node.else_, None, "otherwise"))
        questions.append(Question(node_id, node.title, asks, tuple(steps)))
    outcomes = [DispositionOutcomes(d.id, d.label, tuple((n.id, n.title) for n in model.nodes
                                                         if isinstance(n, OutcomeNode) and n.disposition == d.id))
                for d in model.dispositions]
    flags = [Flag(f.id, f.label, condition_words(ruleset, f.when)) for f in model.red_flags]
    promises = _promises(ruleset, verification)
    coverage = replay.coverage.to_dict(ruleset) if replay.coverage is not None else None
    overview = Overview(
        model.id, model.title, model.version, model.description, ruleset_sha256(model), questions, outcomes, flags,
        promises, verification.status if verification is not None else "not checked",
        verification.total if verification is not None else None, len(replay.results), replay.passed,
        [r.id for r in replay.results if not r.passed],
        (coverage["nodes"]["covered"], coverage["nodes"]["total"]) if coverage else (0, len(model.nodes)),
        (coverage["branches"]["covered"], coverage["branches"]["total"]) if coverage else (0, 0),
        problems=[p for p in replay.problems if p.is_error])
    if releases:
        last = releases[-1]
        overview.release = ReleaseFacts(last.version, last.sha256, last.released_at, last.author, last.approver,
                                        last.has_content_of(model))
        if ruleset_dir is not None and not overview.release.current:
            try:
                diff = diff_versions(ruleset_dir, last.version, "draft")
            except ProblemError as exc:
                overview.changes = [p.message for p in exc.problems]
            else:
                overview.bump = diff.bump
                overview.changes = [change.text for change in diff.changes]
    return overview


def _promises(ruleset: CompiledRuleset, verification: Verification | None) -> list[Promise]:
    dispositions = {d.id: short(d.label) for d in ruleset.model.dispositions}
    flags = {f.id: short(f.label) for f in ruleset.model.red_flags}
    verdicts = {v.id: v for v in verification.properties} if verification is not None else {}
    out = []
    for promise in ruleset.model.safety:
        if promise.at_least:
            demands = f"at least {dispositions.get(promise.at_least, promise.at_least)}"
        elif promise.never:
            demands = f"never {dispositions.get(promise.never, promise.never)}"
        else:
            demands = f"always raises {flags.get(promise.requires_red_flag or '', promise.requires_red_flag)}"
        verdict = verdicts.get(promise.id)
        counter = None
        if verdict is not None and verdict.counterexample is not None:
            counter = answers_in_words(ruleset, verdict.counterexample.inputs)
            result = verdict.counterexample.result
            if result.get("disposition"):
                counter += f" → {dispositions.get(result['disposition'], result['disposition'])}"
        out.append(Promise(promise.id, promise.title, condition_words(ruleset, promise.when), demands,
                           verdict.status if verdict is not None else "not checked", counter))
    return out
