"""`workbench impact OLD NEW --cases FILE`: what a new version changes for past cases, checked against the engine
evaluating the same cases one by one; the file formats, the column map, unsure and empty cells, bad cells, a
release named as ID@VERSION, the downloads and the picture, the case store, and a Dask cluster of two workers
giving the single process's answer."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from workbench.analysis import impact as impact_module
from workbench.analysis.case_store import CASES_ENV, case_store
from workbench.analysis.impact import impact, table
from workbench.analysis.impact_chart import matrix, transition_spec, transition_svg
from workbench.run.engine import evaluate
from workbench.run.load import load_file, load_text

from .conftest import MINI, released, run_cli

NEW_MINI = MINI.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0").replace(
    "age >= 60", "age >= 70").replace("when: limb_weakness\n", "when: limb_weakness and age < 100\n")
"""Two changes: a cancer patient aged 60 to 69 with lumbar pain goes from urgent to self-care (less urgent); a
weak patient of 100 or more goes on to the cancer question instead of emergency."""


def mini_cases(count: int = 300, seed: int = 5) -> list[dict[str, Any]]:
    """Answers as a person would record them: some empty, some unsure."""
    rng = random.Random(seed)
    choices = {"age": [None, "unsure", 20, 59.5, 60, 65, 69, 70, 99, 100, 120],
               "known_cancer": [True, False, None, "unsure"],
               "limb_weakness": [True, False, False, None, "unsure"],
               "pain_site": ["cervical", "thoracic", "lumbar", "lumbar", None, "unsure"]}
    return [{key: rng.choice(values) for key, values in choices.items()} for _ in range(count)]


def expected(old_text: str, new_text: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The transitions and less urgent rows, from the engine one case at a time."""
    old, new = load_text(old_text, "old.yaml").required(), load_text(new_text, "new.yaml").required()
    order = [d.id for d in new.model.dispositions]
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    less = []
    for row, case in enumerate(cases, start=1):
        answers = {k: v for k, v in case.items() if v is not None and v != "unsure"}
        unsure = [k for k, v in case.items() if v == "unsure"]
        before = evaluate(old, answers, unsure=unsure).disposition
        after = evaluate(new, answers, unsure=unsure).disposition
        pairs[before, after] += 1
        if before and after and order.index(after) > order.index(before):
            less.append({"row": row, "from": before, "to": after})
    return {"total": len(cases), "changed": sum(c for (b, a), c in pairs.items() if b != a),
            "transitions": pairs, "less_urgent": less}


def write_csv(path: Path, cases: list[dict[str, Any]], names: dict[str, str] | None = None) -> Path:
    names = names or {}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([names.get(k, k) for k in cases[0]])
        for case in cases:
            writer.writerow(["" if v is None else ("yes" if v is True else "no" if v is False else v)
                             for v in case.values()])
    return path


def write_jsonl(path: Path, cases: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps({k: v for k, v in c.items() if v is not None}) + "\n" for c in cases),
                    encoding="utf-8")
    return path


def write_parquet(path: Path, cases: list[dict[str, Any]]) -> Path:
    """Typed columns where they can be (a yes/no column with an unsure in it stays text, as it would)."""
    csv_path = write_csv(path.with_suffix(".csv"), cases)
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{path}' (FORMAT parquet)")
    return path


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    new = tmp_path / "new.yaml"
    new.write_text(NEW_MINI, encoding="utf-8")
    return MINI, new


def as_pairs(transitions: list[dict[str, Any]]) -> Counter[tuple[str | None, str | None]]:
    return Counter({(t["from"], t["to"]): t["count"] for t in transitions})


