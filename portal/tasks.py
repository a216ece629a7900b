"""Celery tasks of the family portal."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="portal.news_sweep")
def news_sweep_task() -> int:
    """The "there is news" e-mails of the flagged entries: from the beat (``CELERY_BEAT_SCHEDULE["portal-news-sweep"]``)
    and from a web process's kick after a commit (:func:`portal.notifications.news_kick`)."""
    from portal.notifications import news_sweep

    return news_sweep()


@shared_task(name="portal.notify_new_entry")
def notify_new_entry_task(request_id: str) -> None:
    """Queued only before the news outbox: a message still in the queue at the upgrade flags its entry for the sweep,
    so that its e-mail is not lost. Nothing queues it any more; it can go in a later release."""
    from gateway.models import InformationRequest

    InformationRequest.objects.filter(pk=request_id).update(news_pending=True)


@shared_task(name="portal.notice_news_release", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notice_news_release_task(request_id: str) -> int:
    """The held "there is news" e-mail about an entry that was just cleared (Wmo 2015 art. 5.3.1)."""
    from portal.notifications import notice_news_release

    return notice_news_release(request_id)


@shared_task(name="portal.notice_news_due")
def notice_news_due_task() -> int:
    """Beat: the held e-mails whose entry can now be seen (``CELERY_BEAT_SCHEDULE["portal-notice-news"]``)."""
    from portal.notifications import notice_news_due

    return notice_news_due()


@shared_task(name="portal.notify_consent_recorded", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_consent_recorded_task(consent_id: int) -> int:
    from portal.consent_notifications import notify_consent_recorded

    return notify_consent_recorded(consent_id)
