"""Signed webhooks from an outbox (``WebhookDelivery``), delivered by Celery with retries and backoff.

A notification is a row written in the transaction of the change it announces; after commit a task is queued.
If the worker or the broker is down, the row waits and the beat task ``gateway.webhook_redeliver`` queues it
again. Each call carries ``Webhook-Id`` (the same on every retry, so the receiver can drop duplicates),
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


def webhook_send(delivery_id: str) -> str:
    """Try one delivery (locked, so two workers never send the same row at once). Returns the new status."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organisation__webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "busy"
        if delivery.status != WebhookStatus.PENDING:
            return str(delivery.status)
        endpoint = getattr(delivery.organisation, "webhook", None)
        body = json.dumps({"id": delivery.id, **delivery.payload}, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(timezone.now().timestamp()))
        error = ""
        if endpoint is None or not endpoint.active:
            error = "no active webhook endpoint"
        else:
            try:
                secret = secret_from_env(endpoint.secret_env, prefix=WEBHOOK_SECRET_PREFIX)
                target = outbound_target(endpoint.url)
            except OutboundRefused as exc:
                error = f"refused: {exc}"
            else:
                error = _post(target=target, body=body, secret=secret, delivery_id=delivery.id, timestamp=timestamp)
        delivery.attempts += 1
        if not error:
            delivery.status = WebhookStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        elif delivery.attempts >= settings.GATEWAY_WEBHOOK_MAX_ATTEMPTS:
            delivery.status = WebhookStatus.FAILED
            delivery.last_error = error[:300]
        else:
            delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
            delivery.last_error = error[:300]
        delivery.save(update_fields=["attempts", "status", "delivered_at", "last_error", "next_attempt_at"])
        return str(delivery.status)


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
    """Rows waiting whose next attempt is due (for the beat task)."""
    return list(
        WebhookDelivery.objects.filter(status=WebhookStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
