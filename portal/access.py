"""Whose entries a portal user may see (domain.md, "Family access"), as a pure function of the facts.

- A person sees what concerns themselves from the age of 12 (a younger child has no own access).
- A parent with custody (or a guardian) sees a child's entries while the child is under 16, or older when the child
  cannot judge their own interests (the representative keeps access, BW 7:465 lid 2-3), unless the child objects
  (from 12: :func:`objection_counts`) or a professional recorded that the child's interest opposes it (a
  ``child_16plus_blocks_parent`` restriction, at any age; the code's name is older than the rule).
- Parents of a 12-15-year-old who can judge do not see the entries of medical or youth-care data
  (:func:`parent_sees_entry`): the regimes of ``GATEWAY_CONSENT_12_15_OWN``, in which the child decides alone
  (BW 7:457 with 7:465; Jeugdwet 7.3.11 with 7.3.15).
- A suspect (or alleged perpetrator) never sees entries about the victim, nor about children in a case where they
  have that role, whatever their custody.
- In a child-abuse case (an active case in which Veilig Thuis takes part and the child is a victim or involved),
  a parent who is not a victim in it is held back like a suspect: an entry about the child is shown to him only
  once Veilig Thuis cleared it (:func:`parent_held`).
- An entry with data held by the police or the prosecution appears in the portal only once that holder reviewed
  it (cleared it: Wpg art. 25-27, Wjsg art. 39e-39f access rules; :func:`held_for_holder_review`), for everyone.
- Entries withheld from the subject (a ``withheld_from_subject`` restriction with its legal ground and review
  date) are not shown to anyone in the portal; the portal only says how many and until when.
- A suspect is never tipped off (Wmo 2015 art. 5.3.1 lid 2-4; UAVG art. 41(1)(i)): an entry about a person who is
  a suspect or alleged perpetrator is shown only once a party that may inform him cleared it or its informing
  date passed (:func:`held_for_notice`), and even then it never names the victim's side (:class:`SuspectLens`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.notices import NoticeFact, inform_on

OWN_ACCESS_FROM = 12
PARENT_ACCESS_UNTIL = 16
SELF, PARENT = "self", "parent"
# consent.choices.CaseRole: the roles of the person the victim must be protected from.
SUSPECT_ROLES = frozenset({"suspect", "alleged_perpetrator"})


@dataclass(frozen=True)
class PersonFact:
    bsn: str
    age: int
    blocks_parent: bool = False  # a child_16plus_blocks_parent restriction: the child's interest opposes access
    able_to_judge: bool = True  # recorded per person (wilsbekwaam)
    objects_to_parents: bool = False  # the child's own objection, made in the portal (counts from 12)


@dataclass(frozen=True)
class CaseFact:
    reference: str
    roles: Mapping[str, frozenset[str]]  # BSN -> roles in the case
    active: bool = True
    organisations: frozenset[str] = frozenset()  # slugs of the lead organisation and the participants
    sectors: frozenset[str] = frozenset()  # the sectors of those organisations


# Roles of a child in a child-abuse case, and the role that keeps a parent's view open (the parent is the victim).
CHILD_ROLES = frozenset({"victim", "child_involved"})
CHILD_ABUSE_LEAD = "veilig_thuis"


def objection_counts(child: PersonFact) -> bool:
    """A child's own objection to parent access counts from 12 if the child can judge their interests; a
    professional's restriction (the child's interest opposes it) counts at any age."""
    own = child.objects_to_parents and child.age >= OWN_ACCESS_FROM and child.able_to_judge
    return own or child.blocks_parent


def parent_held(*, parent: str, child: str, cases: Iterable[CaseFact]) -> bool:
    """Whether ``parent`` is held back like a suspect from ``child``'s entries: in an active case in which Veilig
    Thuis takes part and the child is a victim or involved, the parent is not a victim (a parent who is the suspect
    is shielded outright, :func:`shielded_from`). Until Veilig Thuis clears an entry, it is not shown to him."""
    return any(
        case.active
        and CHILD_ABUSE_LEAD in case.sectors
        and CHILD_ROLES & case.roles.get(child, frozenset())
        and "victim" not in case.roles.get(parent, frozenset())
        for case in cases
    )


def parent_sees_entry(*, child: PersonFact, entry_regimes: Iterable[str], own_12_15: Iterable[str]) -> bool:
    """Whether a parent (or guardian) sees an entry about ``child`` given the consent regimes of its data (the
    holder's regime, :func:`consent.consents.consent_regimes` logic): not when the child is 12-15 and can judge and
    the entry has data of a regime in which the child decides alone (``GATEWAY_CONSENT_12_15_OWN``)."""
    if not (OWN_ACCESS_FROM <= child.age < PARENT_ACCESS_UNTIL and child.able_to_judge):
        return True
    return not set(entry_regimes) & set(own_12_15)


def shielded_from(viewer: str, cases: Iterable[CaseFact]) -> frozenset[str]:
    """Everyone a viewer may never see as a suspect: victims and children in every case where they are the
    suspect or alleged perpetrator (closed cases included: the protection does not end with the case)."""
    shielded: set[str] = set()
    for case in cases:
        if not SUSPECT_ROLES & case.roles.get(viewer, frozenset()):
            continue
        for bsn, roles in case.roles.items():
            if bsn != viewer and roles & {"victim", "child_involved"}:
                shielded.add(bsn)
    return frozenset(shielded)


def visible_subjects(*, viewer: PersonFact, wards: Iterable[PersonFact], cases: Iterable[CaseFact]) -> dict[str, str]:
    """The persons whose entries the viewer may see, each with why (``self`` or ``parent``).

    ``wards`` are the persons the viewer has custody of (or is guardian of) today.
    """
    cases = list(cases)
    visible: dict[str, str] = {}
    if viewer.age >= OWN_ACCESS_FROM:
        visible[viewer.bsn] = SELF
    shielded = shielded_from(viewer.bsn, cases)
    for ward in wards:
        own_judgement = ward.age >= PARENT_ACCESS_UNTIL and ward.able_to_judge
        if ward.bsn == viewer.bsn or own_judgement or objection_counts(ward) or ward.bsn in shielded:
            continue
        visible[ward.bsn] = PARENT
    return visible


@dataclass(frozen=True)
class WithheldFact:
    request_reference: str
    categories: frozenset[str]
    review_date: dt.date | None


def is_withheld(*, request_id: str, categories: Iterable[str], withheld: Iterable[WithheldFact]) -> bool:
    """Whether an entry is withheld from the subject: named by its request, or in a withheld category."""
    asked = set(categories)
    for fact in withheld:
        if fact.request_reference:
            if fact.request_reference == request_id:
                return True
        elif fact.categories & asked:
            return True
    return False


# --- A suspect is never tipped off ---------------------------------------------------------------------------

# Organisations of these sectors may be named to a suspect when they lead or take part in an active case in which
# he is the suspect: Veilig Thuis must inform him of its file (Wmo 2015 art. 5.3.1), and the others deal with
# him as a suspect, offender or parent (police, prosecution, probation, Child Protection Board, youth protection,
# Care and Safety House, the mayor who imposes a house ban on him, Justid that keeps his criminal record).
CASE_CHAIN_SECTORS = frozenset(
    {
        "veilig_thuis",
        "police",
        "prosecution",
        "probation",
        "child_protection_board",
        "certified_institution",
        "safety_house",
        "mayor",
        "judicial_information",
    }
)
# Sectors that serve victims: never named to a suspect, and a category that only they hold is not described.
VICTIM_SIDE_SECTORS = frozenset({"victim_support", "shelter", "sexual_violence_centre"})
# Sectors that are neither: never named to a suspect (a GP, a municipality, a school or a housing association may
# be the victim's, and its name would say where she lives), but the categories they hold are described. A sector
# in none of these three sets is treated as the victim's side: a new sector is safe until someone decides.
OTHER_SECTORS = frozenset(
    {
        "municipality",
        "youth_care",
        "mental_health",
        "general_practice",
        "hospital",
        "forensic_medicine",
        "education",
        "housing",
        "childcare",
    }
)
# Purposes a suspect may see, when the requester may be named. Every other purpose, among them ``acute_danger``
# (an emergency about someone's safety), ``victim_support``, ``report_feedback`` (it would say that someone
# reported him) and any purpose added later, reads as a neutral one.
NAMED_PURPOSES = frozenset(
    {
        "report_to_vt",
        "vt_safety_assessment",
        "vt_investigation",
        "care_coordination",
        "criminal_law",
        "rvdk_investigation",
        "ots_execution",
        "probation",
        "zvh_case_meeting",
        "public_order",
    }
)
# Legal-basis kinds (consent.choices.BasisKind) that exist only for an emergency: their text would say one.
EMERGENCY_BASIS_KINDS = frozenset({"vital_interest", "secrecy_override"})


def is_suspect(subject: str, cases: Iterable[CaseFact]) -> bool:
    """Whether ``subject`` is a suspect or alleged perpetrator in any case. Closed cases count: closing a case must
    not show at once what was held back while it ran, and the wait never exceeds the informing term unless a
    party postponed it for a reason."""
    return any(SUSPECT_ROLES & case.roles.get(subject, frozenset()) for case in cases)


def held_for_notice(
    *, subject: str, cases: Iterable[CaseFact], notice: NoticeFact, inform_days: int, today: dt.date
) -> bool:
    """Whether an entry about ``subject`` is held back from the portal (Wmo 2015 art. 5.3.1 lid 2-4): he is a
    suspect or alleged perpetrator, nobody cleared the entry and its informing day has not come."""
    return is_suspect(subject, cases) and not notice.cleared and today < inform_on(notice, inform_days=inform_days)


# Holders whose data reaches the person only after their own review (Wpg art. 25-27; Wjsg art. 39e-39f).
REVIEWING_SECTORS = frozenset({"police", "prosecution"})


def held_for_holder_review(*, holder_sectors: Iterable[str], notice: NoticeFact) -> bool:
    """Whether an entry is held until its police or prosecution holder reviewed it: the entry has data that such a
    holder held and nobody of those sectors cleared it. No informing day releases it: the police and the
    prosecution decide on access under their own statutes (:func:`gateway.notices.may_inform` lets only them
    clear such an entry)."""
    return bool(REVIEWING_SECTORS & set(holder_sectors)) and notice.cleared_by_sector not in REVIEWING_SECTORS


def held_from_parent(*, parent_held_back: bool, notice: NoticeFact) -> bool:
    """Whether an entry about a child is kept from a parent held back in a child-abuse case (:func:`parent_held`):
    until a Veilig Thuis organisation cleared it."""
    return parent_held_back and notice.cleared_by_sector != CHILD_ABUSE_LEAD


@dataclass(frozen=True)
class SuspectLens:
    """What an entry about a suspect may show once it is shown (AVG art. 15 against UAVG art. 41(1)(i)).

    He learns that his data was shared, which categories, with what outcome and on which day: AVG art. 15(1)(b)
    and (c) are met with categories of recipients. He never learns who on the victim's side asked or held it: an
    organisation is named only if it is in ``named``, any other reads as "an organisation in the network"
    (a neutral label that also covers his own GP, municipality or housing association, so it does not single
    out the victim's side). The purpose and the legal basis are shown only with a named requester (a sector's own
    purpose or basis would name it again), never an emergency purpose or basis, and the basis by its article only
    (the catalogue's plain-language text is free text that may name anyone); the emergency marker and the time of
    day are never shown about him.
    """

    named: frozenset[str]
    described: frozenset[str]

    def names(self, organisation: str | None) -> bool:
        return organisation is not None and organisation in self.named

    def describes(self, category: str) -> bool:
        return category in self.described

    def names_purpose(self, *, purpose: str, requester: str) -> bool:
        return self.names(requester) and purpose in NAMED_PURPOSES

    def shows_basis(self, *, requester: str, basis_kind: str, emergency_only: bool, emergency_access: bool) -> bool:
        return (
            self.names(requester)
            and basis_kind not in EMERGENCY_BASIS_KINDS
            and not emergency_only
            and not emergency_access
        )


def suspect_lens(
    *,
    subject: str,
    cases: Iterable[CaseFact],
    sector_of: Mapping[str, str],
    holder_sectors: Mapping[str, frozenset[str]],
    recipient_sectors: Mapping[str, frozenset[str]] | None = None,
) -> SuspectLens | None:
    """The lens for entries about ``subject``, or ``None`` when he is no suspect or alleged perpetrator.

    Named: organisations of the case chain (:data:`CASE_CHAIN_SECTORS`) that lead or take part in an active case
    in which he has that role; a Veilig Thuis of another region is therefore never named. Described: categories
    that at least one organisation outside the victim's side holds (``holder_sectors``: category -> the sectors
    of its holders) and that some sharing rule gives to a recipient outside the victim's side
    (``recipient_sectors``: category -> the sectors its rules give it to; when given). A category that only the
    victim's side receives ("incidents concerning the victim", for victim support) would say by its name who asked.
    """
    cases = list(cases)
    if not is_suspect(subject, cases):
        return None
    named = {
        organisation
        for case in cases
        if case.active and SUSPECT_ROLES & case.roles.get(subject, frozenset())
        for organisation in case.organisations
        if sector_of.get(organisation) in CASE_CHAIN_SECTORS
    }
    outside = CASE_CHAIN_SECTORS | OTHER_SECTORS
    described = {
        category
        for category, sectors in holder_sectors.items()
        if sectors & outside and (recipient_sectors is None or recipient_sectors.get(category, frozenset()) & outside)
    }
    return SuspectLens(named=frozenset(named), described=frozenset(described))
