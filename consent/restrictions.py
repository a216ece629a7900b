"""Restrictions that keep people safe (domain.md, "Restriction"), set and lifted only through these actions,
each written to the audit trail in its own transaction.

- ``shielded_address``: the address (and where someone stays) goes only to the organisations and sectors allowed;
- ``reporter_confidential``: the reporter's identity goes to Veilig Thuis only;
- ``withheld_from_subject``: an entry is not shown to the person for now (legal ground and review date; portal);
- ``no_contact_order`` and ``child_16plus_blocks_parent``: used by the family portal's access rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym
from consent.choices import RestrictionKind
from consent.models import DataCategory, Organisation, Person, Restriction, Sector

DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    RestrictionKind.SHIELDED_ADDRESS.value: ("address", "shelter_stay"),
    RestrictionKind.REPORTER_CONFIDENTIAL.value: ("reporter_identity",),
}
DEFAULT_SECTORS: dict[str, tuple[str, ...]] = {RestrictionKind.REPORTER_CONFIDENTIAL.value: ("veilig_thuis",)}


class RestrictionError(ValueError):
    """The restriction is incomplete (no reason, no legal ground where one is needed)."""


def _audit(restriction: Restriction, outcome: str, actor: Actor) -> None:
    audit_append(
        EntryDraft(
            kind=AuditKind.RESTRICTION,
            actor=actor,
            subject=subject_pseudonym(restriction.person.bsn),
            reference=f"restriction:{restriction.pk}",
            outcome=outcome,
            detail={
                "restriction_kind": restriction.kind,
                "categories": sorted(restriction.categories.values_list("code", flat=True)),
                "allowed_organisations": sorted(restriction.allowed_organisations.values_list("slug", flat=True)),
                "allowed_sectors": sorted(restriction.allowed_sectors.values_list("code", flat=True)),
                "review_date": restriction.review_date.isoformat() if restriction.review_date else None,
                "request_reference": restriction.request_reference or None,
                "active": restriction.active,
            },
        )
    )


def restriction_set(
    *,
    person: Person,
    kind: str,
    set_by: Organisation,
    set_by_user: str,
    reason: str,
    legal_ground: str = "",
    review_date: dt.date | None = None,
    categories: Iterable[str] | None = None,
    allowed_organisations: Iterable[str] = (),
    allowed_sectors: Iterable[str] | None = None,
) -> Restriction:
    """Put a restriction on a person. A withheld-from-subject restriction needs its legal ground and a review
    date (AVG art. 23, UAVG art. 41; Wmo 2015 art. 5.3.1)."""
    if not reason.strip():
        raise RestrictionError("a restriction needs a reason")
    if kind == RestrictionKind.WITHHELD_FROM_SUBJECT and (not legal_ground.strip() or review_date is None):
        raise RestrictionError("withholding from the subject needs a legal ground and a review date")
    codes = list(categories) if categories is not None else list(DEFAULT_CATEGORIES.get(kind, ()))
    sectors = list(allowed_sectors) if allowed_sectors is not None else list(DEFAULT_SECTORS.get(kind, ()))
    with transaction.atomic(durable=True):
        restriction = Restriction.objects.create(
            person=person,
            kind=kind,
            reason=reason.strip(),
            legal_ground=legal_ground.strip(),
            set_by=set_by,
            review_date=review_date,
        )
        restriction.categories.set(DataCategory.objects.filter(code__in=codes))
        restriction.allowed_organisations.set(Organisation.objects.filter(slug__in=list(allowed_organisations)))
        restriction.allowed_sectors.set(Sector.objects.filter(code__in=sectors))
        _audit(restriction, "set", Actor(organisation=set_by.slug, user=set_by_user or None))
    return restriction


def restriction_lift(
    *, restriction: Restriction, by_user: str, by_organisation: Organisation | None = None
) -> Restriction:
    """Lift a restriction from now on; decisions after this no longer apply it."""
    with transaction.atomic():
        locked = (
            Restriction.objects.select_for_update(of=("self",), no_key=True)
            .select_related("person")
            .get(pk=restriction.pk)
        )
        if not locked.active:
            return locked
        locked.active = False
        locked.lifted_at = timezone.now()
        locked.save(update_fields=["active", "lifted_at"])
        _audit(locked, "lifted", Actor(organisation=by_organisation.slug if by_organisation else None, user=by_user))
    return locked


def restriction_changed(*, restriction: Restriction, by_user: str, created: bool = False) -> None:
    """Audit a restriction set or edited in the admin (after its many-to-many fields are saved)."""
    with transaction.atomic():
        outcome = "set" if created else "changed"
        _audit(Restriction.objects.select_related("person").get(pk=restriction.pk), outcome, Actor(user=by_user))


def restriction_withhold_request(*, restriction: Restriction, request_id: str, by_user: str) -> Restriction:
    """Point a withheld-from-subject restriction at one information request (the entry kept from the person's
    portal until the review date)."""
    if restriction.kind != RestrictionKind.WITHHELD_FROM_SUBJECT:
        raise RestrictionError("only a withheld-from-subject restriction names a request")
    with transaction.atomic(durable=True):
        locked = (
            Restriction.objects.select_for_update(of=("self",), no_key=True)
            .select_related("person")
            .get(pk=restriction.pk)
        )
        locked.request_reference = request_id
        locked.save(update_fields=["request_reference"])
        _audit(locked, "changed", Actor(user=by_user))
    return locked


def restriction_review_due(*, today: dt.date) -> int:
    """Flag each active restriction past its review date once per review date, as a trail entry the privacy
    officers' console lists (``outcome = review_overdue``)."""
    flagged = 0
    for restriction in Restriction.objects.filter(active=True, review_date__lt=today).select_related("person"):
        review_date = restriction.review_date.isoformat() if restriction.review_date else None
        already = AuditEntry.objects.filter(
            kind=AuditKind.RESTRICTION,
            reference=f"restriction:{restriction.pk}",
            outcome="review_overdue",
            detail__review_date=review_date,
        ).exists()
        if already:
            continue
        with transaction.atomic(durable=True):
            _audit(restriction, "review_overdue", Actor(user="system:restriction_review"))
        flagged += 1
    return flagged


@shared_task(name="consent.restriction_review_flag")
def restriction_review_flag() -> int:
    return restriction_review_due(today=timezone.localdate())
