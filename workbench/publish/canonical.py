"""The canonical JSON of a ruleset and its sha256: what releases store, exports publish and apps verify.

Canonical means: the pydantic model dumped with aliases (`else`), no None fields, keys sorted,
no insignificant white space, UTF-8. The same content always gives the same bytes and hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..content.model import Ruleset


def ruleset_data(ruleset: Ruleset) -> dict[str, Any]:
    return ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)


def canonical_bytes(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(canonical_bytes(data)).hexdigest()


def ruleset_sha256(ruleset: Ruleset) -> str:
    return sha256_hex(ruleset_data(ruleset))
