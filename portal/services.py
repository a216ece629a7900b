"""Actions of the family portal. Each writes its audit entry in its own transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.ledger import Actor, EntryDraft, audit_append
from audit.pseudonym import subject_pseudonym
from consent import choices
from consent.consents import ConsentResult, GiverInput, consent_record, consent_withdraw
from consent.models import Consent, Person
from portal.models import ConsentRequest, ConsentRequestStatus


class PortalError(ValueError):
    """The action is not allowed for this user; shown as a plain message."""


def portal_view_record(
    *, username: str, subject: Person, view: str, entry: str | None = None, shown: int = 0, withheld: int = 0
) -> None:
    """Write a ``portal_view``: who looked at which person's entries (product.md: viewing is itself audited)."""
    with transaction.atomic():
        audit_append(
            EntryDraft(
                kind="portal_view",
                actor=Actor(user=username),
                subject=subject_pseudonym(subject.bsn),
                reference=entry,
                outcome=view,
                detail={"entries_shown": shown, "withheld": withheld},
            )
        )


def may_withdraw(*, viewer: Person, consent: Consent) -> bool:
    """The person the consent is about, or someone who gave it, may withdraw it."""
    return consent.subject_id == viewer.pk or consent.givers.filter(person=viewer).exists()


def portal_consent_withdraw(*, viewer: Person, username: str, consent: Consent, reason: str) -> Consent:
    """Withdraw a consent from the portal (AVG art. 7(3): as easy as giving it)."""
    if consent.status not in (choices.ConsentStatus.ACTIVE, choices.ConsentStatus.INCOMPLETE):
        raise PortalError("already_ended")
    if not may_withdraw(viewer=viewer, consent=consent):
        raise PortalError("not_yours")
    return consent_withdraw(
        consent=consent, by_organisation=None, by_user=f"portal:{username}", reason=reason or "Withdrawn in the portal"
    )


def portal_consent_give(*, viewer: Person, username: str, request: ConsentRequest, capacity: str) -> ConsentResult:
    """Give the consent an organisation asked for. The age rules decide whether this suffices; if not, the
    consent is stored as incomplete until the others who must consent have done so."""
    if request.status != ConsentRequestStatus.OPEN:
        raise PortalError("already_answered")
    today = timezone.localdate()
    result = consent_record(
        recorded_by=request.requested_by,
        recorded_by_user=f"portal:{username}",
        subject_bsn=request.subject.bsn,
        given_by=[GiverInput(bsn=viewer.bsn, capacity=capacity)],
        explicit=request.explicit,
        purposes=list(request.purposes.values_list("code", flat=True)),
        recipients=[
            *request.recipient_organisations.values_list("slug", flat=True),
            *(f"sector:{c}" for c in request.recipient_sectors.values_list("code", flat=True)),
        ],
        categories=list(request.categories.values_list("code", flat=True)),
        case_reference=request.case.reference if request.case else None,
        valid_from=today,
        valid_until=request.valid_until,
        evidence=f"Given in the family portal by {username} on {today.isoformat()} (consent request {request.pk}).",
    )
    ConsentRequest.objects.filter(pk=request.pk).update(
        status=ConsentRequestStatus.GIVEN, answered_at=timezone.now(), consent=result.consent
    )
    return result