def test_the_cli_counts_every_transition_and_lists_each_less_urgent_case(versions: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    cases = mini_cases()
    file = write_csv(tmp_path / "cases.csv", cases)
    done = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(file), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    truth = expected(MINI.read_text("utf-8"), NEW_MINI, cases)
    assert data["total"] == truth["total"] == len(cases) and data["changed"] == truth["changed"] > 0
    assert as_pairs(data["transitions"]) == truth["transitions"]
    assert (None, None) in truth["transitions"]  # cases that still need input are null, not guessed
    assert [{k: h[k] for k in ("row", "from", "to")} for h in data["less_urgent"]] == truth["less_urgent"]
    assert data["transitions"][0]["direction"] == "less_urgent"  # the hazards first
    hazard = next(h for h in data["less_urgent"] if cases[h["row"] - 1]["known_cancer"] is True)
    assert (hazard["outcome_from"], hazard["outcome_to"]) == ("mets", "home")
    assert hazard["path_from"] == ["neuro", "cancer", "mets"] and hazard["path_to"] == ["neuro", "cancer", "home"]
    assert "history_of_cancer" in hazard["red_flags"]
    routes = {(r["outcome_from"], r["outcome_to"]) for r in data["routes"]}
    assert ("mets", "home") in routes and ("mscc", "mets") in routes or ("mscc", "home") in routes
    text = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(file))
    assert "LESS URGENT" in text.stdout and f"row {truth['less_urgent'][0]['row']}: urgent → self_care" in text.stdout


@pytest.mark.parametrize("writer", [write_csv, write_jsonl, write_parquet], ids=["csv", "jsonl", "parquet"])
def test_every_format_gives_the_same_answer(writer: Any, versions: tuple[Path, Path], tmp_path: Path) -> None:
    cases = mini_cases(120, seed=9)
    suffix = {write_csv: ".csv", write_jsonl: ".jsonl", write_parquet: ".parquet"}[writer]
    old, new = (load_file(v).required() for v in versions)
    result = impact(old, new, writer(tmp_path / f"cases{suffix}", cases))
    truth = expected(MINI.read_text("utf-8"), NEW_MINI, cases)
    assert as_pairs([t.to_dict() for t in result.transitions]) == truth["transitions"]
    assert [h.row for h in result.less_urgent] == [h["row"] for h in truth["less_urgent"]]


def test_a_column_map_reads_other_names_and_a_missing_column_is_unanswered(versions: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    cases = mini_cases(60)
    file = write_csv(tmp_path / "cases.csv", cases, {"known_cancer": "ca_hx", "pain_site": "site"})
    mapping = json.dumps({"known_cancer": "ca_hx", "pain_site": "site"})
    code, data = _json("impact", str(versions[0]), str(versions[1]), "--cases", str(file), "--map", mapping)
    assert code == 0 and as_pairs(data["transitions"]) == expected(MINI.read_text("utf-8"), NEW_MINI,
                                                                   cases)["transitions"]
    code, unmapped = _json("impact", str(versions[0]), str(versions[1]), "--cases", str(file))
    assert code == 0 and set(unmapped["missing_columns"]) == {"known_cancer", "pain_site"}
    done = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(file), "--map", '{"cancer": "x"}')
    assert done.returncode == 2 and "neither version asks" in done.stderr


def test_a_cell_that_is_no_answer_stops_the_analysis_and_says_where(versions: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    file = tmp_path / "cases.csv"
    file.write_text("age,known_cancer,limb_weakness,pain_site\n70,yes,no,lumbar\n61,perhaps,no,lumbar\n"
                    "300,no,no,lumbar\n", encoding="utf-8")
    done = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(file))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{file}:3:1: error WB622 row 2, column 'known_cancer': 'perhaps'" in done.stderr
    assert "row 3, column 'age': '300' is no answer to 'age', which takes a number from 16 to 120" in done.stderr
    missing = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and "WB620" in missing.stderr


def test_a_release_is_named_as_id_at_version(v1_copy: Path, signers: Any, tmp_path: Path) -> None:
    released(v1_copy, signers)
    draft = v1_copy / "ruleset.yaml"
    draft.write_text(draft.read_text("utf-8").replace("version: 1.0.0", "version: 1.0.1"), encoding="utf-8")
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"age": 70, "known_cancer": true}\n{"emergency_features": true}\n', encoding="utf-8")
    code, data = _json("impact", "upper-back-pain@1.0.0", str(v1_copy), "--cases", str(cases), "--rulesets",
                       str(v1_copy.parent))
    assert code == 0 and data["old"] == "upper-back-pain 1.0.0" and data["new"] == "upper-back-pain 1.0.1"
    assert data["total"] == 2 and data["changed"] == 0
    done = run_cli("impact", "upper-back-pain@9.9.9", str(v1_copy), "--cases", str(cases), "--rulesets",
                   str(v1_copy.parent))
    assert done.returncode == 2 and "no published release 9.9.9" in done.stderr


