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
