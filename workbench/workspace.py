"""The workspace: the one folder that belongs to this installation rather than to a ruleset.

It holds what `./run` works on and what the deployment controls: `rulesets/` (the rulesets folder ./run opens),
`users.json` (accounts, with its `users.json.required` marker), `keys/` (each approver's private signing key),
`keyring.json` (the public keys releases are checked against), `drafts/` (each person's unsaved editor text),
`cases/` (past cases, for what a new version would change) and `served.json` (the highest release `serve` has
served of each ruleset, so it never goes back). It is `$WORKBENCH_HOME` when set; otherwise `.workbench/` in the
project folder when the workbench runs from its source (as ./run and ./test do), or `~/.workbench` for an installed
package. Never the package's own folder: a reinstall must not take accounts and keys with it. Each can still be
named on its own ($WORKBENCH_USERS, $WORKBENCH_KEYS, $WORKBENCH_KEYRING, $WORKBENCH_DRAFTS, $WORKBENCH_CASES,
--users, --keyring).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "WORKBENCH_HOME"


def home() -> Path:
    """The workspace folder (see the module docstring); not created here."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    project = Path(__file__).resolve().parents[1]
    if (project / "pyproject.toml").is_file() and (project / "workbench" / "__init__.py").is_file():
        return project / ".workbench"
    return Path.home() / ".workbench"
