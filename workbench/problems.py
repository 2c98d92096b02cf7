"""Problems: the one error model for everything, and the catalogue of their stable codes.

Checks yield Problems; they never raise or print. A code never changes meaning once shipped,
so tools and people can search for it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
PathPart = str | int

CODES: dict[str, str] = {
    # The file itself
    "WB001": "file cannot be read (missing, too large, not UTF-8)",
    "WB002": "YAML syntax error",
    "WB003": "duplicate key in a mapping",
    "WB004": "YAML anchors and aliases are not allowed",
    "WB005": "YAML tag not allowed (only plain values)",
    "WB006": "not a ruleset or vignettes file",
    "WB007": "file too complex (too deep or too many values)",
    # Shape of the content
    "WB010": "required field missing",
    "WB011": "unknown field",
    "WB012": "wrong type of value",
    "WB013": "id is not a valid slug",
    "WB014": "value not allowed",
    # Ids and references
    "WB101": "duplicate id",
    "WB102": "start node does not exist",
    "WB104": "branch or else goes to a node that does not exist",
    "WB105": "outcome names a disposition that does not exist",
    "WB106": "citation of a reference that does not exist",
    "WB107": "input definition is inconsistent (min above max, duplicate values)",
    # Graph structure
    "WB201": "the decision tree has a cycle",
    "WB202": "node cannot be reached from start",
    # Expressions
    "WB301": "condition cannot be parsed",
    "WB302": "condition uses an input that is not declared",
    "WB303": "condition compares values of different types",
    "WB304": "condition uses an answer the input does not allow",
    "WB305": "number outside the input's declared range",
    "WB306": "condition is not a yes/no question",
    "WB307": "condition is too long or too deeply nested",
    # Warnings: legal but suspicious
    "WB401": "input is never read by any rule",
    "WB402": "red flag cites no reference",
    "WB403": "branch repeats an earlier branch's condition",
    "WB404": "disposition is never used by an outcome",
    "WB405": "reference is never cited",
    "WB406": "comparison is always true or always false",
    "WB407": "decision has no branches: it always takes else",
    # Vignettes
    "WB501": "vignettes file names a ruleset that cannot be found",
    "WB502": "vignette gives an answer for an input that is not declared",
    "WB503": "vignette answer does not fit the input",
    "WB504": "vignette expects something the ruleset does not have",
    "WB505": "vignette has no expectation to check",
    "WB506": "duplicate vignette id",
    "WB507": "vignettes checked for shape only: their ruleset has errors",
    "WB508": "vignette cites a source the ruleset's references do not list",
    # Evaluation
    "WB601": "case answer does not fit the ruleset",
    "WB620": "case file cannot be found or read",
    "WB621": "column map is not a map from input ids to columns",
    "WB622": "a cell of a case file is no answer to its input",
    # Safety properties and exhaustive verification (workbench verify)
    "WB801": "safety property must give exactly one of at_least, never or requires_red_flag",
    "WB802": "safety property names a disposition or red flag that does not exist",
    "WB810": "safety property is violated by some case",
    "WB811": "some complete case reaches no outcome",
    "WB812": "branch can never be taken",
    "WB813": "red flag can never fire",
    "WB814": "node can never be reached by any case",
    "WB815": "answering yes to a red-flag question makes the disposition less urgent",
    "WB816": "too large to check exhaustively",
    "WB817": "safety property applies to no case",
    # Review and release: the gate's refusals
    "WB701": "release refused: the ruleset or its vignettes have errors",
    "WB702": "release refused: a vignette fails",
    "WB703": "release refused: there are no vignettes to replay",
    "WB704": "the approver is the author",
    "WB705": "version is not higher than the last release",
    "WB706": "version has already been released",
    "WB707": "not approved by a second clinician",
    "WB708": "the draft changed since it was submitted for review",
    "WB709": "released by someone other than the clinician who approved",
    "WB710": "action not allowed in the current review state",
    "WB711": "name of the person acting is missing",
    "WB712": "a reason is required",
    "WB713": "a reason or name holds control characters that could change how the history reads",
    "WB714": "release refused: a safety property is broken",
    "WB715": "a safety property is unproved and the approver has not said why it may be released",
    # Audit (release files themselves are checked with WB901-WB903)
    "WB720": "audit log hash chain is broken",
    "WB721": "releases and audit log disagree",
    "WB722": "version to compare cannot be found",
    # Published releases and exports (downstream)
    "WB901": "release file cannot be read or is not a release",
    "WB902": "release content does not match its sha256 (changed after release)",
    "WB903": "release file is misplaced (its id or version differs from its folder or name)",
    "WB904": "release is not signed",
    "WB905": "release is signed by a key the keyring does not trust, or not by its approver",
    "WB906": "release does not match its signature (changed after signing)",
    "WB907": "keyring is missing or cannot be trusted",
    "WB908": "release is not in the history (planted, or its commit never landed)",
    "WB909": "a release exported before is not published now (a rewound history or a deleted release)",
    "WB910": "release is older than one already trusted or served (a rollback)",
    "WB911": "release is not the ruleset or version the client asked for",
    # Who may do what, limits and faults (accounts.py, access.py)
    "WB1001": "not allowed for the signed-in person's role",
    "WB1002": "accounts file cannot be read or is not valid",
    "WB1003": "account name, role, email or password not valid",
    "WB1004": "no such account, or an account with that name already exists",
    "WB1005": "sign-in refused: unknown name or wrong password",
    "WB1006": "too many failed sign-ins for this account: wait before trying again",
    "WB1007": "name holds invisible or look-alike characters",
    "WB1008": "review step needs accounts: the pages take it only from a signed-in person",
    "WB1010": "ruleset has more nodes than the limit",
    "WB1011": "vignettes file holds more vignettes than the limit",
    "WB1020": "file cannot be saved (disk full, read-only, no permission)",
    "WB1021": "ruleset folder or file is gone (deleted or moved while in use)",
    "WB1022": "file is not where this kind of file belongs (outside its ruleset folder)",
    "WB1023": "file is a link or a special file, which the workbench does not read",
    "WB1024": "file was changed by someone else since it was opened; the text was not saved",
    "WB1040": "edit cannot be made by the forms without disturbing the file",
    "WB1030": "rulesets folder has no history of its own (or lies inside another repository)",
    "WB1031": "git failed",
    "WB1032": "the history moved on while you were working",
    "WB1033": "signing key missing or does not open",
    "WB1034": "the team's history and yours both changed the same lines",
    "WB1035": "number is not finite or too large to be a clinical value",
    "WB1036": "the history's git settings hold something the workbench did not write, which could run a program",
    "WB1037": "a file came from the team that the workbench does not keep (hidden, a link or out of place)",
    "WB1038": "the release landed but a later step (writing its file) is left for the next run",
}


@dataclass(frozen=True)
class Status:
    """What a problem means to a caller outside the core: the CLI's exit code and the API's HTTP status."""

    exit: int
    http: int


CONTENT, USAGE, REFUSED, UNAVAILABLE = Status(1, 422), Status(2, 400), Status(1, 403), Status(2, 503)
STATUS_BY_CODE: dict[str, Status] = {"WB001": USAGE, "WB722": USAGE, "WB1001": REFUSED, "WB1005": Status(1, 401),
                                     "WB1006": Status(1, 429), "WB1008": REFUSED, "WB1020": UNAVAILABLE,
                                     "WB1021": Status(2, 404)}
STATUS_BY_FAMILY: dict[str, Status] = {"WB0": CONTENT, "WB1": CONTENT, "WB2": CONTENT, "WB3": CONTENT,
                                       "WB4": CONTENT, "WB5": CONTENT, "WB6": Status(2, 422), "WB7": CONTENT,
                                       "WB8": CONTENT, "WB9": Status(1, 404), "WB10": CONTENT}
"""The one table from code (or its family: the code without its last two digits) to exit code and HTTP status.
SPEC 6: exit 1 when content has errors, 2 for usage or unreadable input. A case that does not fit is the
caller's mistake (exit 2, HTTP 422); a release that fails verification is not served (404)."""


