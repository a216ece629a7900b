"""Reads for the family portal: the viewer's family, the entries about a person, their consents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from consent import choices
from consent.models import (
    Case,
    CasePerson,
    Consent,
    DataCategory,
    LegalBasis,
    Organisation,
    Person,
    Purpose,
    Restriction,
)
from gateway.models import InformationRequest
from portal.access import CaseFact, PersonFact, WithheldFact, is_withheld, visible_subjects
from portal.models import ConsentRequest, ConsentRequestStatus

GUARDIAN_KINDS = (choices.RelationKind.PARENT_WITH_CUSTODY, choices.RelationKind.GUARDIAN)


def _person_fact(person: Person, today: dt.date) -> PersonFact:
    age = person.age_on(today)
    blocks = person.restrictions.filter(active=True, kind=choices.RestrictionKind.CHILD_16PLUS_BLOCKS_PARENT).exists()
    return PersonFact(bsn=person.bsn, age=age, blocks_parent=blocks)


def wards_of(person: Person, today: dt.date) -> list[Person]:
    """The persons this person has custody of (or is guardian of) today."""
    relations = person.relations.filter(kind__in=GUARDIAN_KINDS).select_related("other")
    return [
        r.other
        for r in relations
        if (r.valid_from is None or r.valid_from <= today) and (r.valid_until is None or today <= r.valid_until)
    ]


def case_facts(persons: list[Person]) -> list[CaseFact]:
    cases = Case.objects.filter(persons__person__in=persons).distinct().prefetch_related("persons__person")
    facts = []
    for case in cases:
        roles: dict[str, set[str]] = {}
        for case_person in case.persons.all():
            roles.setdefault(case_person.person.bsn, set()).add(case_person.role)
        facts.append(CaseFact(case.reference, {bsn: frozenset(r) for bsn, r in roles.items()}, case.phase != "closed"))
    return facts


def family_visible(viewer: Person, today: dt.date | None = None) -> list[tuple[Person, str]]:
    """The persons the viewer may see in the portal, the viewer first, then children by age."""
    today = today or timezone.localdate()
    wards = wards_of(viewer, today)
    visible = visible_subjects(
        viewer=_person_fact(viewer, today),
        wards=[_person_fact(w, today) for w in wards],
        cases=case_facts([viewer, *wards]),
    )
    people = {p.bsn: p for p in [viewer, *wards]}
    ordered = sorted(visible.items(), key=lambda item: (item[1] != "self", people[item[0]].date_of_birth))
    return [(people[bsn], why) for bsn, why in ordered]


def withheld_facts(person: Person, today: dt.date) -> list[WithheldFact]:
    restrictions = Restriction.objects.filter(
        person=person, kind=choices.RestrictionKind.WITHHELD_FROM_SUBJECT, active=True
    ).prefetch_related("categories")
    return [
        WithheldFact(r.request_reference, frozenset(c.code for c in r.categories.all()), r.review_date)
        for r in restrictions
        if r.review_date is None or r.review_date >= today
    ]


def _localised(nl: str, en: str) -> str:
    return en if (get_language() or "nl").startswith("en") else nl


@dataclass
class EntryCategory:
    code: str
    name: str
    holder: str
    outcome: str
    legal_basis: str | None
    basis_explained: str | None
    consent_id: int | None
    reasons: list[str]


@dataclass
class Entry:
    id: str
    at: dt.datetime
    requester: str
    purpose: str
    purpose_explained: str
    status: str
    emergency: bool
    case_reference: str
    categories: list[EntryCategory] = field(default_factory=list)

    @property
    def holders(self) -> list[str]:
        return sorted({c.holder for c in self.categories})

    @property
    def consent_used(self) -> bool:
        return any(c.consent_id for c in self.categories if c.outcome == "permit")


@dataclass
class Timeline:
    person: Person
    entries: list[Entry]
    withheld_count: int
    withheld_until: dt.date | None


class _Names:
    """Localised names of organisations, categories, purposes and bases, read once per page."""

    def __init__(self) -> None:
        self.organisations = dict(Organisation.objects.values_list("slug", "name"))
        self.categories = {c.code: _localised(c.name_nl, c.name_en) for c in DataCategory.objects.all()}
        self.purposes = {p.code: p for p in Purpose.objects.all()}
        self.bases = {b.code: b for b in LegalBasis.objects.all()}

    def entry(self, request: InformationRequest) -> Entry:
        purpose = self.purposes.get(request.purpose)
        entry = Entry(
            id=request.id,
            at=request.created_at,
            requester=self.organisations.get(request.organisation.slug, request.organisation.slug),
            purpose=_localised(purpose.name_nl, purpose.name_en) if purpose else request.purpose,
            purpose_explained=purpose.description if purpose else "",
            status=request.status,
            emergency=request.emergency,
            case_reference=request.case_reference,
        )
        for decision in request.decisions.all():
            basis = self.bases.get(decision.legal_basis or "")
            entry.categories.append(
                EntryCategory(
                    code=decision.category,
                    name=self.categories.get(decision.category, decision.category),
                    holder=self.organisations.get(decision.provider or "", decision.provider or ""),
                    outcome=decision.outcome,
                    legal_basis=basis.reference if basis else None,
                    basis_explained=_localised(basis.description_nl, basis.description_en) if basis else None,
                    consent_id=decision.consent_id,
                    reasons=[r.get("code", "") for r in decision.reasons],
                )
            )
        return entry


def _requests_about(person: Person) -> QuerySet[InformationRequest]:
    return (
        InformationRequest.objects.filter(subject_bsn=person.bsn)
        .select_related("organisation")
        .prefetch_related("decisions")
        .order_by("-created_at", "-id")
    )


def timeline(person: Person, today: dt.date | None = None) -> Timeline:
    """Every disclosure and denial about ``person``, newest first, without the withheld ones."""
    today = today or timezone.localdate()
    withheld = withheld_facts(person, today)
    names = _Names()
    shown: list[Entry] = []
    hidden = 0
    for request in _requests_about(person):
        categories = [d.category for d in request.decisions.all()]
        if is_withheld(request_id=request.id, categories=categories, withheld=withheld):
            hidden += 1
            continue
        shown.append(names.entry(request))
    until = max((w.review_date for w in withheld if w.review_date), default=None) if hidden else None
    return Timeline(person=person, entries=shown, withheld_count=hidden, withheld_until=until)


def entry_for(person: Person, request_id: str, today: dt.date | None = None) -> Entry | None:
    """One entry about ``person`` if it exists and is not withheld."""
    today = today or timezone.localdate()
    request = _requests_about(person).filter(id=request_id).first()
    if request is None:
        return None
    categories = [d.category for d in request.decisions.all()]
    if is_withheld(request_id=request.id, categories=categories, withheld=withheld_facts(person, today)):
        return None
    return _Names().entry(request)


# Naming these to a suspect tells him that the victim's side is getting help or shelter (issue "leaks", item 5).
SECTORS_NEVER_NAMED_TO_A_SUSPECT = ("victim_support", "shelter")
SUSPECT_ROLES = (choices.CaseRole.SUSPECT, choices.CaseRole.ALLEGED_PERPETRATOR)


def consents_for(viewer: Person, subjects: list[Person]) -> QuerySet[Consent]:
    """Every consent recorded in the name of a person the viewer may see (``subjects``, from
    :func:`family_visible`: themselves from 12, a child while the access rules allow, never a child of a case in
    which the viewer is a suspect), whoever recorded it and whatever its status. A consent that names the viewer
    as giver is among them when its subject is visible to them; otherwise it is not shown (it would show the
    viewer a person the access rules hide). Keyed by BSN, so a consent recorded before the person was known
    shows too.

    One exception keeps a suspect from being tipped off: for a subject who is a suspect or alleged perpetrator in
    a case (open or closed), consents recorded by victim support or a shelter are not shown (nor mailed about);
    they can then never be confirmed by him, so they count only as their recorder's own record."""
    suspects = CasePerson.objects.filter(person__in=subjects, role__in=SUSPECT_ROLES).values_list(
        "person__bsn", flat=True
    )
    return (
        Consent.objects.filter(subject_bsn__in=[s.bsn for s in subjects])
        .exclude(subject_bsn__in=suspects, recorded_by__sector__code__in=SECTORS_NEVER_NAMED_TO_A_SUSPECT)
        .select_related("recorded_by", "case")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors", "givers")
        .order_by("-recorded_at", "-pk")
    )


def consent_requests_for(subjects: list[Person]) -> QuerySet[ConsentRequest]:
    return (
        ConsentRequest.objects.filter(subject__in=subjects, status=ConsentRequestStatus.OPEN)
        .select_related("subject", "requested_by")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors")
        .order_by("created_at")
    )


def localised(nl: str, en: str) -> str:
    return _localised(nl, en)


def describe(obj: Any) -> str:
    """A localised name of a domain object that has name_nl and name_en."""
    return _localised(getattr(obj, "name_nl", str(obj)), getattr(obj, "name_en", str(obj)))
