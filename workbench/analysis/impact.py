"""What a new version changes for every case on record: both versions run over the same past cases (SQL on
DuckDB, run/sql.py), and every case whose disposition moves is counted, grouped by the rules and red flags it
goes through, and, when it became less urgent, listed first as a hazard.

The work is cut into partitions (a file, or a range of a Parquet file's rows); each gives a `Partial` (counts and
the hazard rows), and partials add up. One process runs them one after another, each query using every core;
a Dask cluster (distributed.py) runs the same partitions on its workers and adds up the same partials.

Memory does not grow with the number of cases: a partition is one streaming GROUP BY whose groups are the
(old, new) result pairs, the red flags of changed cases and the rows of the cases that became less urgent.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.model import Ruleset
from ..problems import Problem, ProblemError
from ..run.engine import CompiledRuleset, InputError, evaluate
from ..run.sql import CODE, MAX_COMPLETIONS, ROW, SqlRuleset, ident, unsure_column
from .behaviour import urgency_order
from .cases import ANY_UNSURE, BAD, CaseFile, Layout, case_files, describe_cell, described, scan
from .distributed import fan_out

LISTED = 1000
"""Less urgent cases listed one by one with their rules and paths; past that they are counted (every one is in
the downloadable table)."""

BAD_SHOWN = 20
OLD_CODE, NEW_CODE = '":old"', '":new"'


@dataclass(frozen=True)
class Partition:
    """A part of the cases one query reads: a whole file, or the rows first..last (from 1) of a Parquet file."""

    file: CaseFile
    first: int | None = None
    last: int | None = None

    def source(self, columns: Sequence[str]) -> str:
        relation = scan(self.file, columns)
        if self.first is None:
            return relation
        return f"(SELECT * FROM {relation} WHERE {ROW} BETWEEN {self.first} AND {self.last})"


@dataclass
class Partial:
    """What one partition gives; partials add up (`+`) to the whole."""

    total: int = 0
    pairs: Counter[tuple[int, int]] = field(default_factory=Counter)
    routes: dict[tuple[int, int, tuple[str, ...], tuple[str, ...]], list[Any]] = field(default_factory=dict)
    hazards: list[tuple[str, int, int, int]] = field(default_factory=list)  # (file, row, old code, new code)
    unsure: int = 0
    by_engine: int = 0
    bad: list[tuple[str, int, str, str, str]] = field(default_factory=list)  # (file, row, input, column, raw)
    bad_rows: int = 0

    def __add__(self, other: Partial) -> Partial:
        routes = {key: list(value) for key, value in self.routes.items()}
        for key, (count, example) in other.routes.items():
            if key in routes:
                routes[key][0] += count
                routes[key][1] = min(routes[key][1], example)
            else:
                routes[key] = [count, example]
        return Partial(self.total + other.total, self.pairs + other.pairs, routes, self.hazards + other.hazards,
                       self.unsure + other.unsure, self.by_engine + other.by_engine,
                       (self.bad + other.bad)[:BAD_SHOWN], self.bad_rows + other.bad_rows)


@dataclass(frozen=True)
class Plan:
    """Everything a partition's queries need, as plain data a worker process can receive: the two versions'
    documents (compiled again where they run) and the column map."""

    old: dict[str, Any]
    new: dict[str, Any]
    mapping: dict[str, str]

    def versions(self) -> tuple[CompiledRuleset, CompiledRuleset]:
        return _compiled(self.old), _compiled(self.new)


def _compiled(document: dict[str, Any]) -> CompiledRuleset:
    return CompiledRuleset(Ruleset.model_validate(document))


def plan(old: CompiledRuleset, new: CompiledRuleset, mapping: Mapping[str, str] | None = None) -> Plan:
    return Plan(old.model.model_dump(by_alias=True, mode="json"), new.model.model_dump(by_alias=True, mode="json"),
                dict(mapping or {}))


class _Queries:
    """The SQL of one plan over one file's columns."""

    def __init__(self, the_plan: Plan, columns: Mapping[str, str]) -> None:
        self.old, self.new = the_plan.versions()
        self.layout = Layout((self.old, self.new), the_plan.mapping)
        self.columns = columns
        self.sql_old = SqlRuleset(self.old, self.layout.column_for(self.old), tag="old")
        self.sql_new = SqlRuleset(self.new, self.layout.column_for(self.new), tag="new")
        order = urgency_order(self.old.model, self.new.model)
        rank = {d: i for i, d in enumerate(order)}
        self.less_urgent = [[j for j, d in enumerate(self.sql_new.outcome_disposition) if rank[d] > rank[before]]
                            for before in self.sql_old.outcome_disposition]

    def hazard(self, old: str, new: str) -> str:
        lists = "[" + ", ".join("[" + ", ".join(map(str, row)) + "]::INTEGER[]" for row in self.less_urgent) + "]"
        k = len(self.sql_old.outcomes)
        return f"({old} < {k} AND list_contains({lists}[{old} + 1], {new}))"

    def both(self, source: str) -> str:
        """ROW and the two result codes (":old", ":new") of every case of `source` with no unsure answer."""
        old = self.sql_old.evaluated(source)
        renamed = f"(SELECT * RENAME ({CODE} AS \":old\") FROM ({old}))"
        return f"SELECT * RENAME ({CODE} AS \":new\") FROM ({self.sql_new.evaluated(renamed)})"

    def grouped(self, codes: str, *, screen: bool = False) -> str:
        """The partition's partial: counts per (old, new) pair, red flags of changed cases, hazard rows. With
        `screen`, cases with a bad cell or an unsure answer are counted apart (`set_aside`), so one scan serves a
        file of complete and partial cases, the usual kind."""
        flags_old, flags_new = self.sql_old.red_flag_bits(), self.sql_new.red_flag_bits()
        # outcomes are compared by id: the same outcome may have another index in the other version
        same = (f"(\":old\" < {len(self.sql_old.outcomes)} AND \":new\" < {len(self.sql_new.outcomes)} AND "
                f"{_ids(self.sql_old.outcomes)}[\":old\" + 1] = {_ids(self.sql_new.outcomes)}[\":new\" + 1])")
        kept = f"NOT ({BAD} OR {ANY_UNSURE})" if screen else "TRUE"
        moved = f"({kept} AND \":old\" <> \":new\" AND NOT {same})"
        hazard = f"({kept} AND {self.hazard(OLD_CODE, NEW_CODE)})"
        aside = f"CASE WHEN {BAD} THEN 'bad' WHEN {ANY_UNSURE} THEN 'unsure' END" if screen else "NULL"
        return f"""
            SELECT ":old", ":new",
                   CASE WHEN {moved} THEN {flags_old} END AS flags_old,
                   CASE WHEN {moved} THEN {flags_new} END AS flags_new,
                   CASE WHEN {hazard} THEN {ROW} END AS hazard,
                   count(*) AS n, min({ROW}) AS example, {aside} AS set_aside
            FROM ({codes}) GROUP BY ALL"""


