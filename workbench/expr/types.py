"""What the condition language needs to know about an input, and nothing more: the language stands alone,
so any model that describes its inputs this way can use it (the workbench's own model does, unchanged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class InputSpec(Protocol):
    """An input a condition can name: `type` is 'boolean', 'number' or 'enum'. A number may say its range
    (`min`, `max`, `unit`); a choice lists its `values`. Read with getattr, so a boolean needs neither."""

    id: str
    type: str


def values_of(spec: InputSpec) -> Sequence[str]:
    return tuple(getattr(spec, "values", ()) or ())


def range_of(spec: InputSpec) -> tuple[float | None, float | None, str | None]:
    return getattr(spec, "min", None), getattr(spec, "max", None), getattr(spec, "unit", None)
