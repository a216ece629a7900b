"""The console's oversight page (charts of requests and outcomes, signals of possible misuse) and its signed exports.

Thin views: the numbers come from :mod:`console.oversight`, the charts from :mod:`console.charts`, the
exports from :mod:`console.exports`; all of them over the officer's part of the trail. Looking at the
oversight page is a read of the audit log, so it writes a ``console_view`` entry first (fail closed), as the
search does.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.choices import AuditKind
from audit.ledger import AuditWriteError
from audit.models import OfficerProfile
from console.access import officer_required
from console.charts import OUTCOME_LOOK, stacked_bar_chart
from console.exports import EXPORT_ROW_CAP, FORMATS, ExportError, console_export
from console.filters import EntryFilterForm
from console.oversight import (
    CONSENT_BURST_COUNT,
    CONSENT_BURST_WINDOW,
    DENIAL_BURST_COUNT,
    DENIAL_BURST_WINDOW,
    EMERGENCY_CLUSTER_COUNT,
    EMERGENCY_CLUSTER_WINDOW,
    OUTCOMES,
    SIGNAL_LOOKBACK,
    VOLUME_BASELINE_DAYS,
    VOLUME_FACTOR,
    VOLUME_FLOOR,
    Signal,
    oversight_series,
    oversight_signals,
)
from console.views import console_view_record, current_officer, in_english

PERIODS = (7, 28, 90)
DEFAULT_PERIOD = 28


def period_of(value: str | None) -> int:
    """The chart period in days: one of :data:`PERIODS`, else the default."""
    try:
        days = int(value or DEFAULT_PERIOD)
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def thresholds() -> list[tuple[str, str]]:
    """The rules of the signals in words. Requests, dry runs and consent records all count: probing with dry runs
    or opening the way to data with made-up consents is as telling as asking."""
    return [
        (
            "Volume far above usual",
            f"more than {VOLUME_FACTOR} times the median daily requests, dry runs and consent records of the "
            f"{VOLUME_BASELINE_DAYS} days before, and more than {VOLUME_FLOOR}, in the last 24 hours",
        ),
        (
            "Closed or foreign case",
            "a request, dry run or consent record naming a case that is closed, unknown, or one the organisation "
            "does not take part in",
        ),
        (
            "Burst of denials",
            f"{DENIAL_BURST_COUNT} or more denied requests or dry runs by one client within "
            f"{int(DENIAL_BURST_WINDOW.total_seconds() // 60)} minutes",
        ),
        (
            "Many emergency requests",
            f"{EMERGENCY_CLUSTER_COUNT} or more emergency requests or dry runs by one client within "
            f"{int(EMERGENCY_CLUSTER_WINDOW.total_seconds() // 3600)} hours",
        ),
        (
            "Burst of consent records",
            f"{CONSENT_BURST_COUNT} or more consents recorded by one client within "
            f"{int(CONSENT_BURST_WINDOW.total_seconds() // 60)} minutes",
        ),
    ]


def search_query(signal: Signal) -> str:
    """The search that shows the entries behind a signal (its organisation, days, and outcome, emergency or kind).
    Signals that count several kinds (requests and dry runs) search all kinds; the outcome or flag narrows it."""
    query = {
        "requester": signal.organisation or "",
        "date_from": timezone.localtime(signal.since).date().isoformat(),
        "date_to": timezone.localtime(signal.until or signal.since).date().isoformat(),
    }
    if signal.kind == "denial_burst":
        query["outcome"] = "denied"
    elif signal.kind == "emergency_cluster":
        query["emergency"] = "yes"
    elif signal.kind == "consent_burst":
        query["kind"] = AuditKind.CONSENT.value
    return urlencode({key: value for key, value in query.items() if value})


def oversight_page(
    request: HttpRequest,
    officer: OfficerProfile,
    *,
    export_form: EntryFilterForm | None = None,
    export_problem: str = "",
    status: int = 200,
) -> HttpResponse:
    """The page, recorded as a ``console_view`` before anything is shown."""
    days = period_of(request.GET.get("days"))
    try:
        with transaction.atomic(durable=True):
            series = oversight_series(officer, days=days)
            signals = oversight_signals(officer)
            console_view_record(
                username=request.user.get_username(),
                officer=officer,
                outcome="oversight",
                filters={"days": days},
                results=len(signals),
            )
    except AuditWriteError:
        return render(request, "console/oversight.html", {"unavailable": True}, status=503)
    charts = [
        {"series": item, "svg": stacked_bar_chart(item, chart_id=f"chart-{number}"), "id": f"chart-{number}"}
        for number, item in enumerate(series)
    ]
    context: dict[str, Any] = {
        "days": days,
        "periods": PERIODS,
        "charts": charts,
        "outcomes": [(outcome, OUTCOME_LOOK[outcome][1]) for outcome in OUTCOMES],
        "signals": [{"signal": signal, "query": search_query(signal)} for signal in signals],
        "lookback_days": SIGNAL_LOOKBACK.days,
        "thresholds": thresholds(),
        "export_form": export_form or EntryFilterForm(),
        "export_problem": export_problem,
        "formats": FORMATS,
        "export_format": request.POST.get("format") if request.POST.get("format") in FORMATS else FORMATS[0],
        "export_cap": EXPORT_ROW_CAP,
    }
    return render(request, "console/oversight.html", context, status=status)


@in_english
@officer_required
@require_GET
def oversight(request: HttpRequest) -> HttpResponse:
    """Requests and outcomes per day and organisation, and the signals, over the officer's part of the trail."""
    return oversight_page(request, current_officer(request))


@in_english
@officer_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """The search's filters plus ``format=csv|json``, posted (a person's BSN travels in the body, never in an
    address): a ZIP with the signed (and, with a key on file, encrypted) selection. Handed out only after its
    ``console_view`` entry has committed."""
    officer = current_officer(request)
    form = EntryFilterForm(request.POST)
    fmt = request.POST.get("format", "csv")
    if not form.is_valid() or fmt not in FORMATS:
        problem = "" if fmt in FORMATS else "Choose CSV or JSON."
        return oversight_page(request, officer, export_form=form, export_problem=problem, status=400)
    try:
        bundle = console_export(officer=officer, form=form, fmt=fmt, username=request.user.get_username())
    except ExportError as exc:
        return oversight_page(request, officer, export_form=form, export_problem=f"No export: {exc}.", status=500)
    except AuditWriteError:
        problem = "The export could not be recorded in the audit trail, so it is not handed out. Try again later."
        return oversight_page(request, officer, export_form=form, export_problem=problem, status=503)
    response = FileResponse(bundle.file, as_attachment=True, filename=bundle.filename, content_type="application/zip")
    return cast(HttpResponse, response)  # streamed from the temporary file; the console's decorators only pass it on
