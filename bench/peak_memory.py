"""Peak memory of a benchmark's child process, counted from the child's own start.

Linux carries a process's peak resident memory across the fork and exec that start it, so `ru_maxrss` in a child
started by a parent of 1 GB says 1 GB whatever the child used (bench_impact reported 1,088 MB for a run that used
189 MB)."""

from __future__ import annotations

import resource
from pathlib import Path


def reset_peak_memory() -> None:
    """Writing 5 to clear_refs starts the peak again from what is resident now (Linux 4.0 and later)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """The peak resident memory since reset_peak_memory (VmHWM), or the whole life's peak where /proc is missing."""
    try:
        line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
