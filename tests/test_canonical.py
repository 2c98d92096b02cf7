"""The release hash is RFC 8785 (JCS) since hash version 2, so any language reproduces it with a standard
library; releases hashed the old way (version 1) stay verifiable, and the version cannot be switched
without breaking the signature."""

from __future__ import annotations

import pytest

from workbench.content.validate import validate_ruleset_file
from workbench.publish.canonical import canonical_bytes, sha256_hex
from workbench.publish.releases import ReleaseError, ruleset_part, unsigned_document, verify_document
from workbench.publish.signing import SignatureError

from .conftest import AUTHOR, REVIEWER, SHIPPED, keyring


def test_numbers_are_written_as_ecmascript_writes_them() -> None:
    """Python's json.dumps writes 120.0 and 1e+16; JCS writes 120 and 10000000000000000 (RFC 8785 3.2.2.3)."""
    data = {"a": 120.0, "b": 1e16, "c": 1e21, "d": 0.1, "e": -0.0, "f": 5e-7}
    assert canonical_bytes(data, 1) == b'{"a":120.0,"b":1e+16,"c":1e+21,"d":0.1,"e":-0.0,"f":5e-07}'
    assert canonical_bytes(data) == b'{"a":120,"b":10000000000000000,"c":1e+21,"d":0.1,"e":0,"f":5e-7}'


def test_keys_are_sorted_by_utf16_code_units_as_rfc_8785_says() -> None:
    """The RFC's own example (3.2.3): a code point past U+FFFF sorts before U+FB33 in UTF-16."""
    data = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O "
            "With Diaeresis"}
    order = [key for key in canonical_bytes(data).decode("utf-8")[1:-1].split('","')]
    keys = [part.split('":"')[0].lstrip('"') for part in order]
    assert keys == ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def released(signers: dict, version: int | None) -> dict:
    model = validate_ruleset_file(SHIPPED / "ruleset.yaml").model
    assert model is not None
    document = unsigned_document(model, {"author": AUTHOR, "approver": REVIEWER, "released_at": "2026-01-01T00:00:00Z",
                                         "reason": "test", "replay": {"total": 1, "passed": 1, "failed": 0},
                                         "vignettes": {}})
    if version is None:  # how releases were written before hash versions: no field, json.dumps
        del document["hash_version"]
        document["sha256"] = sha256_hex(ruleset_part(document), 1)
    return signers[REVIEWER].sign(document)


def test_new_releases_say_version_2_and_verify(signers: dict) -> None:
    document = released(signers, 2)
    assert document["hash_version"] == 2
    assert document["sha256"] == sha256_hex(ruleset_part(document))
    verify_document(document, keyring())


def test_a_release_made_before_hash_versions_still_verifies(signers: dict) -> None:
    document = released(signers, None)
    assert "hash_version" not in document
    model, signer = verify_document(document, keyring())
    assert signer.name == REVIEWER and model.id == "upper-back-pain"


def test_switching_the_hash_version_breaks_the_signature(signers: dict) -> None:
    document = released(signers, 2)
    with pytest.raises(SignatureError):
        verify_document({**document, "hash_version": 1}, keyring())


@pytest.mark.parametrize("version", [7, "2", True, None])
def test_an_unknown_hash_version_is_refused_in_words(signers: dict, version: object) -> None:
    document = released(signers, 2)
    document = signers[REVIEWER].sign({**document, "hash_version": version})
    with pytest.raises(ReleaseError) as refused:
        verify_document(document, keyring())
    assert refused.value.problems[0].code == "WB902" and "hash_version" in refused.value.problems[0].message
