from typing import Any

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Family portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Listen to the partner edge (:mod:`gateway.signals`): each event queues an e-mail, or the sweep that sends
        it, once it commits."""
        from gateway import signals

        signals.entry_recorded.connect(_entry_recorded, dispatch_uid="portal.entry_recorded")
        signals.notice_cleared.connect(_notice_cleared, dispatch_uid="portal.notice_cleared")
        signals.consent_recorded.connect(_consent_recorded, dispatch_uid="portal.consent_recorded")


def _entry_recorded(sender: Any, request_id: str, **kwargs: Any) -> None:
    """The entry is flagged for the news sweep in its own statement; this only wakes the sweep once it commits."""
    from portal.notifications import news_kick_after_commit

    news_kick_after_commit()


def _notice_cleared(sender: Any, request_id: str, **kwargs: Any) -> None:
    from portal.notifications import notice_news_after_commit

    notice_news_after_commit(request_id)


def _consent_recorded(sender: Any, consent_id: int, **kwargs: Any) -> None:
    from portal.consent_notifications import notify_consent_recorded_later

    notify_consent_recorded_later(consent_id)
