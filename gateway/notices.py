"""Informing a suspect: clearing and postponing entries (Wmo 2015 art. 5.3.1 lid 2-4; UAVG art. 41(1)(i)).

An entry about a suspect or alleged perpetrator waits in the portal until a party that may inform him clears it,
or until its informing day (``GATEWAY_PORTAL_INFORM_DAYS`` after the entry, or the later day it was postponed to)
comes (the portal's :func:`portal.access.held_for_notice`). The parties that may do so are an organisation that
holds one of the entry's categories, and a Veilig Thuis organisation that leads or takes part in an active case of
the subject (:func:`may_inform`). Anyone else learns nothing: the same ``not_found`` as for a request that does
not exist.

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


@dataclass(frozen=True)
class NoticeFact:
    """What is known about informing the subject of one entry (:class:`gateway.models.EntryNotice`)."""

    created_on: dt.date
    cleared: bool = False
    postponed_until: dt.date | None = None


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
    return NoticeFact(
        created_on=created_on, cleared=notice.cleared_at is not None, postponed_until=notice.postponed_until
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


def may_inform(*, organisation: Organisation, request: InformationRequest) -> bool:
    """Whether ``organisation`` may clear or postpone informing the subject of ``request``: it holds one of the
    request's categories, or it is a Veilig Thuis organisation in an active case of the subject."""
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


def _locked(*, organisation: Organisation, request_id: str) -> tuple[InformationRequest, EntryNotice]:
    """Inside a transaction: the request (locked, so that actions on one entry run one after the other) and its
    notice row; ``not_found`` alike for an unknown id and for a party that may not act on it."""
    if not REQUEST_ID.fullmatch(request_id):
        raise _not_found()
    request = (
        InformationRequest.objects.select_for_update()
        .select_related("organisation")
        .prefetch_related("decisions")
        .filter(pk=request_id)
        .first()
    )
    if request is None or not may_inform(organisation=organisation, request=request):
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
        request, notice = _locked(organisation=organisation, request_id=request_id)
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
