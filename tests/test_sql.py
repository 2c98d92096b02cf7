"""The SQL target (run/sql.py) gives what the engine gives: every vignette and 100,000 random complete, partial and
unsure cases, evaluated in DuckDB in one batch and compared with `engine.evaluate` case by case (every case's
result code, and every tenth case's whole result, paths and lists included: the lists make the whole-result
query the slow one); and the same comparison catches a generator that is wrong (mutations), so it is a test
that can fail.

For a case with unsure answers SPEC 3a fixes the status, disposition, red flags, needs and unsure exactly, but
lets the outcome and path be those of *any* completion giving the disposition: for those, the completion the
SQL reports is run through the engine, which must give that outcome, path and possible red flags."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from workbench.analysis.cases import ANY_UNSURE, CaseFile, Layout, described, scan
from workbench.run.engine import CompiledRuleset, InputError, evaluate
from workbench.run.load import load_file, load_text
from workbench.run.replay import load_vignettes, vignette_paths
from workbench.run.sql import CODE, ROW, SqlRuleset

from .conftest import MINI, ROOT, SHIPPED, V1

sys.path.insert(0, str(ROOT))
from bench.generate import generate_yaml, rejoining_ruleset  # noqa: E402

FIELDS = ("status", "outcome", "disposition", "red_flags", "path", "needs", "unsure", "possible_red_flags")
EXACT = ("status", "disposition", "red_flags", "needs", "unsure")
RANDOM_CASES = 100_000

COUNTING = """
id: counting
version: 1.0.0
title: Counting and comparing
dispositions: [{id: now, label: Now}, {id: soon, label: Soon}, {id: later, label: Later}]
inputs:
  - {id: qa, type: boolean, question: qa?}
  - {id: qb, type: boolean, question: qb?}
  - {id: qc, type: boolean, question: qc?}
  - {id: nn, type: number, min: 0, max: 10, question: nn?}
  - {id: mm, type: number, min: 0, max: 10, question: mm?}
  - {id: ss, type: enum, values: [vx, vy, vz], question: ss?}
red_flags:
  - {id: two, label: Two, when: "count(qa, qb, qc) >= 2"}
  - {id: not_one, label: Not one, when: "count(qa, not qb) != 1"}
  - {id: quote, label: Quote, when: "ss == 'vy' or ss not in ['vx']"}
start: first
nodes:
  - id: first
    kind: decision
    title: First
    branches:
      - {when: "2 <= count(qa, qb, nn > 5)", next: now_out}
      - {when: "count(qa, qc) == nn", next: soon_out}
      - {when: "count(qb, qc, ss == 'vz') < mm and not (nn >= mm)", next: second}
      - {when: "count(qa, qb) in [0, 2]", next: later_out}
    else: second
  - id: second
    kind: decision
    title: Second
    branches:
      - {when: "nn == 2.5 or (mm > nn and ss in ['vx', 'vz'])", next: soon_out}
      - {when: "count(qa, qb, qc) > nn", next: now_out}
    else: later_out
  - {id: now_out, kind: outcome, title: Now, disposition: now}
  - {id: soon_out, kind: outcome, title: Soon, disposition: soon}
  - {id: later_out, kind: outcome, title: Later, disposition: later}
"""


def rulesets() -> dict[str, CompiledRuleset]:
    import yaml

    return {"mini": load_file(MINI).required(), "upper-back-pain 1.0.0": load_file(V1 / "ruleset.yaml").required(),
            "shipped": load_file(SHIPPED / "ruleset.yaml").required(),
            "counting": load_text(COUNTING, "counting.yaml").required(),
            "rejoining": load_text(yaml.safe_dump(rejoining_ruleset(6)), "rejoining.yaml").required(),
            "generated": load_text(generate_yaml(nodes=200, red_flags=6, seed=4), "generated.yaml").required()}


def typed_cases(ruleset: CompiledRuleset, cases: list[tuple[dict[str, Any], list[str]]],
                tmp_path: Path) -> tuple[Any, str, Layout]:
    """The cases written as JSON lines (unsure as the word) and read back: a DuckDB connection and the relation."""
    file = tmp_path / f"cases-{random.random()}.jsonl"
    with file.open("w", encoding="utf-8") as out:
        for answers, unsure in cases:
            out.write(json.dumps({**answers, **{i: "unsure" for i in unsure}, "_": 0}) + "\n")
    connection = duckdb.connect()
    case_file = CaseFile(str(file), "jsonl")
    columns = {name: "VARCHAR" for name in described(connection, case_file)}
    layout = Layout([ruleset])
    return connection, layout.typed(scan(case_file, list(columns)), columns), layout


def sql_results(ruleset: CompiledRuleset, cases: list[tuple[dict[str, Any], list[str]]],
                tmp_path: Path, sql: SqlRuleset | None = None) -> list[dict[str, Any]]:
    """Every field of every case's result, from the SQL, in one query."""
    connection, typed, layout = typed_cases(ruleset, cases, tmp_path)
    sql = sql or SqlRuleset(ruleset, layout.column_for(ruleset))
    relation = connection.execute(sql.results(typed))
    names = [d[0] for d in relation.description]
    rows = [dict(zip(names, values)) for values in relation.fetchall()]
    assert [row[ROW.strip('"')] for row in rows] == list(range(1, len(cases) + 1))
    return rows


