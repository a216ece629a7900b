"""Signed webhooks from an outbox (``WebhookDelivery``), delivered by Celery with retries and backoff.

A notification is a row written in the transaction of the change it announces; after commit a task is queued.
If the worker or the broker is down, the row waits and the beat task ``gateway.webhook_redeliver`` queues it
again. A worker claims a row for one attempt (``claimed_until``, a lease) in a short transaction, posts with no
transaction open, and records the outcome in a second one (:func:`webhook_send`): no lock is held across the
network call. Each call carries ``Webhook-Id`` (the same on every retry, so the receiver can drop duplicates),
``Webhook-Timestamp`` and ``Webhook-Signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` with
the organisation's secret. The body says what changed, never any data about the person. The secret comes only from
a ``VD_WEBHOOK_SECRET_`` variable and the call goes only to a checked address (:mod:`gateway.outbound`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from ulid import ULID

from consent.models import Organisation
from gateway.models import WebhookDelivery, WebhookEndpoint, WebhookStatus
from gateway.outbound import WEBHOOK_SECRET_PREFIX, OutboundRefused, Target, outbound_target, secret_from_env

logger = logging.getLogger(__name__)


def webhook_enqueue(*, organisation: Organisation, event: str, payload: dict[str, Any]) -> WebhookDelivery | None:
    """In the caller's transaction: an outbox row for the organisation's webhook (if it has one), sent after
    commit."""
    if not WebhookEndpoint.objects.filter(organisation=organisation, active=True).exists():
        return None
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        id=f"whk_{ULID()}",
        organisation=organisation,
        event=event,
        payload={"event": event, "occurred_at": now.isoformat().replace("+00:00", "Z"), **payload},
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: _queue(delivery.id))
    return delivery


def _queue(delivery_id: str) -> None:
    from gateway.tasks import webhook_deliver

    try:
        webhook_deliver.delay(delivery_id)
    except Exception:  # the broker is down: the row stays pending and the beat task sends it later
        logger.warning("could not queue webhook %s; it will be re-sent", delivery_id)


def signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


def _lease() -> dt.timedelta:
    """How long a claim lasts: one POST (connect, write and read may each take the timeout) with room to spare."""
    return dt.timedelta(seconds=30 + 4 * float(settings.GATEWAY_WEBHOOK_TIMEOUT))


def _unclaimed(now: dt.datetime) -> Q:
    """Rows no worker is sending: never claimed, or the claim ran out (its worker stopped)."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def webhook_send(delivery_id: str) -> str:
    """Try one delivery; returns the new status (``busy`` when another worker is sending it).

    No lock or transaction is open during the POST. (1) A short transaction claims the row: one conditional
    UPDATE counts the attempt and sets ``claimed_until``, so a second worker finds nothing to claim, and a
    crashed worker's claim runs out after :func:`_lease` (the beat task then queues the row again). (2) The signed
    POST, outside any transaction. (3) A second short transaction records the outcome: a failure only while the
    claim is still ours (the attempt number is unchanged), a success always (the receiver has it; duplicates
    after a lost claim carry the same ``Webhook-Id``)."""
    claimed = _claim(delivery_id)
    if isinstance(claimed, str):
        return claimed
    delivery, attempt = claimed
    error = _attempt(delivery)
    return _record(delivery_id, attempt, error)


def _claim(delivery_id: str) -> tuple[WebhookDelivery, int] | str:
    """The row and our attempt number, or the status to report when there is nothing for us to send."""
    now = timezone.now()
    rows = WebhookDelivery.objects.filter(_unclaimed(now), pk=delivery_id, status=WebhookStatus.PENDING)
    maximum = settings.GATEWAY_WEBHOOK_MAX_ATTEMPTS
    with transaction.atomic(durable=True):
        if not rows.filter(attempts__lt=maximum).update(attempts=F("attempts") + 1, claimed_until=now + _lease()):
            # the last allowed attempt was claimed but its worker stopped before recording an outcome
            rows.filter(attempts__gte=maximum).update(
                status=WebhookStatus.FAILED, claimed_until=None, last_error="no outcome recorded for the last attempt"
            )
            status = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
            return "busy" if status in (None, WebhookStatus.PENDING) else str(status)
        delivery = WebhookDelivery.objects.select_related("organisation__webhook").get(pk=delivery_id)
    return delivery, delivery.attempts


def _attempt(delivery: WebhookDelivery) -> str:
    """Sign and POST the notification; the error ("" when the receiver took it). Runs outside any transaction."""
    endpoint = getattr(delivery.organisation, "webhook", None)
    if endpoint is None or not endpoint.active:
        return "no active webhook endpoint"
    try:
        secret = secret_from_env(endpoint.secret_env, prefix=WEBHOOK_SECRET_PREFIX)
        target = outbound_target(endpoint.url)
    except OutboundRefused as exc:
        return f"refused: {exc}"
    body = json.dumps({"id": delivery.id, **delivery.payload}, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(timezone.now().timestamp()))
    return _post(target=target, body=body, secret=secret, delivery_id=delivery.id, timestamp=timestamp)


def _record(delivery_id: str, attempt: int, error: str) -> str:
    """Store the outcome of attempt number ``attempt`` and release the claim; the row's status afterwards."""
    now = timezone.now()
    rows = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookStatus.PENDING)
    with transaction.atomic(durable=True):
        if not error:
            rows.update(status=WebhookStatus.DELIVERED, delivered_at=now, last_error="", claimed_until=None)
        else:
            outcome: dict[str, Any] = {"last_error": error[:300], "claimed_until": None}
            if attempt >= settings.GATEWAY_WEBHOOK_MAX_ATTEMPTS:
                outcome["status"] = WebhookStatus.FAILED
            else:
                outcome["next_attempt_at"] = now + _backoff(attempt)
            if not rows.filter(attempts=attempt).update(**outcome):
                logger.warning(
                    "webhook %s: attempt %d outlived its claim; its failure is not recorded", delivery_id, attempt
                )
        status = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
    return str(status) if status is not None else "busy"


def _post(*, target: Target, body: bytes, secret: str, delivery_id: str, timestamp: str) -> str:
    """One signed POST to the checked address; returns the error ("" when the receiver took it)."""
    try:
        with httpx.Client(timeout=settings.GATEWAY_WEBHOOK_TIMEOUT, follow_redirects=False) as client:
            response = client.post(
                target.url,
                content=body,
                headers={
                    **target.headers,
                    "Content-Type": "application/json",
                    "Webhook-Id": delivery_id,
                    "Webhook-Timestamp": timestamp,
                    "Webhook-Signature": signature(secret, delivery_id, timestamp, body),
                },
                extensions=target.extensions,
            )
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def webhook_due() -> list[str]:
    """Rows waiting whose next attempt is due and that no worker is sending (for the beat task)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(_unclaimed(now), status=WebhookStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