def run_partition(the_plan: Plan, partition: Partition, threads: int | None = None) -> Partial:
    """One partition's partial, in a DuckDB of its own (so it runs as well in a Dask worker as here)."""
    import duckdb

    connection = duckdb.connect()
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    try:
        return _partial(connection, the_plan, partition)
    finally:
        connection.close()


def _partial(connection: Any, the_plan: Plan, partition: Partition) -> Partial:
    columns = described(connection, partition.file)
    queries = _Queries(the_plan, columns)
    layout = queries.layout
    typed = layout.typed(partition.source(list(columns)), columns)
    out = Partial()
    _collect(out, connection.execute(queries.grouped(queries.both(typed), screen=True)).fetchall(), partition,
             queries)
    if out.bad_rows:
        for row, input_id, column, raw in connection.execute(layout.bad_cells(partition.source(list(columns)),
                                                                           columns, BAD_SHOWN)).fetchall():
            out.bad.append((partition.file.path, int(row), input_id, column, raw))
        return out
    if out.unsure:
        _unsure(connection, queries, typed, partition, out)
    return out


def _collect(out: Partial, rows: Iterable[tuple[Any, ...]], partition: Partition, queries: _Queries) -> None:
    for old, new, flags_old, flags_new, hazard, n, example, set_aside in rows:
        if set_aside == "bad":
            out.bad_rows += n
            out.total += n
            continue
        if set_aside == "unsure":  # weighed over their completions by _unsure, and counted there
            out.unsure += n
            continue
        out.total += n
        out.pairs[old, new] += n
        if flags_new is not None:
            key = (old, new, queries.sql_old.flags_of(flags_old), queries.sql_new.flags_of(flags_new))
            if key in out.routes:
                out.routes[key][0] += n
                out.routes[key][1] = min(out.routes[key][1], (partition.file.path, example))
            else:
                out.routes[key] = [n, (partition.file.path, example)]
        if hazard is not None:
            out.hazards.append((partition.file.path, int(hazard), old, new))


