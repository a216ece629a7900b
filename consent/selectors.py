"""Reads of policy data and of the facts about a subject, shaped for :mod:`consent.policy`."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import rfc8785
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from consent import choices
from consent.consents import ConsentCheck, age_rules, consent_checked, subject_profile
from consent.models import (
    Case,
    Consent,
    DataCategory,
    LegalBasis,
    Measure,
    Organisation,
    Person,
    PolicyVersion,
    Preauthorisation,
    Purpose,
    Relation,
    Restriction,
    Sector,
    SharingRule,
)
from consent.policy import ConsentFact, Policy, PreauthorisationFact, RestrictionFact, SubjectFacts, SupervisionOrders

# The relations that make the subject "a parent or guardian" of a child (Jeugdwet art. 7.3.11 lid 4).
PARENT_RELATIONS = (
    choices.RelationKind.PARENT_WITH_CUSTODY,
    choices.RelationKind.PARENT_WITHOUT_CUSTODY,
    choices.RelationKind.GUARDIAN,
)
CONSENT_AGE = 12  # below it a person cannot consent themselves (WGBO, Jeugdwet art. 7.3.4, UAVG art. 5)


def policy_snapshot_build() -> dict[str, Any]:
    """All policy data as one JSON document, in a stable order (the input of the decision)."""
    rules = SharingRule.objects.select_related(
        "provider_sector",
        "provider_organisation",
        "recipient_sector",
        "recipient_organisation",
        "legal_basis",
    ).prefetch_related("categories", "purposes")
    return {
        "sectors": [
            {
                "code": s.code,
                "special_data_exception": s.special_data_exception,
                "criminal_data_exception": s.criminal_data_exception,
                "consent_regime": s.consent_regime or None,
                "consent_possible": s.consent_possible,
            }
            for s in Sector.objects.order_by("code")
        ],
        "organisations": [
            {"slug": o.slug, "sector": o.sector.code, "active": o.active}
            for o in Organisation.objects.select_related("sector").order_by("slug")
        ],
        "categories": [
            {
                "code": c.code,
                "sensitivity": c.sensitivity,
                "regime": c.regime,
                "fields": [
                    {"name": f.name, "type": f.type, **({"whereabouts": True} if f.reveals_whereabouts else {})}
                    for f in c.fields.all()
                ],
            }
            for c in DataCategory.objects.prefetch_related("fields").order_by("code")
        ],
        "purposes": sorted(Purpose.objects.values_list("code", flat=True)),
        "legal_bases": [
            {
                "code": b.code,
                "kind": b.kind,
                "reference": b.reference,
                "requires_consent": b.requires_consent,
                "requires_explicit_consent": b.requires_explicit_consent,
                "holder_decides": b.holder_decides,
                "justification_required": b.justification_required,
                "emergency_only": b.emergency_only,
                "weighing_required": b.weighing_required,
            }
            for b in LegalBasis.objects.order_by("code")
        ],
        "rules": [
            {
                "code": r.code,
                "version": r.version,
                "legal_basis": r.legal_basis.code,
                "categories": sorted(c.code for c in r.categories.all()),
                "purposes": sorted(p.code for p in r.purposes.all()),
                "provider_sector": r.provider_sector.code if r.provider_sector else None,
                "provider_organisation": r.provider_organisation.slug if r.provider_organisation else None,
                "recipient_sector": r.recipient_sector.code if r.recipient_sector else None,
                "recipient_organisation": r.recipient_organisation.slug if r.recipient_organisation else None,
                "requires_case_participation": r.requires_case_participation,
                "requires_supervision_order": r.requires_supervision_order,
                "supervision_order_covers_parents": r.supervision_order_covers_parents,
                "emergency_only": r.emergency_only,
                "holder_decides": r.holder_decides,
                "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                "active": r.active,
            }
            for r in rules.order_by("code")
        ],
    }


def policy_current() -> Policy:
    """The policy in force, registered as a :class:`PolicyVersion` the first time its content is seen."""
    snapshot = policy_snapshot_build()
    digest = hashlib.sha256(rfc8785.dumps(snapshot)).hexdigest()
    for _attempt in range(3):
        existing = PolicyVersion.objects.filter(digest=digest).values_list("number", flat=True).first()
        if existing is not None:
            return Policy.from_snapshot(existing, snapshot)
        try:
            with transaction.atomic():
                number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
                PolicyVersion.objects.create(number=number, digest=digest, snapshot=snapshot)
            return Policy.from_snapshot(number, snapshot)
        except IntegrityError:
            continue  # another process registered a version at the same moment; read it again
    raise RuntimeError("could not register the policy version")


def policy_at(number: int) -> Policy:
    """The policy exactly as it was at a past version, for explaining and replaying a decision."""
    version = PolicyVersion.objects.get(number=number)
    return Policy.from_snapshot(version.number, version.snapshot)


def person_by_bsn(bsn: str) -> Person | None:
    return Person.objects.filter(bsn=bsn).first()


def _consent_status(consent: Consent, check: ConsentCheck | None) -> str:
    """The status the decision sees. A stored ``active`` holds only while the gateway's facts of this moment
    still bear it out (a custody ended, a parent became a suspect: it waits again); nothing ever upgrades a
    consent here, only a confirmation does (:func:`consent.consents.consent_confirm`). A BSN the gateway does
    not know has nobody who could have confirmed: its consents wait."""
    status = consent.status
    if status == choices.ConsentStatus.ACTIVE and (check is None or not check.active):
        return choices.ConsentStatus.AWAITING_CONFIRMATION.value
    return str(status)


def consent_facts(*, subject_bsn: str, requester: Organisation) -> tuple[ConsentFact, ...]:
    """The consents recorded for ``subject_bsn`` that name ``requester`` (or its sector) as recipient, as the
    decision sees them (:class:`consent.policy.ConsentFact`). Keyed by the BSN, so that an unknown person and a
    known one with the same consent get the same decision. ``givers_contradicted`` comes from the gateway's facts
    about a known person (:func:`consent.consents.consent_check`, every day of the period); for an unknown BSN
    there is nothing to check and the holder vouches (it decides, or it recorded the consent itself)."""
    rows = list(
        Consent.objects.filter(subject_bsn=subject_bsn)
        .filter(Q(recipient_organisations=requester) | Q(recipient_sectors=requester.sector_id))
        .distinct()
        .select_related("case", "recorded_by")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors", "givers")
    )
    if not rows:
        return ()
    profile = subject_profile(subject_bsn)
    rules = age_rules()
    facts = []
    for c in rows:
        check = consent_checked(c, profile, rules) if profile is not None else None
        facts.append(
            ConsentFact(
                id=c.pk,
                status=_consent_status(c, check),
                explicit=c.explicit,
                purposes=frozenset(p.code for p in c.purposes.all()),
                categories=frozenset(k.code for k in c.categories.all()),
                recipient_organisations=frozenset(o.slug for o in c.recipient_organisations.all()),
                recipient_sectors=frozenset(s.code for s in c.recipient_sectors.all()),
                case_reference=c.case.reference if c.case else None,
                valid_from=c.valid_from,
                valid_until=c.valid_until,
                recorded_by=c.recorded_by.slug,
                givers_contradicted=check.contradicted if check is not None else False,
            )
        )
    return tuple(facts)


def _orders(people: Q, requester: Organisation) -> SupervisionOrders:
    """The supervision orders on ``people`` that ``requester`` executes (the only ones a rule can rely on)."""
    return tuple(
        (requester.slug, valid_from, valid_until)
        for valid_from, valid_until in Measure.objects.filter(
            people, kind=choices.MeasureKind.SUPERVISION_ORDER, organisation=requester
        )
        .order_by("valid_from", "pk")
        .values_list("valid_from", "valid_until")
    )


def child_supervision_orders(*, person: Person, requester: Organisation, on: dt.date) -> SupervisionOrders:
    """Supervision orders executed by ``requester`` on a child of ``person`` (a parent, with or without custody,
    or a guardian on ``on``): Jeugdwet art. 7.3.11 lid 4 lets the GI receive data about the parent too."""
    children = (
        Relation.objects.filter(person=person, kind__in=PARENT_RELATIONS)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .values("other")
    )
    return _orders(Q(person__in=children), requester)


def can_consent(*, person: Person, on: dt.date) -> bool:
    """Whether the person can consent themselves: 12 or older and able to judge (wilsbekwaam)."""
    return person.able_to_judge and person.age_on(on) >= CONSENT_AGE


def preauthorisations(*, case_reference: str, on: dt.date) -> tuple[PreauthorisationFact, ...]:
    """The pre-authorisations of the case, not withdrawn and in force on ``on``."""
    rows = (
        Preauthorisation.objects.filter(
            case__reference=case_reference, withdrawn_at__isnull=True, valid_from__lte=on, valid_until__gte=on
        )
        .select_related("holder", "recipient_organisation", "recipient_sector", "case")
        .prefetch_related("categories", "purposes")
        .order_by("pk")
    )
    return tuple(
        PreauthorisationFact(
            id=p.pk,
            holder=p.holder.slug,
            recipient_organisation=p.recipient_organisation.slug if p.recipient_organisation else None,
            recipient_sector=p.recipient_sector.code if p.recipient_sector else None,
            categories=frozenset(c.code for c in p.categories.all()),
            purposes=frozenset(x.code for x in p.purposes.all()),
            case_reference=p.case.reference,
            valid_from=p.valid_from,
            valid_until=p.valid_until,
        )
        for p in rows
    )


def subject_facts(
    *,
    person: Person | None,
    subject_bsn: str,
    requester: Organisation,
    case_reference: str | None,
    on: dt.date,
) -> SubjectFacts:
    """The facts about the person with ``subject_bsn`` (``person``, or ``None`` when the gateway does not know
    them) relevant to a request by ``requester`` (see :class:`SubjectFacts`).

    For an unknown person this is :meth:`SubjectFacts.unknown` with the consents recorded for that BSN, so the
    decision cannot tell the two apart.
    """
    consents = consent_facts(subject_bsn=subject_bsn, requester=requester)
    if person is None:
        return SubjectFacts.unknown(consents=consents)
    active_cases = Case.objects.exclude(phase=choices.CasePhase.CLOSED).filter(
        persons__person=person, participants=requester
    )
    in_named_case = bool(case_reference) and active_cases.filter(reference=case_reference).exists()
    shares_active_case = in_named_case or active_cases.exists()
    orders = tuple(
        (m.organisation.slug, m.valid_from, m.valid_until)
        for m in person.measures.filter(kind=choices.MeasureKind.SUPERVISION_ORDER).select_related("organisation")
    )
    restrictions = tuple(
        RestrictionFact(
            id=r.pk,
            kind=r.kind,
            categories=frozenset(k.code for k in r.categories.all()),
            allowed_organisations=frozenset(o.slug for o in r.allowed_organisations.all()),
            allowed_sectors=frozenset(s.code for s in r.allowed_sectors.all()),
        )
        for r in Restriction.objects.filter(person=person, active=True).prefetch_related(
            "categories", "allowed_organisations", "allowed_sectors"
        )
    )
    named = in_named_case and case_reference is not None
    return SubjectFacts(
        in_named_case=in_named_case,
        shares_active_case=shares_active_case,
        supervision_orders=orders,
        consents=consents,
        restrictions=restrictions,
        # Facts about who the person is, only for a requester in the named case with them (no oracle).
        child_supervision_orders=child_supervision_orders(person=person, requester=requester, on=on) if named else (),
        can_consent=can_consent(person=person, on=on) if named else True,
        preauthorisations=preauthorisations(case_reference=case_reference, on=on) if named and case_reference else (),
    )
