"""Template context of the privacy console: the alert that the audit trail failed its last verification, and the
alarm that the trail lacks the last published checkpoint.

audit.md ("Verification"): the console shows the last result of ``audit_verify``. A failed result is not
something to find on one page only: every console page says so until a later run finds the trail intact. The same
holds for a trail that is shorter than, or differs from, the last checkpoint given out (audit/published.py): every
page says so while it lasts, and the gateway releases nothing meanwhile.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from audit.models import VerificationRun, VerificationStatus
from audit.published import trail_alarm as published_trail_alarm

CONSOLE_PREFIX = "/privacy/"


def latest_verdict() -> VerificationRun | None:
    """The most recent run that reached a verdict (intact or failed); runs that could not run say nothing."""
    return (
        VerificationRun.objects.filter(status__in=[VerificationStatus.INTACT, VerificationStatus.FAILED])
        .order_by("-finished_at", "-pk")
        .first()
    )


def verification_alert_text(run: VerificationRun) -> str:
    """The alert for a failed run: when, and the first failing entry or checkpoint."""
    finished = timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M") if run.finished_at else "recently"
    return (
        f"The audit trail failed verification (run {run.pk}, {finished}): {run.failure or 'no reason recorded'}. "
        "Treat the trail as possibly altered until this is explained; see Verification."
    )


def verification_alert(request: HttpRequest) -> dict[str, str]:
    """``verification_alert`` on the console's pages for a signed-in officer, when the latest verdict is a failure.

    Only under ``/privacy/`` and only once :func:`console.access.officer_required` has let the officer in:
    the login page does not tell a stranger about the trail's state, and other apps pay no query for it.
    """
    if not request.path.startswith(CONSOLE_PREFIX) or getattr(request, "officer", None) is None:
        return {}
    run = latest_verdict()
    if run is None or run.status != VerificationStatus.FAILED:
        return {}
    return {"verification_alert": verification_alert_text(run)}


def trail_alarm(request: HttpRequest) -> dict[str, str]:
    """``trail_alarm`` on the console's pages for a signed-in officer while the trail does not hold the last published
    checkpoint (kept per process, read again every ``GATEWAY_TRAIL_CHECK_SECONDS``; no query in between)."""
    if not request.path.startswith(CONSOLE_PREFIX) or getattr(request, "officer", None) is None:
        return {}
    state = published_trail_alarm()
    if state is None:
        return {}
    return {
        "trail_alarm": (
            f"The audit trail does not hold the last published checkpoint: {state.reason}. The gateway signs no "
            'checkpoint and releases nothing until the lost entries are back (see docs/operations.md, "Failover").'
        )
    }