def sql_codes(ruleset: CompiledRuleset, cases: list[tuple[dict[str, Any], list[str]]], tmp_path: Path) -> list[int]:
    """Each case's result code alone (what the impact analysis groups by): the outcome, or the branch it stops
    at; cases with unsure answers weighed over their completions."""
    connection, typed, layout = typed_cases(ruleset, cases, tmp_path)
    sql = SqlRuleset(ruleset, layout.column_for(ruleset))
    sure = sql.evaluated(f"(SELECT * FROM {typed} WHERE NOT {ANY_UNSURE})")
    unsure = sql.folded(sql.evaluated(sql.expanded(f"(SELECT * FROM {typed} WHERE {ANY_UNSURE})")))
    rows = connection.execute(f"SELECT {ROW}, {CODE} FROM ({sure}) UNION ALL SELECT {ROW}, {CODE} FROM ({unsure}) "
                              f"ORDER BY {ROW}").fetchall()
    assert [row for row, _ in rows] == list(range(1, len(cases) + 1))
    return [code for _, code in rows]


def disagreements(ruleset: CompiledRuleset, cases: list[tuple[dict[str, Any], list[str]]],
                  rows: list[dict[str, Any]]) -> Iterator[str]:
    for (answers, unsure), row in zip(cases, rows, strict=True):
        try:
            expected = evaluate(ruleset, answers, unsure=unsure).to_dict()
        except InputError:  # too many unsure answers for the engine too: nothing to compare
            continue
        got = {key: (list(row[key]) if isinstance(row[key], list) else row[key]) for key in FIELDS}
        if not unsure:
            if got != expected:
                yield f"{answers}: engine {expected}, SQL {got}"
            continue
        if any(got[key] != expected[key] for key in EXACT):
            yield f"{answers} unsure {unsure}: engine {expected}, SQL {got}"
            continue
        completion = {k: v for k, v in (row["completion"] or {}).items() if v is not None}
        reported = evaluate(ruleset, completion)
        possible = [flag for flag in reported.red_flags if flag not in expected["red_flags"]]
        if (reported.status, reported.outcome, reported.path, possible) != (
                got["status"], got["outcome"], got["path"], got["possible_red_flags"]) \
                or any(completion.get(k) != v for k, v in answers.items()):
            yield (f"{answers} unsure {unsure}: SQL reports {got} for the completion {completion}, which gives "
                   f"{reported}")


def random_cases(ruleset: CompiledRuleset, count: int, seed: int) -> list[tuple[dict[str, Any], list[str]]]:
    """A third complete, a third partial (some answers missing), a third with up to three unsure answers; numbers
    both at the representative values the conditions tell apart and anywhere in their range."""
    rng = random.Random(seed)
    values = ruleset.possible_values
    cases = []
    for k in range(count):
        kind = k % 3
        answers: dict[str, Any] = {}
        unsure: list[str] = []
        for input_id, spec in ruleset.inputs.items():
            if kind == 1 and rng.random() < 0.3:
                continue
            if kind == 2 and len(unsure) < 3 and rng.random() < 0.2:
                unsure.append(input_id)
                continue
            if spec.type == "number" and rng.random() < 0.3:
                low = spec.min if spec.min is not None else -100
                high = spec.max if spec.max is not None else 200
                answers[input_id] = round(rng.uniform(low, high), rng.choice([0, 1]))
            else:
                answers[input_id] = rng.choice(values[input_id])
        cases.append((answers, unsure))
    return cases


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledRuleset]:
    return rulesets()


