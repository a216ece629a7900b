"""Actions of the family portal. Each writes its audit entry in its own transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from audit.pseudonym import subject_pseudonym
from consent.consents import (
    OPEN_STATUSES,
    ConsentError,
    ConsentResult,
    confirming_capacity,
    consent_confirm,
    consent_dispute,
    consent_give_in_portal,
    consent_withdraw,
)
from consent.models import Consent, Person
from portal.access import OWN_ACCESS_FROM
from portal.models import ConsentRequest, ConsentRequestStatus, ParentAccessObjection


class PortalError(ValueError):
    """The action is not allowed for this user; shown as a plain message."""


def portal_view_record(
    *, username: str, subject: Person, view: str, entry: str | None = None, shown: int = 0, withheld: int = 0
) -> None:
    """Write a ``portal_view``: who looked at which person's entries (product.md: viewing is itself audited)."""
    with transaction.atomic(durable=True):
        audit_append(
            EntryDraft(
                kind=AuditKind.PORTAL_VIEW,
                actor=Actor(user=username),
                subject=subject_pseudonym(subject.bsn),
                reference=entry,
                outcome=view,
                detail={"entries_shown": shown, "withheld": withheld},
            )
        )


def may_object_to_parents(person: Person) -> bool:
    """A child may object to parent access from 12, if able to judge their interests (issue 11, item 8)."""
    return person.age_on(timezone.localdate()) >= OWN_ACCESS_FROM and person.able_to_judge


def _objection_audit(*, username: str, objection: ParentAccessObjection, outcome: str) -> None:
    audit_append(
        EntryDraft(
            kind=AuditKind.RESTRICTION,
            actor=Actor(user=f"portal:{username}"),
            subject=subject_pseudonym(objection.person.bsn),
            reference=f"parent_access_objection:{objection.pk}",
            outcome=outcome,
            detail={"restriction_kind": "parent_access_objection", "by": "self", "active": outcome == "set"},
        )
    )


def parent_access_object(*, viewer: Person, username: str) -> ParentAccessObjection:
    """The child objects to their parents seeing their entries in the portal; it counts at once (a ``restriction``
    entry, outcome ``set``). Refused below 12 or for someone not able to judge, and when one is already open."""
    if not may_object_to_parents(viewer):
        raise PortalError("not_allowed")
    with transaction.atomic(durable=True):
        Person.objects.select_for_update().filter(pk=viewer.pk).first()
        if ParentAccessObjection.objects.filter(person=viewer, withdrawn_at__isnull=True).exists():
            raise PortalError("already_objected")
        objection = ParentAccessObjection.objects.create(person=viewer)
        _objection_audit(username=username, objection=objection, outcome="set")
    return objection


def parent_access_withdraw_objection(*, viewer: Person, username: str) -> ParentAccessObjection:
    """The child withdraws the objection: the parents see the entries again as the rules allow (``lifted``)."""
    with transaction.atomic(durable=True):
        objection = (
            ParentAccessObjection.objects.select_for_update().filter(person=viewer, withdrawn_at__isnull=True).first()
        )
        if objection is None:
            raise PortalError("no_objection")
        objection.withdrawn_at = timezone.now()
        objection.save(update_fields=["withdrawn_at"])
        _objection_audit(username=username, objection=objection, outcome="lifted")
    return objection


def may_act(*, viewer: Person, consent: Consent) -> bool:
    """Whether ``viewer`` may confirm, dispute or withdraw the consent: the person it is about, or a legal
    representative today who is no suspect or alleged perpetrator in a case of the subject
    (:func:`consent.consents.confirming_capacity`)."""
    return confirming_capacity(viewer=viewer, subject_bsn=consent.subject_bsn, on=timezone.localdate()) is not None


def portal_consent_withdraw(*, viewer: Person, username: str, consent: Consent, reason: str) -> Consent:
    """Withdraw a consent from the portal (AVG art. 7(3): as easy as giving it). The reason goes to the
    organisations that recorded or receive the consent; the trail keeps only its hash."""
    if consent.status not in OPEN_STATUSES:
        raise PortalError("already_ended")
    if not may_act(viewer=viewer, consent=consent):
        raise PortalError("not_yours")
    return consent_withdraw(
        consent=consent, by_organisation=None, by_user=f"portal:{username}", reason=reason or "Withdrawn in the portal"
    )


def portal_consent_confirm(*, viewer: Person, username: str, consent: Consent) -> Consent:
    """Confirm, "yes, I gave this" (:func:`consent.consents.consent_confirm`, audited there)."""
    try:
        return consent_confirm(consent=consent, viewer=viewer, username=username)
    except ConsentError as exc:
        raise PortalError(exc.code) from None


def portal_consent_dispute(*, viewer: Person, username: str, consent: Consent) -> Consent:
    """Dispute, "I did not give this" (:func:`consent.consents.consent_dispute`, audited there): it ends at once."""
    try:
        return consent_dispute(consent=consent, viewer=viewer, username=username)
    except ConsentError as exc:
        raise PortalError(exc.code) from None


def portal_consent_give(*, viewer: Person, username: str, request: ConsentRequest) -> ConsentResult:
    """Give the consent an organisation asked for, confirmed by the giver at once. The age rules decide whether
    that suffices on every day; if not, it waits for the others who must consent (their confirmation)."""
    if request.status != ConsentRequestStatus.OPEN:
        raise PortalError("already_answered")
    today = timezone.localdate()
    capacity = confirming_capacity(viewer=viewer, subject_bsn=request.subject.bsn, on=today)
    if capacity is None:
        raise PortalError("not_yours")
    with transaction.atomic(durable=True):
        result = consent_give_in_portal(
            requested_by=request.requested_by,
            subject_bsn=request.subject.bsn,
            giver=viewer,
            capacity=capacity,
            username=username,
            explicit=request.explicit,
            purposes=list(request.purposes.values_list("code", flat=True)),
            recipients=[
                *request.recipient_organisations.values_list("slug", flat=True),
                *(f"sector:{c}" for c in request.recipient_sectors.values_list("code", flat=True)),
            ],
            categories=list(request.categories.values_list("code", flat=True)),
            case_reference=request.case.reference if request.case else None,
            valid_until=request.valid_until,
            # No username or name: the recorder and the recipients read the evidence.
            evidence=f"Given in the family portal on {today.isoformat()} (consent request {request.pk}).",
        )
        ConsentRequest.objects.filter(pk=request.pk).update(
            status=ConsentRequestStatus.GIVEN, answered_at=timezone.now(), consent=result.consent
        )
    return result
