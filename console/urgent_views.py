"""The console's urgent lane (``/privacy/urgent/``): the holders' open urgent items (pending decisions of emergency
requests, :mod:`gateway.pending`), escalated ones first, so that an officer sees an emergency that waits.

Codes and ages only: which request, which holder, which category, how long open, whether escalated, when it
expires; no person. An organisation-scoped officer sees the items its organisation asked or holds. Looking is a
``console_view`` entry written before anything is shown (fail closed), as the other console pages do.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.ledger import AuditWriteError
from audit.models import OfficerProfile
from console.access import officer_required
from console.views import console_view_record, current_officer, in_english
from gateway.choices import PendingStatus
from gateway.models import PendingItem

MAX_ROWS = 500


def urgent_in_scope(officer: OfficerProfile) -> QuerySet[PendingItem]:
    """The open urgent items this officer sees: all, or those its organisation asked or holds."""
    items = PendingItem.objects.filter(
        urgent=True, status=PendingStatus.PENDING, expires_at__gt=timezone.now()
    ).select_related("request__organisation", "holder")
    if officer.organisation_id is not None:
        items = items.filter(Q(holder_id=officer.organisation_id) | Q(request__organisation_id=officer.organisation_id))
    return items.order_by("escalated_at", "created_at", "id")


@in_english
@officer_required
@require_GET
def urgent(request: HttpRequest) -> HttpResponse:
    """Open urgent items, escalated ones first, with their age and expiry."""
    officer = current_officer(request)
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            items = list(urgent_in_scope(officer)[:MAX_ROWS])
            console_view_record(
                username=request.user.get_username(),
                officer=officer,
                outcome="urgent",
                filters={},
                results=len(items),
            )
    except AuditWriteError:
        return render(request, "console/urgent.html", {"unavailable": True}, status=503)
    rows: list[dict[str, Any]] = [
        {
            "item": item,
            "open_minutes": int((now - item.created_at).total_seconds() // 60),
            "left_minutes": max(int((item.expires_at - now).total_seconds() // 60), 0),
        }
        for item in items
    ]
    rows.sort(key=lambda row: (row["item"].escalated_at is None, row["item"].created_at))
    return render(
        request,
        "console/urgent.html",
        {"rows": rows, "escalated_count": sum(1 for row in rows if row["item"].escalated_at)},
    )