def status_of(code: str) -> Status:
    return STATUS_BY_CODE.get(code) or STATUS_BY_FAMILY.get(code[:-2], CONTENT)


def format_path(path: tuple[PathPart, ...]) -> str:
    """('nodes', 3, 'when') → 'nodes[3].when', as problems are shown and written to JSON."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_path(text: str) -> tuple[PathPart, ...]:
    """'nodes[3].when' → ('nodes', 3, 'when'): the inverse of `format_path`."""
    parts: list[PathPart] = []
    for piece in text.replace("[", ".[").split("."):
        if piece.startswith("[") and piece.endswith("]") and piece[1:-1].isdigit():
            parts.append(int(piece[1:-1]))
        elif piece:
            parts.append(piece)
    return tuple(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a file, where it is, in words a clinician understands.

    `path` is where in the document, as a tuple of keys and indexes (given as text, it is read as one);
    `hint` is what to do about it, when there is more to say than the message."""

    code: str
    message: str
    severity: Severity = "error"
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple[PathPart, ...] = ()
    hint: str = ""

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code}")
        if isinstance(self.path, str):
            object.__setattr__(self, "path", parse_path(self.path))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def path_text(self) -> str:
        return format_path(self.path)

    @property
    def status(self) -> Status:
        return status_of(self.code)

    def to_dict(self) -> dict[str, object]:
        """SPEC 6's fields (the path as text), and the hint where there is one."""
        data: dict[str, object] = {"code": self.code, "severity": self.severity, "message": self.message,
                                   "file": self.file, "line": self.line, "column": self.column,
                                   "path": self.path_text}
        if self.hint:
            data["hint"] = self.hint
        return data

    def __str__(self) -> str:
        if self.file is None:
            return f"{self.severity} {self.code} {self.message}"
        return f"{self.file}:{self.line or 1}:{self.column or 1}: {self.severity} {self.code} {self.message}"


