"""The console's verification pages (audit.md, "Verification": "The privacy console shows the last result and can
start a run"): the last result, the history of signed checkpoints, a button that queues a full run on a Celery
worker, and a status page that follows the run's progress (it reloads itself; no script needed).

A run is a :class:`audit.models.VerificationRun` row first and a task second: the row is written in the request's
transaction and the task is queued when that commits, so a run is never queued for a row that does not exist,
and a run whose message was lost stays visibly "queued".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditHead, Checkpoint, VerificationRun, VerificationStatus
from audit.tasks import verification_run
from console.access import officer_required
from console.context import latest_verdict
from console.views import in_english
from gateway.databases import read_on_standby

#: Checkpoints listed on the page, newest first (one is signed every few seconds while the trail grows).
CHECKPOINT_ROWS = 50
#: Runs listed on the page, newest first.
RUN_ROWS = 10
#: A queued or running run older than this no longer stops a new one from being started (its worker is gone).
RUN_STALE_AFTER = dt.timedelta(hours=1)
#: Seconds between reloads of the status page while a run is queued or running.
REFRESH_SECONDS = 2
ACTIVE = (VerificationStatus.QUEUED, VerificationStatus.RUNNING)


def verification_run_start(*, started_by: str) -> VerificationRun:
    """Queue a full verification, or return the run already queued or running (one at a time is enough)."""
    with transaction.atomic(durable=True):
        active = (
            VerificationRun.objects.filter(status__in=ACTIVE, queued_at__gte=timezone.now() - RUN_STALE_AFTER)
            .order_by("-queued_at")
            .first()
        )
        if active is not None:
            return active
        run = VerificationRun.objects.create(started_by=started_by)
        transaction.on_commit(lambda: verification_run.delay(run.pk))
    return run


def run_progress(run: VerificationRun) -> dict[str, Any]:
    """What the status page shows about a run: whether it is still going, and how far it got."""
    total = max(run.entries_total, 0)
    checked = min(run.entries_checked, total) if total else run.entries_checked
    return {
        "active": run.status in ACTIVE,
        "checked": checked,
        "total": total,
        "percent": int(100 * checked / total) if total else (100 if run.status == VerificationStatus.INTACT else 0),
    }


def history(db: str) -> dict[str, Any]:
    """The runs, the checkpoints and the trail's size as ``db`` has them."""
    runs = list(VerificationRun.objects.using(db).order_by("-queued_at", "-pk")[:RUN_ROWS])
    return {
        "current": next((run for run in runs if run.status in ACTIVE), None),
        "runs": runs,
        "checkpoints": list(Checkpoint.objects.using(db).order_by("-tree_size")[:CHECKPOINT_ROWS]),
        "checkpoint_count": Checkpoint.objects.using(db).count(),
        "trail_size": AuditHead.objects.using(db).filter(pk=1).values_list("size", flat=True).first() or 0,
    }


@in_english
@officer_required
@require_GET
def verification(request: HttpRequest) -> HttpResponse:
    """The last result (from the primary, as the alert on every page), and the history before it, which may come
    from the standby (gateway/databases.py): it writes no entry and decides nothing."""
    context = {
        "verdict": latest_verdict(),
        **read_on_standby(history),
        "checkpoint_rows": CHECKPOINT_ROWS,
    }
    return render(request, "console/verification.html", context)


@in_english
@officer_required
@require_POST
def verification_start(request: HttpRequest) -> HttpResponse:
    """Start a run (a Celery task) and follow it on its status page."""
    run = verification_run_start(started_by=request.user.get_username())
    return redirect("console:verification-run", run_id=run.pk)


@in_english
@officer_required
@require_GET
def verification_run_status(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run: its progress while it goes (the page reloads itself), its verdict when done. From the standby when
    it has the run already (a run just started is read from the primary)."""
    run = read_on_standby(lambda db: VerificationRun.objects.using(db).filter(pk=run_id).first())
    if run is None:
        run = get_object_or_404(VerificationRun, pk=run_id)
    progress = run_progress(run)
    response = render(request, "console/verification_run.html", {"run": run, "refresh": REFRESH_SECONDS, **progress})
    if progress["active"]:
        response["Refresh"] = str(REFRESH_SECONDS)
    return response
