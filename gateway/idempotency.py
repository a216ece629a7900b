"""Idempotency keys (api.md, "Idempotency"): the same key with the same body answers the first response again
and writes no second audit entry; with another body it is ``409``. The first response is stored encrypted
(:mod:`gateway.crypto`) for ``GATEWAY_IDEMPOTENCY_HOURS``, in the transaction that made it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from audit.canonical import canonical_bytes
from gateway.callers import Caller
from gateway.crypto import IDEMPOTENCY, seal, unseal
from gateway.errors import IdempotencyConflict
from gateway.models import IdempotencyRecord


def body_digest(payload: Any) -> str:
    """SHA-256 of the body's canonical JSON (RFC 8785), so that member order and spacing do not matter."""
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """A response as the action made it (and as a retry with the same key gets it again)."""

    status_code: int
    body: dict[str, Any]


def idempotent_replay(*, caller: Caller, endpoint: str, key: str | None, digest: str) -> StoredResponse | None:
    """The stored first response for this key and body; :class:`IdempotencyConflict` when the key was used with
    another body."""
    if not key:
        return None
    cutoff = timezone.now() - dt.timedelta(hours=settings.GATEWAY_IDEMPOTENCY_HOURS)
    record = IdempotencyRecord.objects.filter(
        organisation=caller.organisation, endpoint=endpoint, key=key, created_at__gte=cutoff
    ).first()
    if record is None:
        return None
    if record.body_sha256 != digest:
        raise IdempotencyConflict("This Idempotency-Key was used with a different body.")
    try:
        body = unseal(IDEMPOTENCY, record.response_encrypted)
    except ValueError:
        raise IdempotencyConflict("The stored response cannot be read.") from None
    return StoredResponse(record.status_code, body)


def idempotency_store(
    *, caller: Caller, endpoint: str, key: str, digest: str, status_code: int, body: dict[str, Any]
) -> None:
    """Inside the action's transaction: keep the response under the key (and drop this key's expired record)."""
    cutoff = timezone.now() - dt.timedelta(hours=settings.GATEWAY_IDEMPOTENCY_HOURS)
    IdempotencyRecord.objects.filter(
        organisation=caller.organisation, endpoint=endpoint, key=key, created_at__lt=cutoff
    ).delete()
    IdempotencyRecord.objects.create(
        organisation=caller.organisation,
        endpoint=endpoint,
        key=key,
        body_sha256=digest,
        status_code=status_code,
        response_encrypted=seal(IDEMPOTENCY, body),
    )