def _unsure(connection: Any, queries: _Queries, typed: str, partition: Partition, out: Partial) -> None:
    """Cases with unsure answers: each version weighs every completion (SPEC 3a) in SQL; a case with more
    completions than MAX_COMPLETIONS is evaluated by the engine, which splits them lazily."""
    unsure = f"(SELECT * FROM {typed} WHERE {ANY_UNSURE})"
    sql_old, sql_new = queries.sql_old, queries.sql_new
    wide = f"({sql_old.completions()} > {MAX_COMPLETIONS} OR {sql_new.completions()} > {MAX_COMPLETIONS})"
    narrow = f"(SELECT * FROM {unsure} WHERE NOT {wide})"
    folded_old = sql_old.folded(sql_old.evaluated(sql_old.expanded(narrow)))
    folded_new = sql_new.folded(sql_new.evaluated(sql_new.expanded(narrow)))
    codes = (f"SELECT c.*, o.{CODE} AS \":old\", n.{CODE} AS \":new\" FROM {narrow} c "
             f"JOIN ({folded_old}) o USING ({ROW}) JOIN ({folded_new}) n USING ({ROW})")
    _collect(out, connection.execute(queries.grouped(codes)).fetchall(), partition, queries)
    heavy = connection.execute(f"SELECT * FROM {unsure} WHERE {wide}")
    names = [d[0] for d in heavy.description]
    rows = heavy.fetchall()
    if not rows:
        return
    flags_sql = f"SELECT {ROW}, {sql_old.red_flags()}, {sql_new.red_flags()} FROM {unsure} WHERE {wide}"
    flags = {row: (tuple(a), tuple(b)) for row, a, b in connection.execute(flags_sql).fetchall()}
    for values in rows:
        record = dict(zip(names, values))
        row = int(record[ROW.strip('"')])
        old_code = _by_engine(queries.old, sql_old, queries.layout, record)
        new_code = _by_engine(queries.new, sql_new, queries.layout, record)
        out.by_engine += 1
        moved = old_code != new_code and not (
            old_code < len(sql_old.outcomes) and new_code < len(sql_new.outcomes)
            and sql_old.outcomes[old_code] == sql_new.outcomes[new_code])
        hazard = row if old_code < len(sql_old.outcomes) and new_code in queries.less_urgent[old_code] else None
        flag_pair = flags[row] if moved else (None, None)
        _collect(out, [(old_code, new_code, flag_pair[0], flag_pair[1], hazard, 1, row, None)], partition, queries)


def _by_engine(ruleset: CompiledRuleset, sql: SqlRuleset, layout: Layout, record: Mapping[str, Any]) -> int:
    """A case's result code from the Python engine (for a case with too many unsure completions for SQL)."""
    kinds = {spec.id: spec.type for spec in ruleset.model.inputs}
    answers = {i: record[layout.typed_name(i, kinds[i])] for i in ruleset.inputs}
    unsure = [i for i in ruleset.inputs if record[unsure_column(i).strip('"')]]
    answers = {i: (bool(v) if kinds[i] == "boolean" else v) for i, v in answers.items() if v is not None}
    try:
        result = evaluate(ruleset, answers, unsure=unsure)
    except InputError:  # more unsure answers than even the engine weighs: the case needs answers
        first = next((j for j, b in enumerate(sql.blocked) if set(b.reads) & set(unsure)), 0)
        return len(sql.outcomes) + first
    if result.status == "complete":
        return sql.outcomes.index(result.outcome)
    # a result that needs input has no outcome: any branch of the node it stopped at stands for it (the needs of
    # several unsure completions may span more than one branch)
    at = [j for j, b in enumerate(sql.blocked) if b.node == result.path[-1]]
    index = next((j for j in at if set(result.needs) & set(sql.blocked[j].reads)), at[0] if at else 0)
    return len(sql.outcomes) + index