def test_the_downloads_and_the_picture(versions: tuple[Path, Path], tmp_path: Path) -> None:
    file = write_csv(tmp_path / "cases.csv", mini_cases())
    for out in ("t.csv", "t.parquet"):
        done = run_cli("impact", str(versions[0]), str(versions[1]), "--cases", str(file), "--out",
                       str(tmp_path / out), "--chart", str(tmp_path / "t.svg"))
        assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "t.csv").open(encoding="utf-8")))
    parquet = duckdb.execute(f"SELECT * FROM '{tmp_path / 't.parquet'}'").fetchall()
    assert len(rows) == len(parquet) and rows[0]["kind"] == "transition" and rows[0]["direction"] == "less_urgent"
    assert any(r["kind"] == "route" and r["outcome_from"] == "mets" and r["outcome_to"] == "home" for r in rows)
    svg = (tmp_path / "t.svg").read_text("utf-8")
    assert svg.startswith("<svg") and "urgent → self_care" in svg and "http://" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    result = impact(*(load_file(v).required() for v in versions), file)
    axis, counts = matrix(result)
    assert axis[:3] == ["emergency", "urgent", "self_care"] and axis[-1] == "needs input"
    right_of_diagonal = sum(counts[i][j] for i in range(3) for j in range(i + 1, 3))
    assert sum(map(sum, counts)) == result.total and right_of_diagonal == result.less_urgent_count
    spec = transition_spec(result)
    assert sum(v["count"] for v in spec["data"]["values"]) == result.total and len(table(result)) == len(rows)
    words = {"urgent": "Urgent — within two weeks, by a named clinician", "self_care": "Self care"}
    named = transition_svg(result, words)  # the Releases page draws it in the ruleset's words
    assert f"{words['urgent']} → Self care" in named and "urgent → self_care" not in named
    width = int(named.split('width="')[1].split('"')[0])
    assert width > int(svg.split('width="')[1].split('"')[0])  # the margins grow with the longest name


def test_the_case_store_is_the_default_place_of_cases(versions: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "cases"
    store.mkdir()
    assert case_store(store) is None  # no case files yet
    write_csv(store / "2024.csv", mini_cases(40, seed=1), {"pain_site": "site"})
    write_csv(store / "2025.csv", mini_cases(30, seed=2), {"pain_site": "site"})
    (store / "columns.json").write_text('{"pain_site": "site"}', encoding="utf-8")
    monkeypatch.setenv(CASES_ENV, str(store))
    found = case_store()
    assert found is not None and [Path(f.path).name for f in found.files] == ["2024.csv", "2025.csv"]
    code, data = _json("impact", str(versions[0]), str(versions[1]))
    assert code == 0 and data["total"] == 70 and not data["missing_columns"]
    assert all("file" in h for h in data["less_urgent"])  # two files: each row says which
    assert found.impact(*(load_file(v).required() for v in versions)).total == 70


def test_a_case_with_too_many_unsure_answers_for_sql_is_weighed_by_the_engine(
        versions: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = mini_cases(150, seed=3)
    file = write_csv(tmp_path / "cases.csv", cases)
    old, new = (load_file(v).required() for v in versions)
    in_sql = impact(old, new, file)
    monkeypatch.setattr(impact_module, "MAX_COMPLETIONS", 1)
    by_engine = impact(old, new, file)
    assert by_engine.by_engine == in_sql.unsure > 0 and in_sql.by_engine == 0
    assert as_pairs([t.to_dict() for t in by_engine.transitions]) == as_pairs([t.to_dict() for t in in_sql.transitions])


def test_a_dask_cluster_of_two_workers_gives_the_single_process_answer(versions: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    file = write_parquet(tmp_path / "cases.parquet", mini_cases(400, seed=11))
    old, new = (load_file(v).required() for v in versions)
    here = impact(old, new, file)
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        there = impact(old, new, file, scheduler=client, partitions_wanted=4)
        assert len(client.scheduler_info()["workers"]) == 2
    assert there.to_dict() == here.to_dict() and here.less_urgent_count > 0


def _json(*args: str) -> tuple[int, Any]:
    done = run_cli(*args, "--format", "json")
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None
