"""The impact analysis on a Dask cluster (`dask.distributed`): each worker runs the same DuckDB SQL on its
partitions of the cases and the client adds up the partials, which are small (counts, and the rows that became
less urgent). Workers read the case files themselves, so the files must be at the same path on every worker (a
shared disk or object store mount); nothing but the plan and the partials travels over the network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..problems import Problem, ProblemError
from .impact import Partial, Partition, Plan, run_partition


def run_on_cluster(plan: Plan, partitions: Sequence[Partition], scheduler: str | Any,
                   threads: int | None = None) -> Partial:
    """Every partition run on the cluster at `scheduler` (an address such as tcp://10.0.0.5:8786, or a
    `distributed.Client`), the partials added up as they arrive. `threads`: DuckDB threads per partition (default:
    every core of the worker's machine)."""
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, timeout="10s")
    try:
        shared = client.scatter(plan, broadcast=True)
        futures = [client.submit(_run, shared, part, threads, pure=False) for part in partitions]
        total = Partial()
        for future in as_completed(futures):
            done = future.result()
            if isinstance(done, list):  # problems (a file a worker cannot read), as data: see _run
                raise ProblemError(done)
            total = total + done
        return total
    finally:
        if client is not scheduler:
            client.close()


def _run(plan: Plan, partition: Partition, threads: int | None) -> Partial | list[Problem]:
    """A partition on a worker; its problems come back as a list (a ProblemError would not keep them on its way
    back: exceptions travel as their constructor's arguments)."""
    try:
        return run_partition(plan, partition, threads)
    except ProblemError as exc:
        return exc.problems
