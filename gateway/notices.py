"""Informing a suspect: clearing and postponing entries (Wmo 2015 art. 5.3.1 lid 2-4; UAVG art. 41(1)(i)).

An entry about a suspect or alleged perpetrator waits in the portal until a party that may inform him clears it,
or until its informing day (``GATEWAY_PORTAL_INFORM_DAYS`` after the entry, or the later day it was postponed to)
comes (the portal's :func:`portal.access.held_for_notice`). The parties that may do so are an organisation that
holds one of the entry's categories, and a Veilig Thuis organisation that leads or takes part in an active case of
the subject (:func:`may_inform`). Anyone else learns nothing: the same ``not_found`` as for a request that does
not exist.

Two more holds reuse the same clearing (issue 11, item 8): an entry with data held by the police or the
prosecution is shown only once such a holder of it cleared it (Wpg art. 25-27, Wjsg art. 39e-39f: they decide on
access; only they may clear it, :func:`may_inform`), and a parent held back in a child-abuse case sees an entry
about the child only once a Veilig Thuis organisation cleared it (:func:`portal.access.held_from_parent`). And
Veilig Thuis' duty to inform within four weeks (Wmo 2015 art. 5.3.1) is tracked over the same rows
(:func:`informing_items`, the console's ``/privacy/informing/``).

What a party sees of the answer depends only on the entry's own dates and on what was cleared or postponed, never
on the subject's role, so that clearing is no way to learn whether someone is a suspect. Each action writes a
``notice`` audit entry in its own transaction (the reason for a postponement is kept in
:class:`gateway.models.EntryNotice`, never in the trail).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from consent.models import Case, Organisation
from gateway.models import EntryNotice, InformationRequest
from gateway.signals import notice_cleared

REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")
# A postponement reaches at most this far ahead: whoever keeps an entry from a person weighs it again at least
# twice a year (Wmo 2015 art. 5.3.1: only as long as the safety of others or the investigation requires).
POSTPONE_MAX_DAYS = 182
CLEARED, POSTPONED = "cleared", "postponed"
# Holders who review an entry with their data before it reaches the person (Wpg art. 25-27; Wjsg art. 39e-39f).
REVIEWING_SECTORS = frozenset({"police", "prosecution"})
VEILIG_THUIS = "veilig_thuis"


@dataclass(frozen=True)
class NoticeFact:
    """What is known about informing the subject of one entry (:class:`gateway.models.EntryNotice`):
    ``cleared_by_sector`` is the sector of the organisation that cleared it."""

    created_on: dt.date
    cleared: bool = False
    postponed_until: dt.date | None = None
    cleared_by_sector: str | None = None


def inform_on(notice: NoticeFact, *, inform_days: int) -> dt.date:
    """The day from which the entry is shown unless cleared before: the informing term after the entry, or the
    later day a party postponed it to (a postponement never brings the day forward)."""
    due = notice.created_on + dt.timedelta(days=inform_days)
    return max(due, notice.postponed_until) if notice.postponed_until else due


def notice_fact(request: InformationRequest, notice: EntryNotice | None = None) -> NoticeFact:
    """What is known about informing the subject of ``request``: from ``notice`` when given (a row just locked),
    else from the request's own; no row means nothing was cleared or postponed."""
    created_on = timezone.localdate(request.created_at)
    if notice is None:
        try:
            notice = request.notice
        except EntryNotice.DoesNotExist:
            return NoticeFact(created_on=created_on)
    cleared_by = notice.cleared_by
    return NoticeFact(
        created_on=created_on,
        cleared=notice.cleared_at is not None,
        postponed_until=notice.postponed_until,
        cleared_by_sector=cleared_by.sector.code if cleared_by is not None and notice.cleared_at else None,
    )


