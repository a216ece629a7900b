"""Periodic work on consents: marking those past their period as expired (Celery beat, hourly)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from consent.consents import consent_expire_due


@shared_task(name="consent.consent_expire")
def consent_expire() -> int:
    """Expire every consent whose ``valid_until`` has passed, one audit entry each; returns how many."""
    return consent_expire_due(today=timezone.localdate())
