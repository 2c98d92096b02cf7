"""Past cases on file, as DuckDB reads them: one case a row, one input a column (CSV, Parquet or JSON lines).

A cell that is empty is unanswered (unknown), the word `unsure` is an unsure answer (SPEC 3a), anything else is
the answer: yes/no as true/false, yes/no, y/n or 1/0; a number; a choice as declared. A column map says which
column holds an input when the names differ. Every cell is checked against every version it is read by, and a
cell that fits neither is a problem naming its file, row and column: an analysis never guesses at bad data.

Parquet keeps its types, so a yes/no or number column is read as it is (the fast path for millions of rows);
CSV and JSON lines are read as text first, so a column whose first thousand rows look like numbers cannot
fail on the word `unsure` further down.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.model import BooleanInput, EnumInput, Input, NumberInput
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset
from ..run.sql import ROW, ident, text, unsure_column

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
YES, NO, UNSURE = ("true", "yes", "y", "1"), ("false", "no", "n", "0"), "unsure"
BAD = '":bad"'
ANY_UNSURE = '":unsure"'


@dataclass(frozen=True)
class CaseFile:
    """One file of cases and how to read it."""

    path: str
    format: str  # csv | parquet | jsonl

    @property
    def name(self) -> str:
        return Path(self.path).name


def case_files(path: str | Path) -> list[CaseFile]:
    """The case file at `path`, or every case file in the folder (sorted by name); ProblemError when none."""
    path = Path(path)
    if path.is_dir():
        files = [p for p in sorted(path.iterdir()) if p.is_file() and p.suffix.lower() in FORMATS]
        if not files:
            raise ProblemError([Problem("WB620", f"{path} holds no case files (.csv, .parquet or .jsonl).",
                                        file=str(path))])
        return [CaseFile(str(p), FORMATS[p.suffix.lower()]) for p in files]
    if not path.is_file():
        raise ProblemError([Problem("WB620", f"There is no case file at {path}.", file=str(path))])
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ProblemError([Problem("WB620", f"{path.name} is not a case file the workbench reads: give CSV (.csv), "
                                    "Parquet (.parquet) or JSON lines (.jsonl).", file=str(path))])
    return [CaseFile(str(path), FORMATS[suffix])]


def column_map(text_or_file: str | None) -> dict[str, str]:
    """`{"input_id": "column in the file"}` from JSON text or a JSON/YAML file; ProblemError when it is not one."""
    if not text_or_file:
        return {}
    source = text_or_file
    if not text_or_file.lstrip().startswith("{"):
        path = Path(text_or_file)
        if not path.is_file():
            raise ProblemError([Problem("WB621", "The column map is neither a JSON object nor a file: "
                                        f"{text_or_file}")])
        from ..content.loader import read_text, read_yaml

        content, problems = read_text(path)
        if content is None:
            raise ProblemError(problems)
        document, problems = read_yaml(content, str(path))
        if document is None:
            raise ProblemError(problems)
        data: Any = document.data
    else:
        try:
            data = json.loads(source)
        except ValueError as exc:
            raise ProblemError([Problem("WB621", f"The column map is not valid JSON: {exc}")]) from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ProblemError([Problem("WB621", 'The column map must map input ids to column names, e.g. '
                                    '{"known_cancer": "cancer_history"}.')])
    return dict(data)


def scan(file: CaseFile, columns: Sequence[str] | None = None) -> str:
    """The file as a relation with ROW (its case's row, counting from 1, the header not counted) beside its own
    columns; text formats read as text (`columns`: the names, needed for JSON lines)."""
    path = text(file.path)
    if file.format == "parquet":
        return f"(SELECT *, file_row_number + 1 AS {ROW} FROM read_parquet({path}, file_row_number = true))"
    if file.format == "csv":
        return (f"(SELECT * EXCLUDE (ordinality), ordinality AS {ROW} FROM read_csv({path}, all_varchar = true, "
                "header = true) WITH ORDINALITY)")
    spec = "{" + ", ".join(f"{text(c)}: 'VARCHAR'" for c in (columns or ())) + "}"
    typed = f", columns = {spec}" if columns else ""
    return (f"(SELECT * EXCLUDE (ordinality), ordinality AS {ROW} FROM read_json({path}, "
            f"format = 'newline_delimited'{typed}) WITH ORDINALITY)")


def described(connection: Any, file: CaseFile) -> dict[str, str]:
    """Each column of the file and its type, as DuckDB reads it."""
    try:
        rows = connection.execute(f"DESCRIBE SELECT * FROM {scan(file)}").fetchall()
    except Exception as exc:  # duckdb.Error, whatever the format's reader says
        raise ProblemError([Problem("WB620", f"{file.name} cannot be read as {file.format}: "
                                    f"{str(exc).splitlines()[0]}", file=file.path)]) from None
    return {name: kind for name, kind, *_ in rows if name != ROW.strip('"')}


@dataclass
class Layout:
    """How the cases' columns become the typed columns each version reads: per input id its column in the file
    and, per version, the name of the typed column its SQL reads."""

    versions: Sequence[CompiledRuleset]
    mapping: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.specs: dict[str, list[Input]] = {}
        for version in self.versions:
            for spec in version.model.inputs:
                self.specs.setdefault(spec.id, []).append(spec)
        self.conflicting = {i for i, specs in self.specs.items() if len({s.type for s in specs}) > 1}

    def source(self, input_id: str) -> str:
        """The file's column for an input."""
        return self.mapping.get(input_id, input_id)

    def typed_name(self, input_id: str, kind: str) -> str:
        return f"{input_id}:{kind}" if input_id in self.conflicting else input_id

    def column_for(self, version: CompiledRuleset) -> Any:
        """The `column` function SqlRuleset takes for one version."""
        kinds = {spec.id: spec.type for spec in version.model.inputs}
        return lambda input_id: ident(self.typed_name(input_id, kinds[input_id]))

    def missing(self, columns: Mapping[str, str]) -> list[str]:
        """Inputs with no column in the file: every case leaves them unanswered."""
        return [i for i in self.specs if self.source(i) not in columns]

    def typed(self, source: str, columns: Mapping[str, str]) -> str:
        """SELECT ROW, each typed column, each input's unsure flag, ANY_UNSURE and BAD from a scan."""
        parts = [ROW]
        unsure_flags, bad = [], []
        for input_id, specs in self.specs.items():
            name = self.source(input_id)
            present = name in columns
            raw = ident(name) if present else "NULL"
            unsure = f"(lower(trim(CAST({raw} AS VARCHAR))) = 'unsure')" if present else "FALSE"
            if present and all(isinstance(s, EnumInput) and UNSURE in s.values for s in specs):
                unsure = "FALSE"  # 'unsure' is one of its declared choices
            if present and (columns[name] == "BOOLEAN" or _numeric(columns[name])):
                unsure = "FALSE"  # a typed column holds no words
            unsure = f"coalesce({unsure}, FALSE)"
            parts.append(f"{unsure} AS {unsure_column(input_id)}")
            unsure_flags.append(unsure_column(input_id))
            for kind in dict.fromkeys(s.type for s in specs):
                value = _value(kind, raw, columns.get(name, "")) if present else "NULL"
                typed_name = ident(self.typed_name(input_id, kind))
                parts.append(f"CASE WHEN {unsure_column(input_id)} THEN NULL ELSE {value} END AS {typed_name}")
            for spec in specs:
                if present:
                    bad.append(_bad(spec, raw, _value(spec.type, raw, columns[name]), unsure))
        parts.append(f"({' OR '.join(['FALSE', *unsure_flags])}) AS {ANY_UNSURE}")
        # the unsure flags are columns of this same SELECT: DuckDB lets a later column name an earlier one
        parts.append(f"({' OR '.join(['FALSE', *bad])}) AS {BAD}")
        return f"(SELECT {', '.join(parts)} FROM {source})"

    def bad_cells(self, source: str, columns: Mapping[str, str], limit: int = 20) -> str:
        """The rows with a cell some version cannot read, each bad cell as (row, column, raw text)."""
        selects = []
        for input_id, specs in self.specs.items():
            name = self.source(input_id)
            if name not in columns:
                continue
            raw = ident(name)
            unsure = "FALSE" if columns[name] == "BOOLEAN" or _numeric(columns[name]) else \
                f"coalesce(lower(trim(CAST({raw} AS VARCHAR))) = 'unsure', FALSE)"
            for spec in specs:
                condition = _bad(spec, raw, _value(spec.type, raw, columns[name]), unsure)
                selects.append(f"SELECT {ROW}, {text(input_id)} AS input, {text(name)} AS col, "
                               f"CAST({raw} AS VARCHAR) AS raw FROM {source} WHERE {condition}")
        if not selects:
            return f"SELECT NULL AS {ROW}, NULL AS input, NULL AS col, NULL AS raw WHERE FALSE"
        return f"SELECT DISTINCT * FROM ({' UNION ALL '.join(selects)}) ORDER BY {ROW}, col LIMIT {limit}"


def _numeric(kind: str) -> bool:
    return kind.split("(")[0] in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                                  "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"}


