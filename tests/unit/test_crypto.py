from __future__ import annotations

import pytest

from core.crypto import SecretBox, SecretDecryptError, is_masked, mask


def test_round_trip_and_nonce() -> None:
    box = SecretBox("k1")
    a, b = box.encrypt("hello", context="c"), box.encrypt("hello", context="c")
    assert a != b and "hello" not in a
    assert box.decrypt(a, context="c") == "hello"


def test_wrong_key_or_context_or_tamper_is_refused() -> None:
    token = SecretBox("k1").encrypt("hello", context="c")
    with pytest.raises(SecretDecryptError):
        SecretBox("k2").decrypt(token, context="c")
    with pytest.raises(SecretDecryptError):
        SecretBox("k1").decrypt(token, context="other")
    head, body = token.split(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SecretDecryptError):
        SecretBox("k1").decrypt(f"{head}:{flipped}", context="c")


def test_mask() -> None:
    assert mask("u+abcdefghijklmnXY") == "u+********XY"
    assert mask("short") == "********"
    assert mask(None) is None
    assert is_masked(mask("u+abcdefghijklmnXY"))
