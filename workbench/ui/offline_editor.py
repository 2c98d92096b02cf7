"""The code editor component (streamlit-code-editor), made to work offline: every theme it ships starts with
`@import url('https://fonts.googleapis.com/...')`, a request to Google from each clinician's browser (and a
failure without a network). A copy of its built frontend with those imports taken out is made once per
installed version, in the user's cache folder, and served in its place; the editor falls back to the browser's
monospace font. Nothing else in the component changes."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

_FONT_IMPORT = re.compile(rb"@import url\('https://fonts\.googleapis\.com/[^']*'\);?")


def code_editor() -> Callable[..., Any]:
    """`code_editor.code_editor`, drawn from the offline copy of its frontend."""
    import code_editor as package
    import streamlit.components.v1 as components

    if not getattr(package, "_workbench_offline", False):
        build = offline_build(Path(package.__file__).parent / "frontend" / "build",
                              f"code-editor-{version('streamlit-code-editor')}")
        package._component_func = components.declare_component("code_editor", path=str(build))
        package._workbench_offline = True
    return package.code_editor


def offline_build(source: Path, name: str) -> Path:
    """A copy of the frontend `source` without the font imports, made once (built beside, then renamed)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "clinical-rules-workbench"
    target = cache / name
    if (target / "index.html").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache))
    shutil.copytree(source, staging / "build", ignore=shutil.ignore_patterns("*.map"))
    for path in (staging / "build").rglob("*.js"):
        data = path.read_bytes()
        if b"fonts.googleapis.com" in data:
            path.write_bytes(_FONT_IMPORT.sub(b"", data))
    try:
        (staging / "build").rename(target)
    except OSError:  # another process made it first: theirs is the same
        pass
    shutil.rmtree(staging, ignore_errors=True)
    return target