def _ids(items: Sequence[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


# --- the whole analysis -------------------------------------------------------------------------

@dataclass
class Transition:
    """How many cases went from one disposition to another (None: the case needs input in that version)."""

    before: str | None
    after: str | None
    count: int
    direction: str  # less_urgent | more_urgent | unchanged | needs_input | decided

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after, "count": self.count, "direction": self.direction}


@dataclass
class Route:
    """Changed cases that share their rules and red flags: the outcomes they reach in each version (the rule
    that decides them) and the red flags that fire in each."""

    before: str | None
    after: str | None
    outcome_before: str | None
    outcome_after: str | None
    red_flags_before: list[str]
    red_flags_after: list[str]
    count: int
    direction: str
    example: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after, "outcome_from": self.outcome_before,
                "outcome_to": self.outcome_after, "red_flags_from": self.red_flags_before,
                "red_flags_to": self.red_flags_after, "count": self.count, "direction": self.direction,
                "example": self.example}


@dataclass
class Hazard:
    """A case that became less urgent: where it is on file, both dispositions, and the rules it goes through."""

    file: str
    row: int
    before: str
    after: str
    outcome_before: str
    outcome_after: str
    path_before: list[str] = field(default_factory=list)
    path_after: list[str] = field(default_factory=list)
    red_flags: list[str] = field(default_factory=list)
    possible_red_flags: list[str] = field(default_factory=list)

    def to_dict(self, files: int = 1) -> dict[str, Any]:
        where = {"file": self.file} if files > 1 else {}
        return {"row": self.row, **where, "from": self.before, "to": self.after, "outcome_from": self.outcome_before,
                "outcome_to": self.outcome_after, "path_from": self.path_before, "path_to": self.path_after,
                "red_flags": self.red_flags, "possible_red_flags": self.possible_red_flags}


@dataclass
class Impact:
    """What NEW changes against OLD over a set of past cases (see `impact`)."""

    old: str
    new: str
    files: list[str]
    total: int
    changed: int
    transitions: list[Transition]
    routes: list[Route]
    less_urgent: list[Hazard]
    less_urgent_count: int
    unsure: int = 0
    by_engine: int = 0
    missing: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # dispositions, most urgent first

    def to_dict(self) -> dict[str, Any]:
        files = len(self.files)
        return {"old": self.old, "new": self.new, "cases": self.files, "total": self.total, "changed": self.changed,
                "less_urgent_count": self.less_urgent_count,
                "transitions": [t.to_dict() for t in self.transitions],
                "routes": [r.to_dict() for r in self.routes],
                "less_urgent": [h.to_dict(files) for h in self.less_urgent],
                "unsure": self.unsure, "missing_columns": self.missing, "dispositions": self.order}

    def transition_rows(self) -> list[dict[str, Any]]:
        """The transition table as rows (from, to, direction, count), less urgent first: what --out writes."""
        return [{"from": t.before or "", "to": t.after or "", "direction": t.direction, "count": t.count}
                for t in self.transitions]


def partitions(files: Sequence[CaseFile], rows_per_partition: int | None = None) -> list[Partition]:
    """One partition a file, or Parquet files cut into ranges of about `rows_per_partition` rows (by the row
    counts their footers give, so nothing is read to cut them)."""
    if not rows_per_partition:
        return [Partition(f) for f in files]
    import duckdb

    out: list[Partition] = []
    with duckdb.connect() as connection:
        for file in files:
            if file.format != "parquet":
                out.append(Partition(file))
                continue
            (rows,) = connection.execute(f"SELECT count(*) FROM {scan(file)}").fetchone()
            for first in range(1, rows + 1, rows_per_partition):
                out.append(Partition(file, first, min(rows, first + rows_per_partition - 1)))
    return out