class NoticeError(Exception):
    """The action cannot be done; ``code`` is the problem code the API answers with."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def _not_found() -> NoticeError:
    return NoticeError("not_found", "There is no such entry for this organisation.")


def reviewing_holders(request: InformationRequest) -> frozenset[str]:
    """The police and prosecution organisations that held data of ``request`` (any outcome)."""
    providers = {d.provider for d in request.decisions.all() if d.provider}
    return frozenset(
        Organisation.objects.filter(slug__in=providers, sector__code__in=REVIEWING_SECTORS).values_list(
            "slug", flat=True
        )
    )


def may_inform(*, organisation: Organisation, request: InformationRequest, clearing: bool = False) -> bool:
    """Whether ``organisation`` may clear or postpone informing the subject of ``request``: it holds one of the
    request's categories, or it is a Veilig Thuis organisation in an active case of the subject. To clear an
    entry with police or prosecution data it must be such a holder of it (their review)."""
    if clearing:
        reviewers = reviewing_holders(request)
        if reviewers:
            return organisation.slug in reviewers
    if request.decisions.filter(provider=organisation.slug).exists():
        return True
    if organisation.sector.code != "veilig_thuis":
        return False
    return (
        Case.objects.filter(persons__person__bsn=request.subject_bsn)
        .exclude(phase="closed")
        .filter(Q(lead_organisation=organisation) | Q(participants=organisation))
        .exists()
    )


def _locked(
    *, organisation: Organisation, request_id: str, clearing: bool = False
) -> tuple[InformationRequest, EntryNotice]:
    """Inside a transaction: the request (locked, so that actions on one entry run one after the other) and its
    notice row; ``not_found`` alike for an unknown id and for a party that may not act on it."""
    if not REQUEST_ID.fullmatch(request_id):
        raise _not_found()
    request = (
        InformationRequest.objects.select_for_update(of=("self",), no_key=True)
        .select_related("organisation")
        .prefetch_related("decisions")
        .filter(pk=request_id)
        .first()
    )
    if request is None or not may_inform(organisation=organisation, request=request, clearing=clearing):
        raise _not_found()
    notice, _created = EntryNotice.objects.get_or_create(request=request)
    return request, notice


def _audit(*, actor: Actor, request: InformationRequest, outcome: str, detail: dict[str, Any]) -> None:
    audit_append(
        EntryDraft(
            kind=AuditKind.NOTICE,
            actor=actor,
            subject=request.subject_pseudonym,
            case_reference=request.case_reference or None,
            reference=request.id,
            outcome=outcome,
            detail=detail,
        )
    )


def notice_clear(*, organisation: Organisation, actor: Actor, request_id: str) -> EntryNotice:
    """Clear an entry: it may be shown to its subject from now on, and the held e-mail goes out once."""
    with transaction.atomic(durable=True):
        request, notice = _locked(organisation=organisation, request_id=request_id, clearing=True)
        if notice.cleared_at is not None:
            raise NoticeError("already_cleared", "This entry was cleared already.")
        now = timezone.now()
        EntryNotice.objects.filter(pk=request.pk).update(cleared_at=now, cleared_by=organisation)
        _audit(actor=actor, request=request, outcome=CLEARED, detail={})
        notice_cleared.send(sender=EntryNotice, request_id=request.pk)
    notice.refresh_from_db()
    return notice


def notice_postpone(
    *, organisation: Organisation, actor: Actor, request_id: str, until: dt.date, reason: str
) -> EntryNotice:
    """Postpone informing the subject of an entry to ``until``, for ``reason`` (Wmo 2015 art. 5.3.1: for as long
    as the safety of others or the investigation requires). Only later than the day in force, at most
    :data:`POSTPONE_MAX_DAYS` ahead, and only while the entry cannot have been seen yet."""
    today = timezone.localdate()
    with transaction.atomic(durable=True):
        request, notice = _locked(organisation=organisation, request_id=request_id)
        if notice.cleared_at is not None:
            raise NoticeError("already_cleared", "This entry was cleared already; it may have been seen.")
        current = inform_on(notice_fact(request, notice), inform_days=settings.GATEWAY_PORTAL_INFORM_DAYS)
        if current <= today:
            raise NoticeError("already_informed", "The informing day of this entry has passed; it may have been seen.")
        if until <= current:
            raise NoticeError(
                "invalid_request",
                f"Postpone to a day after the informing day in force ({current.isoformat()}).",
                "until",
            )
        if until > today + dt.timedelta(days=POSTPONE_MAX_DAYS):
            raise NoticeError(
                "invalid_request",
                f"Postpone at most {POSTPONE_MAX_DAYS} days ahead; postpone again if needed.",
                "until",
            )
        EntryNotice.objects.filter(pk=request.pk).update(
            postponed_until=until, postponed_at=timezone.now(), postponed_by=organisation, postpone_reason=reason
        )
        _audit(
            actor=actor,
            request=request,
            outcome=POSTPONED,
            detail={"until": until.isoformat(), "previous": current.isoformat(), "reason_given": True},
        )
    notice.refresh_from_db()
    return notice


# --- Veilig Thuis' duty to inform (Wmo 2015 art. 5.3.1) ---------------------------------------------------------

INFORMED, DEFERRED, DUE, OVERDUE = "informed", "deferred", "due", "overdue"


@dataclass(frozen=True)
class InformingItem:
    """One entry in which a Veilig Thuis organisation processed data about a person, with where its duty to inform
    that person stands: ``informed`` (cleared), ``deferred`` (postponed to a later day, for a recorded reason),
    ``due`` (the four weeks run) or ``overdue`` (passed without clearing or a postponement in force)."""

    request_id: str
    subject_pseudonym: str
    organisation: str  # the Veilig Thuis organisation that carries the duty
    created_on: dt.date
    due_on: dt.date
    postponed_until: dt.date | None
    state: str


def informing_state(notice: NoticeFact, *, inform_days: int, today: dt.date) -> str:
    """Where the duty to inform stands for one entry (pure)."""
    if notice.cleared:
        return INFORMED
    if today <= inform_on(notice, inform_days=inform_days):
        return DEFERRED if notice.postponed_until else DUE
    return OVERDUE


def informing_items(*, organisation: Organisation | None, today: dt.date) -> list[InformingItem]:
    """The entries in which a Veilig Thuis organisation asked for or held data (of ``organisation`` only, when
    given; every one for ``None``), with the state of its duty to inform, overdue first. Codes and pseudonyms
    only: the console shows no more than its search does."""
    vt = Organisation.objects.filter(sector__code=VEILIG_THUIS)
    if organisation is not None:
        vt = vt.filter(pk=organisation.pk)
    slugs = set(vt.values_list("slug", flat=True))
    if not slugs:
        return []
    requests = (
        InformationRequest.objects.filter(Q(organisation__slug__in=slugs) | Q(decisions__provider__in=slugs))
        .distinct()
        .select_related("organisation", "notice__cleared_by__sector")
        .prefetch_related("decisions")
    )
    inform_days = settings.GATEWAY_PORTAL_INFORM_DAYS
    items = []
    for request in requests:
        notice = notice_fact(request)
        carrier = request.organisation.slug if request.organisation.slug in slugs else ""
        if not carrier:
            carrier = min(d.provider for d in request.decisions.all() if d.provider in slugs)
        items.append(
            InformingItem(
                request_id=request.pk,
                subject_pseudonym=request.subject_pseudonym,
                organisation=carrier,
                created_on=notice.created_on,
                due_on=inform_on(notice, inform_days=inform_days),
                postponed_until=notice.postponed_until,
                state=informing_state(notice, inform_days=inform_days, today=today),
            )
        )
    order = {OVERDUE: 0, DUE: 1, DEFERRED: 2, INFORMED: 3}
    return sorted(items, key=lambda i: (order[i.state], i.due_on, i.request_id))