def _value(kind: str, raw: str, column_type: str) -> str:
    """A cell as the answer an input of `kind` takes (NULL when empty, or when it cannot be one)."""
    if kind == "boolean":
        if column_type == "BOOLEAN":
            return raw
        word = f"lower(trim(CAST({raw} AS VARCHAR)))"
        yes, no = ", ".join(map(text, YES)), ", ".join(map(text, NO))
        return f"(CASE WHEN {word} IN ({yes}) THEN TRUE WHEN {word} IN ({no}) THEN FALSE END)"
    if kind == "number":
        if _numeric(column_type):
            return f"CAST({raw} AS DOUBLE)"
        return f"TRY_CAST(NULLIF(trim(CAST({raw} AS VARCHAR)), '') AS DOUBLE)"
    return f"NULLIF(trim(CAST({raw} AS VARCHAR)), '')"


def _bad(spec: Input, raw: str, value: str, unsure: str) -> str:
    """The cell is given (not empty, not unsure) and is no answer this version's input takes."""
    given = f"(NULLIF(trim(CAST({raw} AS VARCHAR)), '') IS NOT NULL AND NOT {unsure})"
    if isinstance(spec, BooleanInput):
        fits = f"{value} IS NOT NULL"
    elif isinstance(spec, NumberInput):
        low = "" if spec.min is None else f" AND {value} >= {spec.min!r}"
        high = "" if spec.max is None else f" AND {value} <= {spec.max!r}"
        fits = f"({value} IS NOT NULL AND isfinite({value}){low}{high})"
    else:
        assert isinstance(spec, EnumInput)
        fits = f"{value} IN ({', '.join(map(text, spec.values))})"
    return f"({given} AND NOT coalesce({fits}, FALSE))"


def describe_cell(spec: Input) -> str:
    """What a cell of this input may hold, for the problem that says a cell does not fit."""
    if isinstance(spec, BooleanInput):
        return "true or false (or yes/no, 1/0)"
    if isinstance(spec, NumberInput):
        low = "any" if spec.min is None else f"{spec.min:g}"
        high = "any" if spec.max is None else f"{spec.max:g}"
        return f"a number from {low} to {high}"
    assert isinstance(spec, EnumInput)
    return "one of " + ", ".join(spec.values)