def impact(old: CompiledRuleset, new: CompiledRuleset, cases: str | Path | Sequence[CaseFile],
           mapping: Mapping[str, str] | None = None, *, scheduler: str | Any | None = None,
           partitions_wanted: int | None = None, threads: int | None = None) -> Impact:
    """Every case in `cases` (a file, a folder of files, or CaseFiles) evaluated by `old` and `new`.

    `scheduler`: a Dask scheduler address (tcp://host:8786) or Client to fan the partitions out to; without it
    the partitions run here, one after another. Raises ProblemError for unreadable files or cells that fit
    no answer (each named by file, row and column)."""
    files = case_files(cases) if isinstance(cases, (str, Path)) else list(cases)
    the_plan = plan(old, new, mapping)
    parts = partitions(files, None if not partitions_wanted else _rows_each(files, partitions_wanted))
    if scheduler is not None:
        done: Iterable[Partial] = fan_out(run_partition, the_plan, parts, scheduler, threads)
    else:
        done = (run_partition(the_plan, part, threads) for part in parts)
    total = Partial()
    for partial in done:
        total = total + partial
    return assemble(old, new, files, total, the_plan)


def _rows_each(files: Sequence[CaseFile], wanted: int) -> int:
    import duckdb

    with duckdb.connect() as connection:
        rows = sum(connection.execute(f"SELECT count(*) FROM {scan(f)}").fetchone()[0] for f in files
                   if f.format == "parquet")
    return max(1, -(-rows // wanted))


def assemble(old: CompiledRuleset, new: CompiledRuleset, files: Sequence[CaseFile], total: Partial,
             the_plan: Plan) -> Impact:
    """The partials added up, in the words of the two versions."""
    if total.bad_rows:
        raise ProblemError(_bad_problems(old, new, total))
    sql_old, sql_new = SqlRuleset(old), SqlRuleset(new)
    order = urgency_order(old.model, new.model)
    rank = {d: i for i, d in enumerate(order)}

    def disposition(sql: SqlRuleset, code: int) -> str | None:
        return sql.outcome_disposition[code] if code < len(sql.outcomes) else None

    def outcome(sql: SqlRuleset, code: int) -> str | None:
        return sql.outcomes[code] if code < len(sql.outcomes) else None

    def direction(before: str | None, after: str | None) -> str:
        if before is None and after is None:
            return "unchanged"
        if after is None:
            return "needs_input"
        if before is None:
            return "decided"
        return "less_urgent" if rank[after] > rank[before] else "more_urgent" if rank[after] < rank[before] \
            else "unchanged"

    pairs: Counter[tuple[str | None, str | None]] = Counter()
    changed = 0
    for (o, n), count in total.pairs.items():
        before, after = disposition(sql_old, o), disposition(sql_new, n)
        pairs[before, after] += count
        if before != after:
            changed += count
    ranked = {"less_urgent": 0, "needs_input": 1, "more_urgent": 2, "decided": 3, "unchanged": 4}
    transitions = sorted((Transition(b, a, c, direction(b, a)) for (b, a), c in pairs.items()),
                         key=lambda t: (ranked[t.direction], -t.count, str(t.before), str(t.after)))
    routes = []
    for (o, n, flags_old, flags_new), (count, (file, row)) in total.routes.items():
        before, after = disposition(sql_old, o), disposition(sql_new, n)
        routes.append(Route(before, after, outcome(sql_old, o), outcome(sql_new, n), list(flags_old),
                            list(flags_new), count, direction(before, after), {"file": file, "row": row}))
    routes.sort(key=lambda r: (ranked[r.direction], -r.count, str(r.outcome_before), str(r.outcome_after),
                               r.red_flags_before, r.red_flags_after))
    hazards = sorted(total.hazards)
    listed = [Hazard(file, row, sql_old.outcome_disposition[o], sql_new.outcome_disposition[n], sql_old.outcomes[o],
                     sql_new.outcomes[n]) for file, row, o, n in hazards[:LISTED]]
    _explain(listed, the_plan)
    layout = Layout((old, new), the_plan.mapping)
    missing: list[str] = []
    import duckdb

    with duckdb.connect() as connection:
        for file in files:
            missing += [i for i in layout.missing(described(connection, file)) if i not in missing]
    return Impact(f"{old.id} {old.version}", f"{new.id} {new.version}", [f.path for f in files], total.total, changed,
                  transitions, routes, listed, len(hazards), total.unsure, total.by_engine, missing, order)


def _explain(hazards: list[Hazard], the_plan: Plan) -> None:
    """The paths and red flags of the listed hazards: both versions' full results for those rows only."""
    if not hazards:
        return
    import duckdb

    old, new = the_plan.versions()
    by_file: dict[str, list[Hazard]] = {}
    for hazard in hazards:
        by_file.setdefault(hazard.file, []).append(hazard)
    with duckdb.connect() as connection:
        for path, items in by_file.items():
            file = next(f for f in case_files(path))
            columns = described(connection, file)
            layout = Layout((old, new), the_plan.mapping)
            rows = ", ".join(str(h.row) for h in items)
            wanted = f"(SELECT unnest([{rows}]::BIGINT[]))"
            # the few rows read once into a table: the explaining queries then never scan the file again
            connection.execute(f"CREATE OR REPLACE TEMP TABLE hazards AS SELECT * FROM "
                               f"{layout.typed(scan(file, list(columns)), columns)} WHERE {ROW} IN {wanted}")
            typed = "hazards"
            found: dict[int, dict[str, Any]] = {}
            for version, key in ((old, "old"), (new, "new")):
                sql = SqlRuleset(version, layout.column_for(version))
                relation = connection.execute(sql.results(typed))
                names = [d[0] for d in relation.description]
                for values in relation.fetchall():
                    record = dict(zip(names, values))
                    found.setdefault(int(record[ROW.strip('"')]), {})[key] = record
            for hazard in items:
                results = found.get(hazard.row, {})
                hazard.path_before = list((results.get("old") or {}).get("path") or [])
                hazard.path_after = list((results.get("new") or {}).get("path") or [])
                hazard.red_flags = list((results.get("new") or {}).get("red_flags") or [])
                hazard.possible_red_flags = list((results.get("new") or {}).get("possible_red_flags") or [])


def _bad_problems(old: CompiledRuleset, new: CompiledRuleset, total: Partial) -> list[Problem]:
    specs = {spec.id: spec for version in (old, new) for spec in version.model.inputs}
    problems = []
    for file, row, input_id, column, raw in total.bad[:BAD_SHOWN]:
        problems.append(Problem("WB622", f"row {row}, column '{column}': {raw!r} is no answer to '{input_id}', which "
                                f"takes {describe_cell(specs[input_id])}; leave it empty when unanswered or write "
                                "'unsure'.", file=file, line=row + 1, column=1))
    if total.bad_rows > len(problems):
        problems.append(Problem("WB622", f"{total.bad_rows:,} cases in all have cells like these; nothing was "
                                "analysed. Fix them, or map the columns with --map."))
    return problems


def table(result: Impact) -> list[dict[str, Any]]:
    """The downloadable table: a `transition` row per (from, to) pair, then a `route` row per group of changed
    cases with the outcomes and red flags they go through; less urgent first in each."""
    rows = [{"kind": "transition", **row, "outcome_from": "", "outcome_to": "", "red_flags_from": "",
             "red_flags_to": ""} for row in result.transition_rows()]
    rows += [{"kind": "route", "from": r.before or "", "to": r.after or "", "direction": r.direction, "count": r.count,
              "outcome_from": r.outcome_before or "", "outcome_to": r.outcome_after or "",
              "red_flags_from": " ".join(r.red_flags_before), "red_flags_to": " ".join(r.red_flags_after)}
             for r in result.routes]
    return rows


TABLE_COLUMNS = ("kind", "from", "to", "direction", "count", "outcome_from", "outcome_to", "red_flags_from",
                 "red_flags_to")


def write_transitions(result: Impact, out: str | Path) -> Path:
    """The table (`table`) as CSV or Parquet, by the file's suffix."""
    out = Path(out)
    rows = table(result)
    if out.suffix.lower() == ".parquet":
        import duckdb

        with duckdb.connect() as connection:
            columns = ", ".join(f"{ident(c)} {'BIGINT' if c == 'count' else 'VARCHAR'}" for c in TABLE_COLUMNS)
            connection.execute(f"CREATE TABLE t ({columns})")
            if rows:
                connection.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in TABLE_COLUMNS)})",
                                       [[row[c] for c in TABLE_COLUMNS] for row in rows])
            connection.execute(f"COPY t TO {_path_text(out)} (FORMAT parquet)")
        return out
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    from ..files import atomic_write

    atomic_write(out, buffer.getvalue().encode())
    return out


def _path_text(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


__all__ = ["Impact", "Partial", "Partition", "Plan", "assemble", "impact", "partitions", "plan", "run_partition",
           "table", "write_transitions"]