class Problems(list[Problem]):
    """The problems of one check, as jsonschema's errors are: a list, with the most important one at hand."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def best(self) -> Problem | None:
        """The problem to show first when only one fits: an error before a warning, the one that stops the most
        (unreadable input before content), then the earliest in the file."""
        if not self:
            return None
        return min(self, key=lambda p: (not p.is_error, -p.status.exit, p.file or "", p.line or 0, p.column or 0,
                                        p.code))

    def exit_status(self) -> int:
        """0 when no errors; else the strongest exit code among the errors (2 beats 1)."""
        return max((p.status.exit for p in self.errors), default=0)

    def http_status(self) -> int:
        """200 when no errors; else the status of the best error."""
        best = self.best()
        return best.status.http if best is not None and best.is_error else 200


@dataclass
class ProblemError(Exception):
    """Raised at a boundary (loading for use, evaluating) when problems make the content unusable."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems) or "unknown problem"


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.code))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' — did you mean 'x'?' for the closest candidate, or '' where nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.7)
    return f" — did you mean '{close[0]}'?" if close else ""


def show_number(value: float) -> str:
    """A number as people write it (60, 2.5); a number too large for a float is shortened, never an error."""
    try:
        return f"{value:g}"
    except (OverflowError, ValueError, TypeError):
        return "a number too large to show"


LARGEST = 1e15
"""No clinical value comes near this; past it, numbers stop being exact in JSON (and in most languages)."""


def sensible_number(value: float) -> bool:
    """Finite, and within ±LARGEST: `.inf`, `.nan` and a 4,000-digit bound are mistakes, not thresholds."""
    try:
        return math.isfinite(value) and abs(value) <= LARGEST
    except OverflowError:
        return False


def quoted_list(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in values)