@pytest.mark.parametrize("name", ["mini", "upper-back-pain 1.0.0", "shipped", "counting", "rejoining", "generated"])
def test_the_sql_gives_what_the_engine_gives_on_random_cases(name: str, compiled: dict[str, CompiledRuleset],
                                                             tmp_path: Path) -> None:
    """100,000 random cases in all (half on the shipped ruleset), each run in DuckDB in one batch: every case's
    result code against the engine's result, and every tenth case's whole result field by field."""
    ruleset = compiled[name]
    count = {"shipped": RANDOM_CASES // 2, "upper-back-pain 1.0.0": RANDOM_CASES // 5}.get(name, RANDOM_CASES // 15)
    cases = random_cases(ruleset, count, seed=len(name))
    sql = SqlRuleset(ruleset)
    wrong = []
    for (answers, unsure), code in zip(cases, sql_codes(ruleset, cases, tmp_path), strict=True):
        result = evaluate(ruleset, answers, unsure=unsure)
        if code < len(sql.outcomes):
            given = ("complete", sql.outcome_disposition[code], sql.outcomes[code] if not unsure else None)
        else:
            given = ("needs_input", None, sql.blocked[code - len(sql.outcomes)].node if not unsure else None)
        took = (result.status, result.disposition,
                None if unsure else result.outcome if result.status == "complete" else result.path[-1])
        if given != took:
            wrong.append(f"{answers} unsure {unsure}: engine {took}, SQL {given}")
    assert not wrong, f"{len(wrong)} of {count} cases differ, e.g.\n" + "\n".join(wrong[:5])
    sample = cases[::10]
    wrong = list(disagreements(ruleset, sample, sql_results(ruleset, sample, tmp_path)))
    assert not wrong, f"{len(wrong)} of {len(sample)} cases differ, e.g.\n" + "\n".join(wrong[:5])


@pytest.mark.parametrize("folder", [V1, SHIPPED], ids=["upper-back-pain 1.0.0", "shipped"])
def test_the_sql_gives_what_the_engine_gives_on_every_vignette(folder: Path, tmp_path: Path) -> None:
    ruleset = load_file(folder / "ruleset.yaml").required()
    cases = [(dict(v.inputs), list(getattr(v, "unsure", []) or []))
             for report in load_vignettes(vignette_paths(folder), ruleset) if report.model
             for v in report.model.vignettes]
    assert cases
    wrong = list(disagreements(ruleset, cases, sql_results(ruleset, cases, tmp_path)))
    assert not wrong, "\n".join(wrong[:5])


class _UnknownIsFalse(SqlRuleset):
    """A wrong generator: an unknown branch is skipped as if false (no needs_input)."""

    def code(self, node_id: str, *, top: bool = False) -> str:
        return super().code(node_id, top=top).replace(" IS NULL THEN ", " IS NULL AND FALSE THEN ")


class _LeastUrgent(SqlRuleset):
    """A wrong generator: an unsure answer weighed at its least urgent completion."""

    def rank(self, code: str = '":r"') -> str:
        return f"(- {super().rank(code)})"


class _CountKnownOnly(SqlRuleset):
    """A wrong generator: count(...) counts the known trues only, as if every unknown operand were false."""

    def _span(self, expr: Any) -> tuple[str, str, bool]:
        low, high, counted = super()._span(expr)
        return (low, low, counted) if counted else (low, high, counted)


@pytest.mark.parametrize("mutant, name", [(_UnknownIsFalse, "mini"), (_LeastUrgent, "mini"),
                                          (_CountKnownOnly, "counting")])
def test_the_comparison_catches_a_wrong_generator(mutant: type[SqlRuleset], name: str,
                                                  compiled: dict[str, CompiledRuleset], tmp_path: Path) -> None:
    ruleset = compiled[name]
    cases = random_cases(ruleset, 3000, seed=7)
    layout = Layout([ruleset])
    rows = sql_results(ruleset, cases, tmp_path, mutant(ruleset, layout.column_for(ruleset)))
    assert list(disagreements(ruleset, cases, rows)), f"{mutant.__name__} went unnoticed"


def test_a_deep_chain_still_runs(tmp_path: Path) -> None:
    """5,000 questions one after another: nested CASEs are cut into columns every MAX_NESTING levels."""
    import yaml

    from .test_verify import decision, outcome, ruleset

    chain = [decision(f"d{i}", [(f"q{i % 20}", "out_e")], f"d{i + 1}" if i + 1 < 300 else "out_r")
             for i in range(300)]
    data = ruleset([*chain, outcome("out_e", "emergency"), outcome("out_r", "routine")],
                   inputs=[{"id": f"q{i}", "type": "boolean", "question": f"q{i}?"} for i in range(20)])
    compiled_chain = load_text(yaml.safe_dump(data, sort_keys=False), "chain.yaml").required()
    cases = random_cases(compiled_chain, 300, seed=1)
    assert not list(disagreements(compiled_chain, cases, sql_results(compiled_chain, cases, tmp_path)))
