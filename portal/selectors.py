"""Reads for the family portal: the viewer's family, the entries about a person, their consents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy

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
    SharingRule,
)
from consent.policy import overall_status
from gateway.models import HolderEndpoint, InformationRequest
from gateway.notices import inform_on, notice_fact
from portal.access import (
    PARENT,
    CaseFact,
    PersonFact,
    SuspectLens,
    WithheldFact,
    held_for_holder_review,
    held_for_notice,
    held_from_parent,
    is_withheld,
    parent_held,
    parent_sees_entry,
    suspect_lens,
    visible_subjects,
)
from portal.models import ConsentRequest, ConsentRequestStatus, ParentAccessObjection

GUARDIAN_KINDS = (choices.RelationKind.PARENT_WITH_CUSTODY, choices.RelationKind.GUARDIAN)


def _person_fact(person: Person, today: dt.date) -> PersonFact:
    age = person.age_on(today)
    blocks = person.restrictions.filter(active=True, kind=choices.RestrictionKind.CHILD_16PLUS_BLOCKS_PARENT).exists()
    objects = ParentAccessObjection.objects.filter(person=person, withdrawn_at__isnull=True).exists()
    return PersonFact(
        bsn=person.bsn, age=age, blocks_parent=blocks, able_to_judge=person.able_to_judge, objects_to_parents=objects
    )


def person_fact(person: Person, today: dt.date | None = None) -> PersonFact:
    """The facts about ``person`` that decide who sees their entries (:mod:`portal.access`)."""
    return _person_fact(person, today or timezone.localdate())


def wards_of(person: Person, today: dt.date) -> list[Person]:
    """The persons this person has custody of (or is guardian of) today."""
    relations = person.relations.filter(kind__in=GUARDIAN_KINDS).select_related("other")
    return [
        r.other
        for r in relations
        if (r.valid_from is None or r.valid_from <= today) and (r.valid_until is None or today <= r.valid_until)
    ]


def case_facts(persons: list[Person]) -> list[CaseFact]:
    cases = (
        Case.objects.filter(persons__person__in=persons)
        .distinct()
        .select_related("lead_organisation__sector")
        .prefetch_related("persons__person", "participants__sector")
    )
    facts = []
    for case in cases:
        roles: dict[str, set[str]] = {}
        for case_person in case.persons.all():
            roles.setdefault(case_person.person.bsn, set()).add(case_person.role)
        facts.append(
            CaseFact(
                case.reference,
                {bsn: frozenset(r) for bsn, r in roles.items()},
                case.phase != "closed",
                frozenset({case.lead_organisation.slug, *(o.slug for o in case.participants.all())}),
                frozenset({case.lead_organisation.sector.code, *(o.sector.code for o in case.participants.all())}),
            )
        )
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
    time_shown: bool = True  # False about a suspect: the hour of an emergency request would tell what happened

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


# What a suspect reads instead of what would name the victim's side (portal.access.SuspectLens).
NEUTRAL_ORGANISATION = gettext_lazy("An organisation in the network")
NEUTRAL_PURPOSE = gettext_lazy("Safety and help within the network")
NEUTRAL_CATEGORY = gettext_lazy("Information held by an organisation in the network")
NEUTRAL_BASIS = gettext_lazy(
    "A legal ground for sharing within the network. The data protection officer can tell you more."
)
# The catalogue's plain-language texts are free text that may name anyone (a law that lets Veilig Thuis inform
# victim support, say): a suspect reads the article, with this instead.
LAW_BELOW = gettext_lazy("The law named below allows it.")


class _Names:
    """Localised names of organisations, categories, purposes and bases, read once per page."""

    def __init__(self) -> None:
        self.organisations = dict(Organisation.objects.values_list("slug", "name"))
        self.categories = {c.code: _localised(c.name_nl, c.name_en) for c in DataCategory.objects.all()}
        self.purposes = {p.code: p for p in Purpose.objects.all()}
        self.bases = {b.code: b for b in LegalBasis.objects.all()}

    def _organisation(self, slug: str | None, lens: SuspectLens | None) -> str:
        if lens is not None and not lens.names(slug):
            return str(NEUTRAL_ORGANISATION) if slug else ""
        return self.organisations.get(slug or "", slug or "")

    def entry(self, request: InformationRequest, lens: SuspectLens | None = None) -> Entry:
        """The entry as the portal shows it; through ``lens`` when its subject is a suspect."""
        requester = request.organisation.slug
        purpose = self.purposes.get(request.purpose)
        if lens is not None and not lens.names_purpose(purpose=request.purpose, requester=requester):
            purpose_name, purpose_explained = str(NEUTRAL_PURPOSE), ""
        elif purpose is not None:
            purpose_name, purpose_explained = _localised(purpose.name_nl, purpose.name_en), purpose.description
        else:
            purpose_name, purpose_explained = request.purpose, ""
        entry = Entry(
            id=request.id,
            at=request.created_at,
            requester=self._organisation(requester, lens),
            purpose=purpose_name,
            purpose_explained=purpose_explained,
            status=request.status,
            emergency=request.emergency and lens is None,
            case_reference=request.case_reference,
            time_shown=lens is None,
        )
        truths = []
        for decision in request.decisions.all():
            if decision.shielded:
                # The requester was shown what an unknown person gets; the family sees what really happened: a
                # restriction kept this from the requester, and nothing was given.
                entry.categories.append(
                    EntryCategory(
                        code=decision.category,
                        name=self.categories.get(decision.category, decision.category),
                        holder=self._organisation(decision.provider, lens),
                        outcome="deny",
                        legal_basis=None,
                        basis_explained=None,
                        consent_id=None,
                        reasons=["restricted"] if lens is None else [],
                    )
                )
                truths.append("deny")
                continue
            truths.append(decision.outcome)
            basis = self.bases.get(decision.legal_basis or "")
            reference = basis.reference if basis else None
            explained = _localised(basis.description_nl, basis.description_en) if basis else None
            if basis is not None and lens is not None:
                shown = lens.shows_basis(
                    requester=requester,
                    basis_kind=basis.kind,
                    emergency_only=basis.emergency_only,
                    emergency_access=decision.emergency_access,
                )
                reference, explained = (reference, str(LAW_BELOW)) if shown else (None, str(NEUTRAL_BASIS))
            described = lens is None or lens.describes(decision.category)
            entry.categories.append(
                EntryCategory(
                    code=decision.category if described else "",
                    name=self.categories.get(decision.category, decision.category)
                    if described
                    else str(NEUTRAL_CATEGORY),
                    holder=self._organisation(decision.provider, lens),
                    outcome=decision.outcome,
                    legal_basis=reference,
                    basis_explained=explained,
                    consent_id=decision.consent_id,
                    reasons=[r.get("code", "") for r in decision.reasons] if lens is None else [],
                )
            )
        if any(d.shielded for d in request.decisions.all()):
            entry.status = overall_status(truths)
        return entry


def _requests_about(person: Person) -> QuerySet[InformationRequest]:
    return (
        InformationRequest.objects.filter(subject_bsn=person.bsn)
        .select_related("organisation", "notice__cleared_by__sector")
        .prefetch_related("decisions")
        .order_by("-created_at", "-id")
    )


def _holder_sectors() -> dict[str, frozenset[str]]:
    """Each category with the sectors of the organisations that hold it (policy data, not the request)."""
    found: dict[str, set[str]] = {}
    rows = HolderEndpoint.objects.filter(active=True, organisation__active=True).values_list(
        "categories__code", "organisation__sector__code"
    )
    for category, sector in rows:
        if category:
            found.setdefault(category, set()).add(sector)
    return {category: frozenset(sectors) for category, sectors in found.items()}


def _recipient_sectors() -> dict[str, frozenset[str]]:
    """Each category with the sectors its active sharing rules give it to (a rule naming an organisation counts
    with that organisation's sector)."""
    found: dict[str, set[str]] = {}
    rows = SharingRule.objects.filter(active=True).values_list(
        "categories__code", "recipient_sector__code", "recipient_organisation__sector__code"
    )
    for category, sector, organisation_sector in rows:
        if category and (sector or organisation_sector):
            found.setdefault(category, set()).add(sector or organisation_sector)
    return {category: frozenset(sectors) for category, sectors in found.items()}


@dataclass(frozen=True)
class ViewerRules:
    """What a parent (or guardian) viewing a child's entries is kept from (issue 11, item 8): ``held_back`` in a
    child-abuse case (:func:`portal.access.parent_held`), and the entries of the regimes in which the 12-15-year-old
    decides alone (``own_12_15`` applied through :func:`portal.access.parent_sees_entry`)."""

    child: PersonFact
    held_back: bool
    own_12_15: frozenset[str]


@dataclass(frozen=True)
class SubjectRules:
    """Everything that decides whether and how an entry about one person is shown, read once per page."""

    bsn: str
    withheld: list[WithheldFact]
    cases: list[CaseFact]
    lens: SuspectLens | None
    inform_days: int
    sector_of: dict[str, str] = field(default_factory=dict)  # organisation slug -> sector code
    regime_of_sector: dict[str, str | None] = field(default_factory=dict)  # organisation slug -> Sector.consent_regime
    regime_of_category: dict[str, str] = field(default_factory=dict)  # category code -> consent_regime
    viewer: ViewerRules | None = None  # set when a parent views a child

    def entry_regimes(self, request: InformationRequest) -> set[str]:
        """The consent regimes of an entry's data: the holder's, else the category's (the regime follows the
        holder, as :func:`consent.consents.consent_regimes`); an unknown category counts as medical (fail closed)."""
        return {
            self.regime_of_sector.get(d.provider or "") or self.regime_of_category.get(d.category, "medical")
            for d in request.decisions.all()
        }

    @property
    def withheld_until(self) -> dt.date | None:
        return max((w.review_date for w in self.withheld if w.review_date), default=None)


def subject_rules(
    person: Person, today: dt.date, *, viewer: Person | None = None, why: str | None = None
) -> SubjectRules:
    """The withheld restrictions, cases, informing term and (for a suspect) the lens for entries about ``person``;
    with the ``viewer`` and ``why`` they see ``person`` (:func:`family_visible`), what a parent is kept from."""
    cases = case_facts([person] if viewer is None else [person, viewer])
    sector_of = dict(Organisation.objects.values_list("slug", "sector__code"))
    viewer_rules = None
    if viewer is not None and why == PARENT:
        viewer_rules = ViewerRules(
            child=_person_fact(person, today),
            held_back=parent_held(parent=viewer.bsn, child=person.bsn, cases=cases),
            own_12_15=frozenset(settings.GATEWAY_CONSENT_12_15_OWN),
        )
    return SubjectRules(
        bsn=person.bsn,
        withheld=withheld_facts(person, today),
        cases=cases,
        lens=suspect_lens(
            subject=person.bsn,
            cases=cases,
            sector_of=sector_of,
            holder_sectors=_holder_sectors(),
            recipient_sectors=_recipient_sectors(),
        ),
        inform_days=settings.GATEWAY_PORTAL_INFORM_DAYS,
        sector_of=sector_of,
        regime_of_sector=dict(Organisation.objects.values_list("slug", "sector__consent_regime")),
        regime_of_category=dict(DataCategory.objects.values_list("code", "consent_regime")),
        viewer=viewer_rules,
    )


HELD_BY_RESTRICTION, HELD_FOR_NOTICE = "restriction", "notice"
# Held until the police or the prosecution reviewed it: counted like the other holds, without a date.
HELD_FOR_REVIEW = "review"
# Kept from a parent without being counted (a count would say that something happened): while held back in a
# child-abuse case, and for data a 12-15-year-old decides on alone (the page says so for every child of that age).
HELD_FROM_PARENT, CHILDS_OWN = "parent", "childs_own"
UNCOUNTED = frozenset({HELD_FROM_PARENT, CHILDS_OWN})


def entry_hold(request: InformationRequest, rules: SubjectRules, today: dt.date) -> tuple[str | None, dt.date | None]:
    """Why an entry is kept from the portal, and until when: a ``withheld_from_subject`` restriction, the police's
    or the prosecution's review (portal.access.held_for_holder_review), the informing term of an entry about a
    suspect (portal.access.held_for_notice), and for a parent viewing a child: a child-abuse case
    (portal.access.held_from_parent) or the child's own regimes (portal.access.parent_sees_entry);
    ``(None, None)`` when shown."""
    categories = [d.category for d in request.decisions.all()]
    if is_withheld(request_id=request.id, categories=categories, withheld=rules.withheld):
        return HELD_BY_RESTRICTION, rules.withheld_until
    notice = notice_fact(request)
    holder_sectors = {rules.sector_of.get(d.provider or "", "") for d in request.decisions.all()}
    if held_for_holder_review(holder_sectors=holder_sectors, notice=notice):
        return HELD_FOR_REVIEW, None
    if held_for_notice(subject=rules.bsn, cases=rules.cases, notice=notice, inform_days=rules.inform_days, today=today):
        return HELD_FOR_NOTICE, inform_on(notice, inform_days=rules.inform_days)
    if rules.viewer is not None:
        if held_from_parent(parent_held_back=rules.viewer.held_back, notice=notice):
            return HELD_FROM_PARENT, None
        if not parent_sees_entry(
            child=rules.viewer.child, entry_regimes=rules.entry_regimes(request), own_12_15=rules.viewer.own_12_15
        ):
            return CHILDS_OWN, None
    return None, None


def timeline(
    person: Person, today: dt.date | None = None, *, viewer: Person | None = None, why: str | None = None
) -> Timeline:
    """Every disclosure and denial about ``person``, newest first, without those kept from the portal; those are
    only counted (except the :data:`UNCOUNTED` holds), with the last day until which one of them is kept.
    ``viewer`` and ``why``: who looks, and why they may (a parent is kept from more, :func:`subject_rules`)."""
    today = today or timezone.localdate()
    rules = subject_rules(person, today, viewer=viewer, why=why)
    names = _Names()
    shown: list[Entry] = []
    hidden = 0
    until: dt.date | None = None
    for request in _requests_about(person):
        held, held_until = entry_hold(request, rules, today)
        if held in UNCOUNTED:
            continue
        if held:
            hidden += 1
            until = max(filter(None, (until, held_until)), default=None)
            continue
        shown.append(names.entry(request, rules.lens))
    return Timeline(person=person, entries=shown, withheld_count=hidden, withheld_until=until)


def entry_for(
    person: Person,
    request_id: str,
    today: dt.date | None = None,
    *,
    viewer: Person | None = None,
    why: str | None = None,
) -> Entry | None:
    """One entry about ``person`` if it exists and is not kept from the portal (for ``viewer``, as in
    :func:`timeline`)."""
    today = today or timezone.localdate()
    request = _requests_about(person).filter(id=request_id).first()
    if request is None:
        return None
    rules = subject_rules(person, today, viewer=viewer, why=why)
    if entry_hold(request, rules, today)[0]:
        return None
    return _Names().entry(request, rules.lens)


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
