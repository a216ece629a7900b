"""The partner edge's side of case-level pre-authorisations: the typed input of the API and the reads it needs.
The audited actions themselves are :mod:`consent.preauthorisations` (grant, withdraw)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from consent.choices import CasePhase
from consent.models import Case, Organisation, Preauthorisation
from gateway.errors import NotFound


@dataclass(frozen=True)
class PreauthorisationInput:
    """A grant as the API accepted it: codes known to the policy in force, exactly one recipient."""

    case_reference: str
    recipient_organisation: str | None
    recipient_sector: str | None
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    valid_until: dt.date
    weighing: str


def case_of_holder(holder: Organisation, reference: str) -> Case:
    """The active case ``reference`` that ``holder`` leads or takes part in. Any other case, closed, someone else's
    or unknown, is the same :class:`NotFound` (no oracle)."""
    case = (
        Case.objects.exclude(phase=CasePhase.CLOSED)
        .filter(Q(lead_organisation=holder) | Q(participants=holder), reference=reference)
        .distinct()
        .first()
    )
    if case is None:
        raise NotFound("There is no such case for this organisation.")
    return case


def preauthorisations_active(holder: Organisation, *, on: dt.date) -> Any:
    """The holder's pre-authorisations in force on ``on``, newest first."""
    return (
        Preauthorisation.objects.filter(
            holder=holder, withdrawn_at__isnull=True, valid_from__lte=on, valid_until__gte=on
        )
        .select_related("case", "recipient_organisation", "recipient_sector")
        .prefetch_related("categories", "purposes")
        .order_by("-granted_at", "-pk")
    )
