"""Nothing a user saved is lost: atomic writes survive a kill mid-save, stale saves are refused, and a
published file is never replaced."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.files import SaveConflict, atomic_write, create_exclusive, read_versioned, save_text, version_of

SIZE = 4 * 1024 * 1024  # large enough that a write takes a while, so the kill lands inside one


def test_atomic_write_replaces_whole_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "ruleset.yaml"
    atomic_write(target, b"old")
    target.chmod(0o640)
    atomic_write(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["ruleset.yaml"]


def test_new_files_are_readable_by_other_users(tmp_path: Path) -> None:
    """A release must be readable by an API server running as another user; mkstemp alone gives 0600."""
    target = tmp_path / "1.0.0.json"
    create_exclusive(target, b"{}")
    assert target.stat().st_mode & 0o044 == 0o044


def test_create_exclusive_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "releases" / "1.0.0.json"
    create_exclusive(target, b"first")
    with pytest.raises(FileExistsError):
        create_exclusive(target, b"second")
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["1.0.0.json"]  # no temporary file left behind


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from workbench.files import atomic_write
    target, size = Path(sys.argv[1]), int(sys.argv[2])
    contents = [b"A" * size, b"B" * size]
    atomic_write(target, contents[0])
    print("ready", flush=True)
    n = 1
    while True:
        atomic_write(target, contents[n % 2])
        n += 1
""")


@pytest.mark.parametrize("round_", range(5))
def test_a_save_killed_midway_leaves_the_old_or_the_new_file_never_a_torn_one(tmp_path: Path, round_: int) -> None:
    target = tmp_path / "ruleset.yaml"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), str(SIZE)], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        # Let it go through a few saves, then kill it somewhere inside one (a different moment each round).
        random.seed(round_)
        try:
            writer.wait(timeout=random.uniform(0.05, 0.4))
        except subprocess.TimeoutExpired:
            pass
        assert writer.poll() is None, "the writer stopped on its own"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    data = target.read_bytes()
    assert data in (b"A" * SIZE, b"B" * SIZE), f"torn file: {len(data)} bytes, starts {data[:1]!r} ends {data[-1:]!r}"


def _save_when_released(path: str, text: str, expected: str | None, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        save_text(Path(path), text, expected)
        results.put(("saved", text))  # type: ignore[attr-defined]
    except SaveConflict as exc:
        results.put(("conflict", exc.current))  # type: ignore[attr-defined]


@pytest.mark.parametrize("round_", range(3))
def test_two_writers_from_the_same_version_one_wins_the_other_gets_a_conflict(tmp_path: Path, round_: int) -> None:
    target = tmp_path / "ruleset.yaml"
    save_text(target, "version: 1\n", None)
    _, version = read_versioned(target)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    writers = [context.Process(target=_save_when_released, args=(str(target), text, version, barrier, results))
               for text in ("alice's edit\n", "bob's edit\n")]
    for writer in writers:
        writer.start()
    outcomes = sorted(results.get(timeout=30) for _ in writers)
    for writer in writers:
        writer.join(timeout=30)
    kinds = [kind for kind, _ in outcomes]
    assert kinds == ["conflict", "saved"]
    winner = outcomes[1][1]
    assert target.read_text() == winner
    assert outcomes[0][1] == winner  # the loser is shown the winner's text, so nothing is lost


def test_save_text_refuses_a_stale_version_and_keeps_the_newer_text(tmp_path: Path) -> None:
    target = tmp_path / "ruleset.yaml"
    first = save_text(target, "one\n", None)
    second = save_text(target, "two\n", first)
    assert second == version_of(b"two\n")
    with pytest.raises(SaveConflict) as refused:
        save_text(target, "three\n", first)
    assert refused.value.current == "two\n"
    assert target.read_text() == "two\n"
    with pytest.raises(SaveConflict):
        save_text(target, "new file\n", None)  # None means 'must not exist yet'
