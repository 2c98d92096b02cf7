"""Writes the JSON Schemas of rulesets and vignettes into schemas/, for editors that validate YAML as it is typed.

Run `python -m workbench.content.schema` after changing model.py; a test fails while the checked-in files drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .model import Ruleset, VignetteFile, json_schema

SCHEMAS: dict[str, type[BaseModel]] = {"ruleset.schema.json": Ruleset, "vignettes.schema.json": VignetteFile}


def schema_texts() -> dict[str, str]:
    return {name: json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"
            for name, model in SCHEMAS.items()}


def main(folder: str = "schemas") -> int:
    out = Path(folder)
    out.mkdir(exist_ok=True)
    for name, text in schema_texts().items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
