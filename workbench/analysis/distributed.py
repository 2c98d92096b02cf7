"""Work fanned out over a Dask cluster (`dask.distributed`): the impact analysis sends each partition of the
cases to a worker, which runs the same DuckDB SQL on it and sends back a small partial (counts, and the rows that
became less urgent); the client adds them up as they arrive. Workers read the case files themselves, so the
files must be at the same path on every worker (a shared disk or object-store mount); only the plan and the
partials travel over the network."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..problems import Problem, ProblemError


def fan_out(work: Callable[..., Any], shared: Any, items: Sequence[Any], scheduler: str | Any,
            *extra: Any) -> Iterator[Any]:
    """`work(shared, item, *extra)` for every item on the cluster at `scheduler` (an address such as
    tcp://10.0.0.5:8786, or a `distributed.Client`), each result as it arrives; `shared` is sent to every
    worker once. A ProblemError raised on a worker is raised here with its problems."""
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, timeout="10s")
    try:
        sent = client.scatter(shared, broadcast=True)
        futures = [client.submit(_guarded, work, sent, item, *extra, pure=False) for item in items]
        for future in as_completed(futures):
            done = future.result()
            if isinstance(done, _Refused):
                raise ProblemError(done.problems)
            yield done
    finally:
        if client is not scheduler:
            client.close()


class _Refused:
    """Problems on their way back from a worker (a ProblemError would lose them: exceptions travel as their
    constructor's arguments)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


def _guarded(work: Callable[..., Any], *args: Any) -> Any:
    try:
        return work(*args)
    except ProblemError as exc:
        return _Refused(exc.problems)
