"""The colour of each disposition, warm for the most urgent to cool for the least: one scale for the flow
picture, the flow canvas, the legend and the Try-it card, so they always agree."""

from __future__ import annotations

import colorsys

from ..content.model import Ruleset

# Urgency ramp, most urgent first: warm red -> orange -> yellow -> green -> blue; light enough for black text.
_RAMP = ("#f26b5b", "#f8a15a", "#f7d36b", "#a9d98b", "#8fc3e8")


def disposition_colours(model: Ruleset) -> dict[str, str]:
    """Fill colour of each disposition, warm for the most urgent (listed first) to cool for the least.

    Shared with the UI so that the picture, the legend and the simulator agree."""
    count = len(model.dispositions)
    return {d.id: _ramp(i / (count - 1) if count > 1 else 0.0) for i, d in enumerate(model.dispositions)}


def _ramp(t: float) -> str:
    """A point of the ramp, mixed in hue (HLS) so that between yellow and green is lime, not olive."""
    stops = [colorsys.rgb_to_hls(*(c / 255 for c in _rgb(colour))) for colour in _RAMP]
    position = t * (len(stops) - 1)
    i = min(int(position), len(stops) - 2)
    h, lightness, s = _mix(stops[i], stops[i + 1], position - i)
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return _hex((r * 255, g * 255, b * 255))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _mix(a: tuple[float, ...], b: tuple[float, ...], t: float) -> tuple[float, float, float]:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def faded(colour: str) -> str:
    """The colour mixed 70% with white: a node off the path shown."""
    return _hex(_mix(_rgb(colour), (255, 255, 255), 0.7))
