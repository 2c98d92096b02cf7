"""The checked-in JSON Schemas are exactly what the models generate: run `python -m workbench.content.schema`."""

from __future__ import annotations

import json

from tests.conftest import ROOT, SHIPPED
from workbench.content.schema import schema_texts


def test_schemas_have_not_drifted() -> None:
    for name, text in schema_texts().items():
        assert (ROOT / "schemas" / name).read_text(encoding="utf-8") == text, f"{name} drifted: regenerate it"


def test_shipped_files_point_at_the_schemas() -> None:
    first = (SHIPPED / "ruleset.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/ruleset.schema.json"
    schema = json.loads((ROOT / "schemas" / "ruleset.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False and "nodes" in schema["required"]
