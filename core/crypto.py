"""Secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from the encryption secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
MASK = "*" * 8


class SecretDecryptError(RuntimeError):
    """Stored secrets cannot be read: the encryption secret changed or the data was altered."""


class SecretBox:
    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"incidentlake", info=b"secrets-v1"
        ).derive(secret.encode())
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + ct).decode()

    def decrypt(self, token: str, *, context: str = "") -> str:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise SecretDecryptError("unknown secret format")
        raw = base64.urlsafe_b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretDecryptError(
                "stored secret cannot be decrypted: INCIDENTLAKE_ENCRYPTION_SECRET differs from "
                "the one it was written with"
            ) from None

    def encrypt_json(self, values: dict[str, Any], *, context: str = "") -> str:
        return self.encrypt(json.dumps(values, separators=(",", ":")), context=context)

    def decrypt_json(self, token: str | None, *, context: str = "") -> dict[str, Any]:
        if not token:
            return {}
        return json.loads(self.decrypt(token, context=context))


def mask(value: str | None) -> str | None:
    """Keep the first 2 and last 2 characters; short values are masked whole."""
    if value is None or value == "":
        return value
    if len(value) < 12:
        return MASK
    return f"{value[:2]}{MASK}{value[-2:]}"


def is_masked(value: str | None) -> bool:
    return value is not None and MASK in value


def hash_api_key(key: str) -> str:
    """Keys are random (≥ 32 bytes), so a plain SHA-256 is enough; no salt needed."""
    return hashlib.sha256(key.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
