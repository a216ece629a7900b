"""Encryption at rest for what the gateway must hold for a short time (replayed responses, approved data)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# What each sealed value is for; a key derived for one purpose opens nothing sealed for another.
IDEMPOTENCY = b"idempotency v1"
DELIVERY = b"delivery v1"


def _fernet(purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"veilig-delen " + purpose).derive(
        settings.SECRET_KEY.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: bytes, value: Any) -> bytes:
    """Encrypt a JSON value with a key derived from ``SECRET_KEY`` for this purpose only."""
    return _fernet(purpose).encrypt(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def unseal(purpose: bytes, token: bytes) -> Any:
    """Decrypt what :func:`seal` made; raises ``ValueError`` when it cannot."""
    try:
        return json.loads(_fernet(purpose).decrypt(bytes(token)))
    except InvalidToken as exc:
        raise ValueError("sealed value cannot be read") from exc
