"""./run works on a data folder of its own, never in the project's source history: `.workbench/rulesets`,
seeded once from the shipped rulesets, with a git history of its own. Tested by running the real `run` script
in a stand-in checkout whose set-up and Streamlit are stubs, so only the script's own steps run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, V1, console_script
from workbench.files import read_versioned
from workbench.people import access
from workbench.problems import ProblemError
from workbench.publish.repository import Repository
from workbench.publish.sync import seed


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A project checkout as a clinician has it: the real `run` and `.gitignore`, the shipped rulesets, its own
    source history; `scripts/setup.sh` does nothing and `streamlit` says where it was pointed."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "run", project / "run")
    shutil.copy(ROOT / ".gitignore", project / ".gitignore")
    shutil.copytree(V1, project / "rulesets" / "upper-back-pain")
    stub = "#!/bin/sh\n"
    (project / "scripts" / "setup.sh").write_text(stub, encoding="utf-8")
    (project / ".venv" / "bin" / "streamlit").write_text(stub + 'echo "streamlit on $WORKBENCH_RULESETS: $*"\n',
                                                          encoding="utf-8")
    (project / ".venv" / "bin" / "workbench").symlink_to(console_script())
    for script in ("run", "scripts/setup.sh", ".venv/bin/streamlit"):
        (project / script).chmod(0o755)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "run", ".gitignore", "rulesets", "scripts")
    git(project, "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "commit", "-qm", "source")
    return project


def run(project: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_RULESETS"}
    done = subprocess.run(["./run", "--server.port", "8600"], cwd=project, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_run_seeds_a_data_folder_once_and_never_commits_into_the_project(checkout: Path) -> None:
    data = checkout / ".workbench" / "rulesets"
    source_head = git(checkout, "rev-parse", "HEAD")
    first = run(checkout)
    assert "copying the shipped rulesets into .workbench/rulesets, with a history of its own" in first
    assert f"streamlit on {data}: run streamlit_app.py" in first and "--server.port 8600" in first
    assert (data / ".git").is_dir() and Repository(data).log()[0].subject == "Start the history of these rulesets"

    access.save_ruleset(access.local_identity("Dr Ada"), data / "upper-back-pain" / "ruleset.yaml",
                        *edited(data / "upper-back-pain" / "ruleset.yaml"), "clearer title")
    second = run(checkout)
    assert "copying" not in second  # seeded once: the saved work is kept, not copied over
    assert "clearer title" in git(data, "log", "-1", "--format=%B")
    assert git(checkout, "rev-parse", "HEAD") == source_head and git(checkout, "status", "--porcelain") == ""


def edited(path: Path) -> tuple[str, str | None]:
    text, version = read_versioned(path)
    assert text is not None
    return text.replace("title: Upper back", "title: Clearer upper back", 1), version


def test_a_seed_interrupted_part_way_leaves_nothing_a_second_try_refuses(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "shipped"
    shutil.copytree(V1, source / "upper-back-pain")
    target = tmp_path / "data"

    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Repository, "init", classmethod(fail))
    with pytest.raises(OSError):
        seed(target, source)
    monkeypatch.undo()
    assert not target.exists()
    assert seed(target, source).head() is not None and (target / "upper-back-pain" / "ruleset.yaml").is_file()


def test_seeding_copies_rulesets_not_links_hidden_files_or_old_releases(tmp_path: Path) -> None:
    source = tmp_path / "shipped"
    shutil.copytree(V1, source / "upper-back-pain")
    (source / "upper-back-pain" / "vignettes" / "secret.yaml").symlink_to("/etc/passwd")
    (source / "upper-back-pain" / ".users.json").write_text("{}", encoding="utf-8")
    (source / "upper-back-pain" / "releases").mkdir()
    (source / "upper-back-pain" / "releases" / "9.0.0.json").write_text("{}", encoding="utf-8")
    target = seed(tmp_path / "data", source).root
    copied = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if ".git" not in p.parts)
    assert copied == sorted(["upper-back-pain", "upper-back-pain/ruleset.yaml", "upper-back-pain/vignettes",
                             *(f"upper-back-pain/vignettes/{p.name}" for p in (V1 / "vignettes").iterdir())])


def test_a_folder_with_files_and_no_history_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ProblemError) as refused:
        seed(tmp_path / "data", None)
    assert "is not empty and has no history" in refused.value.problems[0].message
    assert (tmp_path / "data" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_first_set_up_says_what_it_is_doing_and_how_far_it_has_got(tmp_path: Path) -> None:
    """Was: 133 s of silence after "first run takes a minute". The real setup.sh, with a stand-in for pip that
    fetches three packages slowly, reports each step and its progress while it works."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", project / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *"pip install -q --upgrade pip"*) exit 0 ;;\n'
        '  *"pip install -e"*) for p in a b c; do echo "Collecting $p"; sleep 0.3; done;'
        ' echo "Installing collected packages: a, b, c"; sleep 0.3 ;;\n'
        "esac\nexit 0\n", encoding="utf-8")
    (bin_dir / "python").chmod(0o755)
    fake_python3 = tmp_path / "python3"
    fake_python3.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n", encoding="utf-8")
    fake_python3.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake_python3), "SETUP_POLL_SECONDS": "0.2"}
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=project, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    said = done.stdout
    assert "setup: [1/2] installing the Python packages into .venv (the first time 1 to 3 minutes" in said
    assert re.search(r"setup:\s+\d+ s: [1-3] of about \d+ packages fetched", said), said
    assert "all fetched; installing them (the last step)" in said and re.search(r"done in \d+ s", said)
    assert "setup: [2/2] checking the programs it uses" in said
