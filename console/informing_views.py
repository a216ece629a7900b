"""The console's page on Veilig Thuis' duty to inform (``/privacy/informing/``; Wmo 2015 art. 5.3.1).

Veilig Thuis informs the person whose data it processes within four weeks, and may postpone that for as long as the
safety of others or the investigation requires. Each entry in which a Veilig Thuis organisation asked for or held
data is tracked over its notice row (:func:`gateway.notices.informing_items`): informed (cleared), deferred (with
the day), due, or overdue. Overdue ones come first. An organisation-scoped officer sees only their own
organisation's; the page shows request ids, pseudonyms and dates, nothing the search does not. Looking at it is a
read, so it writes a ``console_view`` entry first (fail closed), as the search does.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.ledger import AuditWriteError
from console.access import officer_required
from console.views import audit_unavailable, console_view_record, current_officer, in_english
from gateway.notices import OVERDUE, informing_items


@in_english
@officer_required
@require_GET
def informing(request: HttpRequest) -> HttpResponse:
    """Every tracked entry in the officer's scope, overdue first, with how many days over."""
    officer = current_officer(request)
    today = timezone.localdate()
    try:
        with transaction.atomic():
            items = informing_items(organisation=officer.organisation, today=today)
            console_view_record(
                username=request.user.get_username(),
                officer=officer,
                outcome="informing",
                filters={},
                results=len(items),
            )
    except AuditWriteError:
        return audit_unavailable(request)
    rows = [{"item": item, "days_over": (today - item.due_on).days if item.state == OVERDUE else 0} for item in items]
    return render(
        request,
        "console/informing.html",
        {"rows": rows, "overdue_count": sum(1 for item in items if item.state == OVERDUE), "today": today},
    )
