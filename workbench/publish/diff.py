"""What changed between two versions of a ruleset, in clinical words, and the version bump it calls for.

Three views: the structural diff (questions, red flags, branches, outcomes, wording), the behavioural
diff (vignettes and every combination of answers, from behaviour.py), and a suggested semantic-version
bump: patch for wording only, minor when cases escalate or questions are added, major when any case
is de-escalated to a less urgent disposition (or apps would be refused answers they used to send).
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..analysis.behaviour import Exhaustive, VignetteChange, compare_all, urgency_order, vignette_changes
from ..content.model import Branch, DecisionNode, EnumInput, NumberInput, OutcomeNode, Ruleset, Vignette
from ..content.semver import Bump, bump_of, bumped, version_key
from ..folder import RULESET_FILE
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset
from ..run.load import Loaded, load_file, load_text
from ..run.replay import load_vignettes, vignette_paths
from .published import published
from .releases import Release
from .runtime import load_release_json
from .signing import Keyring, load_keyring

Kind = Literal["wording", "logic", "interface"]
_LEVELS = {"none": 0, "patch": 1, "minor": 2, "major": 3}


@dataclass
class Change:
    """One structural difference: where, what, and whether it is wording, logic or the questions asked."""

    section: str
    id: str
    change: str
    kind: Kind
    text: str
    before: str | None = None
    after: str | None = None
    level: Bump = "patch"

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "id": self.id, "change": self.change, "kind": self.kind, "text": self.text,
                "before": self.before, "after": self.after}


@dataclass
class Diff:
    """Everything a reviewer needs to judge a change: structure, behaviour and the suggested version."""

    id: str
    from_label: str
    to_label: str
    from_version: str
    to_version: str
    changes: list[Change] = field(default_factory=list)
    vignettes_run: int = 0
    vignettes_skipped: int = 0  # they answer a question only one version asks
    vignettes: list[VignetteChange] = field(default_factory=list)
    exhaustive: Exhaustive = field(default_factory=lambda: Exhaustive(False))
    bump: str = "none"
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def suggested_version(self) -> str | None:
        return None if self.bump == "none" else bumped(self.from_version, self.bump)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "from": {"label": self.from_label, "version": self.from_version},
                "to": {"label": self.to_label, "version": self.to_version},
                "structural": [c.to_dict() for c in self.changes],
                "behavioural": {"vignettes": {"total": self.vignettes_run, "skipped": self.vignettes_skipped,
                                              "changed": [v.to_dict() for v in self.vignettes]},
                                "combinations": self.exhaustive.to_dict()},
                "bump": {"suggested": self.bump, "version": self.suggested_version, "reasons": self.reasons},
                "warnings": self.warnings}


# --- entry points ---------------------------------------------------------------------------

def diff_versions(ruleset_dir: Path, from_ref: str | None = None, to_ref: str = "draft",
                  assume: Sequence[str] = ()) -> Diff:
    """Compare two versions of the ruleset in this folder ('draft' or a released version); the default is the
    last release against the draft. Raises ProblemError when a version cannot be found, verified or read."""
    ruleset_dir = Path(ruleset_dir)
    keyring = load_keyring(required=False)
    if from_ref is None:
        releases = _releases(ruleset_dir, keyring)
        if not releases:
            raise ProblemError([Problem("WB722", "Nothing has been released yet, so there is no release to compare "
                                        "the draft with; give --from.")])
        from_ref = releases[-1].version
    old, new = resolve(ruleset_dir, from_ref, keyring), resolve(ruleset_dir, to_ref, keyring)
    vignettes = [v for report in load_vignettes(vignette_paths(ruleset_dir), None) if report.model
                 for v in report.model.vignettes]
    result = diff_rulesets(old, new, vignettes, assume)
    result.from_label, result.to_label = _label(from_ref), _label(to_ref)
    return result


def _label(ref: str) -> str:
    if ref == "draft" or ref.startswith("git:"):
        return ref
    return f"file {ref}" if ref.endswith((".yaml", ".yml", ".json")) else f"release {ref}"


def _releases(ruleset_dir: Path, keyring: Keyring) -> list[Release]:
    found, problems = published(ruleset_dir.parent, keyring)
    mine = [p for p in problems if (p.file or "").startswith(f"{ruleset_dir.name}/")]
    if mine:
        raise ProblemError(mine)
    return sorted((r for r in found if r.id == ruleset_dir.name), key=lambda r: version_key(r.version))


def resolve(ruleset_dir: Path, ref: str, keyring: Keyring | None = None) -> CompiledRuleset:
    """A version to compare: 'draft' (the working copy, free of errors), a published version (verified: signed,
    unchanged), a ruleset or release FILE, or 'git:REV' (the folder's ruleset.yaml as committed then)."""
    keyring = keyring if keyring is not None else load_keyring(required=False)
    if ref == "draft":
        return _checked(load_file(Path(ruleset_dir) / RULESET_FILE))
    if ref.startswith("git:"):
        text, name = committed_text(Path(ruleset_dir), ref.removeprefix("git:"))
        return _checked(load_text(text, name))
    if ref.endswith((".yaml", ".yml", ".json")):
        file = Path(ref)
        if not file.is_file():
            raise ProblemError([Problem("WB722", f"There is no ruleset file at {ref}.")])
        if file.suffix == ".json":
            return load_release_json(file, keyring)
        return _checked(load_file(file))
    releases = _releases(Path(ruleset_dir), keyring)
    found = next((r for r in releases if r.version == ref), None)
    if found is None:
        raise ProblemError([Problem("WB722", f"There is no published release {ref}; released: "
                                    f"{', '.join(r.version for r in releases) or 'none'} (or 'draft').")])
    return CompiledRuleset(found.model, found.path)


def _checked(loaded: Loaded) -> CompiledRuleset:
    if loaded.ruleset is None:
        raise ProblemError([p for p in loaded.problems if p.is_error])
    return loaded.ruleset


def committed_text(ruleset_dir: Path, revision: str) -> tuple[str, str]:
    """The folder's ruleset.yaml as committed at `revision` in the git repository that holds the folder, and a
    name for messages ('ruleset.yaml@abc123'); WB722 when there is no repository, revision or file."""
    if not revision or revision.startswith("-") or any(c in revision for c in "\0\n"):
        raise ProblemError([Problem("WB722", f"'{revision}' is not a git revision.")])
    try:
        done = subprocess.run(["git", "-C", str(ruleset_dir), "show", f"{revision}:./{RULESET_FILE}"],
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProblemError([Problem("WB722", f"git could not be run: {exc}.")]) from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProblemError([Problem("WB722", f"{RULESET_FILE} at git revision '{revision}' cannot be read"
                                    + (f": {why[-1]}" if why else "") + ".")])
    return done.stdout.decode("utf-8", "replace"), f"{RULESET_FILE}@{revision}"



def diff_rulesets(old: CompiledRuleset, new: CompiledRuleset, vignettes: list[Vignette],
                  assume: Sequence[str] = ()) -> Diff:
    """The full comparison of two compiled versions, the vignettes run on both; `assume`: see compare_all."""
    rank = {d: i for i, d in enumerate(urgency_order(old.model, new.model))}
    result = Diff(new.model.id, old.model.version, new.model.version, old.model.version, new.model.version)
    result.changes = structural_changes(old.model, new.model)
    result.vignettes_run, result.vignettes_skipped, result.vignettes = vignette_changes(old, new, vignettes, rank)
    result.exhaustive = compare_all(old, new, rank, assume)
    result.bump, result.reasons = suggest_bump(result)
    declared = bump_of(old.model.version, new.model.version) if old.model.version != new.model.version else None
    if result.bump != "none" and (declared is None or _LEVELS[declared] < _LEVELS[result.bump]):
        result.warnings.append(f"Version {new.model.version} does not follow from {old.model.version} with a "
                               f"{result.bump} change: it should be at least {result.suggested_version}.")
    return result


def suggest_bump(diff: Diff) -> tuple[str, list[str]]:
    """The bump and its reasons: the largest of what the structure and the behaviour call for."""
    reasons: list[tuple[str, str]] = []
    exhaustive = diff.exhaustive
    for way, level, words in (("de-escalated", "major", "are de-escalated to a less urgent disposition"),
                              ("escalated", "minor", "are escalated to a more urgent disposition"),
                              ("changed", "minor", "reach a different outcome")):
        count = exhaustive.count(way)
        if count:
            reasons.append((level, f"{count:,} of {exhaustive.total:,} combinations of answers {words}"))
    for flag in exhaustive.flags:
        if flag.lost:
            reasons.append(("major", f"red flag '{flag.id}' no longer fires in {flag.lost} of {flag.combinations} "
                                     "combinations of its answers"))
        if flag.gained:
            reasons.append(("minor", f"red flag '{flag.id}' fires in {flag.gained} more of {flag.combinations} "
                                     "combinations of its answers"))
    for way, level in (("de-escalated", "major"), ("escalated", "minor"), ("changed", "minor")):
        names = [v.id for v in diff.vignettes if v.direction == way]
        if names:
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            reasons.append((level, f"{len(names)} vignettes {way}: {', '.join(names[:5])}{more}"))
    for change in diff.changes:
        if change.kind == "interface" or (change.kind == "logic" and change.section == "red_flags"
                                          and change.change in ("added", "removed")):
            reasons.append((change.level, change.text))
        elif change.kind == "logic" and not exhaustive.checked:
            reasons.append(("minor", f"{change.text} (its effect could not be checked on every combination: "
                                     f"{exhaustive.reason}; review it by hand)"))
    if any(c.kind == "wording" for c in diff.changes) or (diff.changes and not reasons):
        reasons.append(("patch", "wording, citations or structure changed without changing any result"))
    if not reasons:
        return "none", []
    top = max(_LEVELS[level] for level, _ in reasons)
    bump = next(name for name, value in _LEVELS.items() if value == top)
    return bump, [text for level, text in reasons if level == bump] + [
        text for level, text in reasons if level != bump]


# --- structure ------------------------------------------------------------------------------

def structural_changes(old: Ruleset, new: Ruleset) -> list[Change]:
    """Every difference in what the ruleset says, section by section, in the words of a clinical reviewer."""
    out: list[Change] = []
    for key, name in (("title", "title"), ("description", "description")):
        a, b = getattr(old, key), getattr(new, key)
        if a != b:
            out.append(Change("ruleset", new.id, "reworded", "wording", f"The ruleset's {name} was reworded.",
                              a, b))
    if old.start != new.start:
        out.append(Change("ruleset", "start", "re-pointed", "logic",
                          f"The tree now starts at '{new.start}' instead of '{old.start}'.", old.start, new.start))
    out += _references(old, new) + _dispositions(old, new) + _inputs(old, new) + _red_flags(old, new)
    out += _nodes(old, new) + _other_fields(old, new)
    return out


def _pairs(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    """Items only in old, only in new, and in both (matched by id)."""
    before = {item.id: item for item in old}
    after = {item.id: item for item in new}
    return ([item for item in old if item.id not in after], [item for item in new if item.id not in before],
            [(before[item.id], item) for item in new if item.id in before])


def _references(old: Ruleset, new: Ruleset) -> list[Change]:
    removed, added, both = _pairs(old.references, new.references)
    out = [Change("references", r.id, "removed", "wording", f"Reference '{r.id}' ({r.title}) was removed.")
           for r in removed]
    out += [Change("references", r.id, "added", "wording", f"New reference '{r.id}': {r.title}.") for r in added]
    out += [Change("references", b.id, "changed", "wording", f"Reference '{b.id}' changed.", a.title, b.title)
            for a, b in both if a != b]
    return out


def _dispositions(old: Ruleset, new: Ruleset) -> list[Change]:
    removed, added, both = _pairs(old.dispositions, new.dispositions)
    out = [Change("dispositions", d.id, "removed", "interface", f"Disposition '{d.id}' ({d.label}) was removed: "
                  "apps that show it must change.", level="major") for d in removed]
    out += [Change("dispositions", d.id, "added", "interface", f"New disposition '{d.id}': {d.label}.",
                   level="minor") for d in added]
    out += [Change("dispositions", b.id, "reworded", "wording", f"The label of disposition '{b.id}' was reworded.",
                   a.label, b.label) for a, b in both if (a.label, a.description) != (b.label, b.description)]
    kept_old = [d.id for d in old.dispositions if d.id in {x.id for x in new.dispositions}]
    kept_new = [d.id for d in new.dispositions if d.id in set(kept_old)]
    if kept_old != kept_new:
        out.append(Change("dispositions", "order", "reordered", "interface", "The urgency order of the dispositions "
                          f"changed: {' > '.join(kept_old)} became {' > '.join(kept_new)}.",
                          ", ".join(kept_old), ", ".join(kept_new), level="major"))
    return out


def _inputs(old: Ruleset, new: Ruleset) -> list[Change]:
    removed, added, both = _pairs(old.inputs, new.inputs)
    out = [Change("inputs", i.id, "removed", "interface", f"Question '{i.id}' (“{i.question}”) was removed: apps "
                  "that still send its answer will be refused.", level="major") for i in removed]
    out += [Change("inputs", i.id, "added", "interface", f"New question '{i.id}' ({i.type}): “{i.question}”.",
                   level="minor") for i in added]
    for a, b in both:
        if a.type != b.type:
            out.append(Change("inputs", b.id, "type changed", "interface", f"Question '{b.id}' now takes {b.type} "
                              f"answers instead of {a.type}.", a.type, b.type, level="major"))
            continue
        if isinstance(a, EnumInput) and isinstance(b, EnumInput):
            gone = [v for v in a.values if v not in b.values]
            new_values = [v for v in b.values if v not in a.values]
            if gone:
                out.append(Change("inputs", b.id, "answers removed", "interface", f"Question '{b.id}' no longer "
                                  f"accepts {', '.join(gone)}.", level="major"))
            if new_values:
                out.append(Change("inputs", b.id, "answers added", "interface", f"Question '{b.id}' can now also "
                                  f"be answered {', '.join(new_values)}.", level="minor"))
        if isinstance(a, NumberInput) and isinstance(b, NumberInput):
            if a.unit != b.unit:
                out.append(Change("inputs", b.id, "unit changed", "interface", f"The answer to '{b.id}' is now in "
                                  f"{b.unit or 'no unit'} instead of {a.unit or 'no unit'}.", a.unit, b.unit,
                                  level="major"))
            if (a.min, a.max) != (b.min, b.max):
                narrower = _narrower(a.min, b.min, lambda x, y: x > y) or _narrower(a.max, b.max, lambda x, y: x < y)
                out.append(Change("inputs", b.id, "range changed", "interface",
                                  f"The accepted range of '{b.id}' changed from {_range(a)} to {_range(b)}"
                                  + (": answers once accepted are now refused." if narrower else "."),
                                  _range(a), _range(b), level="major" if narrower else "minor"))
        if (a.question, a.help, getattr(a, "labels", None)) != (b.question, b.help, getattr(b, "labels", None)):
            out.append(Change("inputs", b.id, "reworded", "wording", f"The question '{b.id}' was reworded.",
                              a.question, b.question))
    return out


def _narrower(before: float | None, after: float | None, tighter: Any) -> bool:
    return after is not None and (before is None or tighter(after, before))


def _range(spec: NumberInput) -> str:
    low = "any" if spec.min is None else f"{spec.min:g}"
    high = "any" if spec.max is None else f"{spec.max:g}"
    return f"{low}–{high}{' ' + spec.unit if spec.unit else ''}"


def _red_flags(old: Ruleset, new: Ruleset) -> list[Change]:
    removed, added, both = _pairs(old.red_flags, new.red_flags)
    out = [Change("red_flags", f.id, "removed", "logic", f"Red flag '{f.id}' ({f.label}) was removed: it no "
                  "longer warns on any case.", f.when, None, level="major") for f in removed]
    out += [Change("red_flags", f.id, "added", "logic", f"New red flag '{f.id}' ({f.label}) when {f.when}.",
                   None, f.when, level="minor") for f in added]
    for a, b in both:
        if not _same(a.when, b.when):
            out.append(Change("red_flags", b.id, "condition changed", "logic", f"Red flag '{b.id}' ({b.label}) now "
                              f"fires when {b.when} (was: {a.when}).", a.when, b.when))
        if a.label != b.label:
            out.append(Change("red_flags", b.id, "reworded", "wording", f"The label of red flag '{b.id}' was "
                              "reworded.", a.label, b.label))
        if a.cites != b.cites:
            out.append(Change("red_flags", b.id, "citations changed", "wording", f"Red flag '{b.id}' now cites "
                              f"{', '.join(b.cites) or 'nothing'}.", ", ".join(a.cites), ", ".join(b.cites)))
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _nodes(old: Ruleset, new: Ruleset) -> list[Change]:
    removed, added, both = _pairs(old.nodes, new.nodes)
    out = [Change("nodes", n.id, "removed", "logic", f"{_node_name(n).capitalize()} was removed.") for n in removed]
    out += [Change("nodes", n.id, "added", "logic", f"New {_node_name(n)}"
                   + (f", giving '{n.disposition}'." if isinstance(n, OutcomeNode) else ".")) for n in added]
    for a, b in both:
        name = _node_name(b)
        if a.kind != b.kind:
            out.append(Change("nodes", b.id, "kind changed", "logic", f"'{b.id}' is now a {b.kind} (was a {a.kind})."))
            continue
        if a.title != b.title:
            out.append(Change("nodes", b.id, "reworded", "wording", f"The title of {name} was reworded.",
                              a.title, b.title))
        if a.cites != b.cites:
            out.append(Change("nodes", b.id, "citations changed", "wording", f"{name.capitalize()} now cites "
                              f"{', '.join(b.cites) or 'nothing'}.", ", ".join(a.cites), ", ".join(b.cites)))
        if isinstance(a, OutcomeNode) and isinstance(b, OutcomeNode):
            if a.disposition != b.disposition:
                out.append(Change("nodes", b.id, "disposition changed", "logic", f"{name.capitalize()} now gives "
                                  f"'{b.disposition}' instead of '{a.disposition}'.", a.disposition, b.disposition))
            if a.advice != b.advice:
                out.append(Change("nodes", b.id, "advice reworded", "wording", f"The advice of {name} was reworded.",
                                  a.advice, b.advice))
        elif isinstance(a, DecisionNode) and isinstance(b, DecisionNode):
            if a.description != b.description:
                out.append(Change("nodes", b.id, "reworded", "wording", f"The description of {name} was reworded.",
                                  a.description, b.description))
            out += _branches(a, b, name)
            if a.else_ != b.else_:
                out.append(Change("nodes", b.id, "else re-pointed", "logic", f"When no branch of {name} applies, "
                                  f"it now goes to '{b.else_}' instead of '{a.else_}'.", a.else_, b.else_))
    return out


def _node_name(node: Any) -> str:
    return f"{'decision' if node.kind == 'decision' else 'outcome'} '{node.id}' ({node.title})"


def _branches(a: DecisionNode, b: DecisionNode, name: str) -> list[Change]:
    """Branches matched by what they do, so inserting one reads as one insertion, not every later one changed."""
    def key(branch: Branch) -> tuple[str, str]:
        return " ".join(branch.when.split()), branch.next

    out: list[Change] = []
    matcher = difflib.SequenceMatcher(a=[key(x) for x in a.branches], b=[key(x) for x in b.branches], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                if a.branches[i].label != b.branches[j].label:
                    out.append(Change("nodes", b.id, "branch reworded", "wording", f"The label of branch {j + 1} of "
                                      f"{name} was reworded.", a.branches[i].label, b.branches[j].label))
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                was, now = a.branches[i], b.branches[j]
                if not _same(was.when, now.when):
                    out.append(Change("nodes", b.id, "branch condition changed", "logic", f"Branch {j + 1} of {name} "
                                      f"now applies when {now.when} (was: {was.when}).", was.when, now.when))
                if was.next != now.next:
                    out.append(Change("nodes", b.id, "branch re-pointed", "logic", f"Branch {j + 1} of {name} now "
                                      f"goes to '{now.next}' instead of '{was.next}'.", was.next, now.next))
            continue
        for i in range(i1, i2):
            out.append(Change("nodes", b.id, "branch removed", "logic", f"Branch {i + 1} of {name} (when "
                              f"{a.branches[i].when} → '{a.branches[i].next}') was removed.", a.branches[i].when))
        for j in range(j1, j2):
            out.append(Change("nodes", b.id, "branch added", "logic", f"New branch {j + 1} of {name}: when "
                              f"{b.branches[j].when} → '{b.branches[j].next}'.", None, b.branches[j].when))
    return out


_KNOWN = {"id", "version", "title", "description", "references", "dispositions", "inputs", "red_flags", "start",
          "nodes"}


def _other_fields(old: Ruleset, new: Ruleset) -> list[Change]:
    """Fields added to the format later (safety properties, declarations): named, never silently skipped."""
    out = []
    for key in type(new).model_fields:
        if key not in _KNOWN and getattr(old, key) != getattr(new, key):
            out.append(Change("ruleset", key, "changed", "wording", f"The ruleset's '{key}' declarations changed "
                              "(they do not change any result).", str(getattr(old, key)), str(getattr(new, key))))
    return out
