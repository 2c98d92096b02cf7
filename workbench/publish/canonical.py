"""The canonical JSON of a ruleset and its sha256: what releases store, exports publish and apps verify.

The ruleset is the pydantic model dumped with aliases (`else`) and no None fields. Its canonical bytes are
RFC 8785 (JSON Canonicalization Scheme) since hash version 2, so an app in any language reproduces the
sha256 with an off-the-shelf JCS library: numbers as ECMAScript writes them (`120`, not `120.0`), keys
sorted by UTF-16 code units. Hash version 1, Python's `json.dumps` with sorted keys, is how releases made
before were hashed; they say no version (or 1) and stay verifiable.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from ..content.model import Ruleset

HASH_VERSION = 2
"""The version new releases are hashed with, written in them as `hash_version`."""
HASH_VERSIONS = {1: "Python json.dumps, keys sorted (releases before 0.6)", 2: "RFC 8785 (JCS)"}


def ruleset_data(ruleset: Ruleset) -> dict[str, Any]:
    return ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)


def canonical_bytes(data: Any, version: int = HASH_VERSION) -> bytes:
    if version == 1:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    return rfc8785.dumps(data)


def sha256_hex(data: Any, version: int = HASH_VERSION) -> str:
    return hashlib.sha256(canonical_bytes(data, version)).hexdigest()


def ruleset_sha256(ruleset: Ruleset, version: int = HASH_VERSION) -> str:
    return sha256_hex(ruleset_data(ruleset), version)
