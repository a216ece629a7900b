"""Periodic housekeeping of the partner edge."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from gateway.models import IdempotencyRecord


@shared_task(name="gateway.idempotency_purge")
def idempotency_purge() -> int:
    """Delete stored idempotent responses older than ``GATEWAY_IDEMPOTENCY_HOURS`` (they may hold released data)."""
    cutoff = timezone.now() - dt.timedelta(hours=settings.GATEWAY_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@shared_task(name="gateway.holder_expire")
def holder_expire() -> int:
    """Deny the categories whose holder did not decide in time."""
    from gateway.pending import holder_expire_due

    return holder_expire_due()


@shared_task(name="gateway.urgent_escalate")
def urgent_escalate() -> int:
    """Escalate the urgent pending items still open after GATEWAY_URGENT_ESCALATE_MINUTES."""
    from gateway.pending import urgent_escalate_due

    return urgent_escalate_due()


@shared_task(
    name="gateway.webhook_deliver",
    bind=True,
    max_retries=0,
    acks_late=True,
)
def webhook_deliver(self: object, delivery_id: str) -> str:
    """Send one webhook; a failure schedules the next attempt on the row (with backoff), which the beat task
    ``gateway.webhook_redeliver`` picks up, so retries survive a worker or broker restart. A worker that stops
    mid-send leaves a claim that runs out, after which the row is due again."""
    from gateway.webhooks import webhook_send

    return webhook_send(delivery_id)


@shared_task(name="gateway.webhook_redeliver")
def webhook_redeliver() -> int:
    """Queue every outbox row whose next attempt is due."""
    from gateway.webhooks import webhook_due

    due = webhook_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)


@shared_task(name="gateway.delivery_purge")
def delivery_purge() -> int:
    """Delete approved data the requester had its time to fetch."""
    from gateway.models import Delivery

    deleted, _ = Delivery.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
