"""The console's search over the trail: one form, one query, used by the search page and the exports.

Every filter narrows :func:`console.access.scoped_entries`, so an organisation-scoped officer can never
widen their view through a parameter. A person is searched by BSN, which is turned into the pseudonym here; the
BSN itself is never stored nor logged, and never travels in a URL: query strings end up in access logs and browser
histories (issue #9, item 8). The BSN comes in a form body only; links and pages carry the pseudonym (``subject``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEntry, AuditKind, OfficerProfile
from audit.pseudonym import subject_pseudonym
from consent.bsn import is_valid_bsn
from console.access import facet_subquery, scoped_entries

EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
LAST_INDEX = 2**62
OUTCOMES = ["released", "partial", "denied", "pending", "permit", "deny", "error"]
PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


class EntryFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}))
    organisation = forms.SlugField(required=False, max_length=64, label="Organisation (asked or held)")
    requester = forms.SlugField(required=False, max_length=64, label="Organisation that asked")
    holder = forms.SlugField(required=False, max_length=64, label="Organisation that held data")
    bsn = forms.CharField(
        required=False,
        max_length=9,
        label="Person (BSN)",
        help_text="Sent in the body of the form, never in the address; the results carry the pseudonym.",
    )
    subject = forms.RegexField(
        PSEUDONYM,
        required=False,
        label="Person (pseudonym)",
        widget=forms.HiddenInput,
        error_messages={"invalid": "Not a pseudonym of a person (64 hexadecimal digits)."},
    )
    category = forms.SlugField(required=False, max_length=64)
    purpose = forms.SlugField(required=False, max_length=64)
    legal_basis = forms.CharField(required=False, max_length=64, label="Legal basis")
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + [(o, o) for o in OUTCOMES])
    emergency = forms.ChoiceField(required=False, choices=[("", "any"), ("yes", "yes"), ("no", "no")])
    kind = forms.ChoiceField(required=False, choices=[("", "any"), *AuditKind.choices])

    def clean_bsn(self) -> str:
        value = (self.cleaned_data.get("bsn") or "").strip()
        if value and not is_valid_bsn(value):
            raise forms.ValidationError("Not a valid BSN (nine digits, eleven test).")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("date_from", "date_to"):
            value = data.get(name)
            if value is not None and not (EARLIEST <= value <= LATEST):
                self.add_error(name, f"Give a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")
                data[name] = None
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "Must not be before 'From'.")
        if data.get("bsn"):
            # from here on the person is the pseudonym: nothing below (query, audit entry, links) sees the BSN
            data["subject"] = subject_pseudonym(data.pop("bsn"))
        return data

    def active_filters(self) -> dict[str, Any]:
        """The filters in use, for the ``console_view`` audit entry and the links of the page (a person as the
        pseudonym, never the BSN)."""
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "") and k != "bsn"}
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}


def _facet(entries: QuerySet[AuditEntry], key: str, value: str, before: int | None) -> QuerySet[AuditEntry]:
    return entries.filter(index__in=facet_subquery((key,), value, before))


def filtered_entries(officer: OfficerProfile, form: EntryFilterForm, before: int | None = None) -> QuerySet[AuditEntry]:
    """The officer's part of the trail narrowed by the form (which must be valid), newest first; with ``before``,
    only the entries below that index (the next page), applied inside every facet subquery too."""
    data = form.cleaned_data
    entries = scoped_entries(officer, before)
    tz = timezone.get_current_timezone()
    # The trail's time never runs back (audit.ledger), so a period is also a range of indices; giving the planner
    # that range lets it walk the primary key instead of filtering a million rows (docs/performance.md).
    if data.get("date_from"):
        start = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz)
        first = AuditEntry.objects.filter(at__gte=start).order_by("at", "index").values_list("index", flat=True)[:1]
        entries = entries.filter(at__gte=start, index__gte=first[0] if first else LAST_INDEX)
    if data.get("date_to"):
        end = dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        last = AuditEntry.objects.filter(at__lt=end).order_by("-at", "-index").values_list("index", flat=True)[:1]
        entries = entries.filter(at__lt=end, index__lte=last[0] if last else -1)
    if data.get("organisation"):
        entries = entries.filter(index__in=facet_subquery(("requester", "holder"), data["organisation"], before))
    for key in ("requester", "holder", "category", "legal_basis"):
        if data.get(key):
            entries = _facet(entries, key, data[key], before)
    if data.get("subject"):
        entries = entries.filter(subject=data["subject"])
    if data.get("purpose"):
        entries = entries.filter(purpose=data["purpose"])
    if data.get("outcome"):
        value = data["outcome"]
        entries = (
            entries.filter(outcome=value)
            if value in ("released", "partial", "denied", "pending")
            else _facet(entries, "outcome", value, before)
        )
    if data.get("emergency"):
        entries = entries.filter(emergency=data["emergency"] == "yes")
    if data.get("kind"):
        entries = entries.filter(kind=data["kind"])
    return entries.order_by("-index")
