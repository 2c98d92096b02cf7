"""Impact analysis speed: 10 million past cases × 2 versions of the shipped ruleset through DuckDB, from Parquet.

    .venv/bin/python bench/bench_impact.py [--cases 10000000] [--skip-cluster]

The cases are generated once into bench/results/ (random complete answers, typed Parquet columns; not timed).
NEW is the shipped ruleset with two thresholds moved, so some cases change and some become less urgent.
Figures, each measured in this run:
- the whole `impact()` (both versions, transitions, routes, the less urgent cases listed with their paths), the
  median of 3 runs; goal (issue 23): under 5 s for 10 million cases;
- baseline 1, the floor: DuckDB reading every column of the same file once (a scan and a sum, no rules);
- baseline 2, what SQL replaces: the compiled Python engine (`evaluate(check=False)`, its fastest path) on
  100,000 of the same cases × 2 versions, scaled to the whole file;
- memory: peak RSS of a process running impact() on 1 million and on 10 million cases (flat: streaming);
- scaling: the same file cut into 1, 2 and 4 partitions on a local Dask cluster of as many worker processes,
  one DuckDB thread each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIPPED = ROOT / "rulesets" / "upper-back-pain" / "ruleset.yaml"
DATA = ROOT / "bench" / "results"
GOAL_SECONDS = 5.0


def versions() -> tuple[object, object]:
    from workbench.run.load import load_text

    text = SHIPPED.read_text(encoding="utf-8")
    old = load_text(text, "old.yaml").required()
    changed = text.replace("age >= 60 and (not_improving", "age >= 65 and (not_improving").replace(
        "(age >= 50 or age < 20) and count(", "(age >= 55 or age < 20) and count(")
    assert changed != text, "the shipped ruleset no longer has the thresholds this benchmark moves"
    new = load_text(changed.replace(f"version: {old.version}", "version: 99.0.0", 1), "new.yaml").required()
    return old, new


def cases_file(count: int) -> Path:
    """`count` random complete cases as Parquet, made once (DuckDB writes them: seconds, not timed)."""
    import duckdb

    old, _ = versions()
    path = DATA / f"cases-{old.id}-{old.version}-{count}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    columns = []
    for spec in old.model.inputs:
        if spec.type == "boolean":
            columns.append(f"random() < 0.15 AS \"{spec.id}\"")
        elif spec.type == "number":
            low, high = spec.min or 0, spec.max or 100
            columns.append(f"CAST({low} + floor(random() * ({high} - {low} + 1)) AS DOUBLE) AS \"{spec.id}\"")
        else:
            values = "[" + ", ".join(f"'{v}'" for v in spec.values) + "]"
            columns.append(f"{values}[1 + CAST(floor(random() * {len(spec.values)}) AS INTEGER)] AS \"{spec.id}\"")
    temporary = path.with_suffix(".tmp")
    with duckdb.connect() as connection:
        connection.execute("SELECT setseed(0.42)")
        connection.execute(f"COPY (SELECT {', '.join(columns)} FROM range({count})) TO '{temporary}' "
                           "(FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    temporary.rename(path)
    return path


def child(count: int) -> None:
    """In its own process: one impact() run; prints seconds and peak memory."""
    from bench.peak_memory import peak_memory_mb, reset_peak_memory
    from workbench.analysis.impact import impact

    reset_peak_memory()
    old, new = versions()
    file = cases_file(count)
    started = time.perf_counter()
    result = impact(old, new, file)
    took = time.perf_counter() - started
    print(json.dumps({"seconds": took, "peak_mb": peak_memory_mb(),
                      "total": result.total, "changed": result.changed, "less_urgent": result.less_urgent_count}))


def in_child(count: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(count)], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout)


def scan_floor(file: Path) -> float:
    """DuckDB reading every column of the file once: the least any query over it can cost."""
    import duckdb

    old, _ = versions()
    parts = []
    for spec in old.model.inputs:
        column = f"\"{spec.id}\""
        parts.append(f"sum(CAST({column} AS INTEGER))" if spec.type == "boolean" else
                     f"sum({column})" if spec.type == "number" else f"count(DISTINCT {column})")
    with duckdb.connect() as connection:
        started = time.perf_counter()
        connection.execute(f"SELECT {', '.join(parts)} FROM read_parquet('{file}')").fetchall()
        return time.perf_counter() - started


def engine_seconds(file: Path, total: int, sample: int = 100_000) -> float:
    """The compiled Python engine, both versions, on `sample` of the cases, scaled to `total`."""
    import duckdb

    from workbench.run.engine import evaluate

    old, new = versions()
    with duckdb.connect() as connection:
        relation = connection.execute(f"SELECT * FROM read_parquet('{file}') LIMIT {sample}")
        names = [d[0] for d in relation.description]
        cases = [dict(zip(names, row)) for row in relation.fetchall()]
    started = time.perf_counter()
    for case in cases:
        evaluate(old, case, check=False)
        evaluate(new, case, check=False)
    return (time.perf_counter() - started) * total / len(cases)


def scaling(file: Path, workers_list: tuple[int, ...] = (1, 2, 4)) -> list[tuple[int, float]]:
    """Seconds on a local Dask cluster of n worker processes, the file cut into n partitions."""
    from distributed import Client, LocalCluster

    from workbench.analysis.impact import impact

    old, new = versions()
    out = []
    for n in workers_list:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=50) as cluster, Client(cluster) as client:
            impact(old, new, file, scheduler=client, partitions_wanted=n)  # warm: workers import and compile
            started = time.perf_counter()
            impact(old, new, file, scheduler=client, partitions_wanted=n)
            out.append((n, time.perf_counter() - started))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    count = args.cases
    file = cases_file(count)
    small = cases_file(max(count // 10, 1))
    runs = [in_child(count) for _ in range(3)]
    seconds = statistics.median(r["seconds"] for r in runs)
    floor = statistics.median(scan_floor(file) for _ in range(3))
    engine = engine_seconds(file, count)
    memory_small, memory_big = in_child(max(count // 10, 1))["peak_mb"], max(r["peak_mb"] for r in runs)
    last = runs[-1]
    met = seconds < GOAL_SECONDS
    print(f"shipped ruleset, {count:,} complete cases × 2 versions from Parquet ({file.stat().st_size / 1e6:.0f} MB); "
          f"{last['changed']:,} change, {last['less_urgent']:,} less urgent; median of 3 runs")
    print(f"impact():                       {seconds:8.2f} s   goal < {GOAL_SECONDS:g} s "
          + ("met" if met else "NOT MET"))
    print(f"baseline 1, DuckDB scan floor:  {floor:8.2f} s   ratio {seconds / floor:6.2f}x (rules and both versions "
          "over reading the file)")
    print(f"baseline 2, Python engine:      {engine:8.2f} s   ratio {seconds / engine:6.3f}x "
          f"({engine / seconds:.0f}x faster in SQL; engine timed on 100,000 cases and scaled)")
    flat = memory_big / memory_small
    print(f"peak memory: {memory_small:6.0f} MB for {small.stem.rsplit('-', 1)[1]} cases, {memory_big:6.0f} MB for "
          f"{count:,}: ratio {flat:.2f}x for 10x the cases (goal: flat, at most 1.5x) "
          + ("met" if flat <= 1.5 else "NOT MET"))
    if not args.skip_cluster:
        curve = scaling(file)
        base = curve[0][1]
        print("local Dask cluster, n worker processes × 1 DuckDB thread, n partitions (2 cores here):")
        for n, took in curve:
            print(f"  {n} workers: {took:8.2f} s   speed-up {base / took:5.2f}x")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
