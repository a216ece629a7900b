"""Consents: recording, confirming, disputing, withdrawing and expiring them (``domain.md`` "Consent",
``api.md`` "Consents", ``docs/legal-basis.md`` "Consent").

The law behind each step:

- A consent is a ground for sharing under AVG art. 6(1)(a) and art. 7; for special categories of data (health,
  AVG art. 9) it must be *explicit* (art. 9(2)(a)). A consent permits only what it names: purposes, recipients,
  categories, period and case (checked at decision time by :func:`consent.policy._consent_check`).
- The controller must be able to *demonstrate* consent (AVG art. 7(1)). An organisation's word that a family
  member consented is therefore a claim: the consent is ``awaiting_confirmation`` until the person confirms in
  the family portal that they gave it (:func:`consent_confirm`); for a child, the legal representatives the age
  table asks for, none of them a suspect or alleged perpetrator in a case in which the child has a role. Until
  then the decision lets it count only for data the recording organisation holds itself, and any other holder
  decides (its approval is its confirmation). "I did not give this" (:func:`consent_dispute`) ends it at once.
- Who must consent for a minor depends on the law that governs the category (its ``consent_regime``) and on the
  child's age: Jeugdwet art. 7.3.4 (youth care), WGBO, BW art. 7:450 and 7:465 (medical treatment), Wmo 2015
  art. 5.3.3 (Veilig Thuis and the municipality), UAVG art. 5 (consent under the AVG). The table is data
  (:class:`consent.models.ConsentAgeRule`), applied by the pure function :func:`givers_suffice` on *every day* of
  the consent's period (:func:`consent_check`): a parents' consent backdated to before the child turned 16 is
  not enough once she is 16.
- Withdrawal is possible at any time and works for the future only (AVG art. 7(3)): :func:`consent_withdraw`
  marks the consent and every later decision sees it; past disclosures and their audit entries stay.

**Standing.** An organisation records a consent only for a person in an active case it takes part in (named in
``case_reference``), or for categories it holds itself (:func:`recorder_standing`). Anyone else gets one answer,
:class:`ConsentNoStanding`, whether the BSN is known, unknown, or known but not in that case.

**No oracle.** Consents are keyed by the subject's BSN, givers are claims, and nothing an organisation is told
derives from the gateway's facts about the subject: after recording the status is always
``awaiting_confirmation``; there is no "unknown person", no age band, no count of custodians, no confirmation of
a capacity. It changes only through what the family does in the portal. The privacy officer finds what the
gateway's facts say in the audit entry.

Each public action owns its transaction and writes exactly one ``consent`` audit entry in it (recorded,
refused, givers_added, confirmed, disputed, withdrawn, expired), with the subject's pseudonym and never a BSN, a
name or free text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from audit.pseudonym import subject_pseudonym
from consent import choices
from consent.models import (
    AgeBand,
    Case,
    CasePerson,
    Consent,
    ConsentAgeRule,
    ConsentGiver,
    ConsentNeeded,
    ConsentRegime,
    DataCategory,
    Organisation,
    Person,
    Purpose,
    Relation,
    Sector,
    SharingRule,
)

logger = logging.getLogger(__name__)

SELF = choices.ConsentCapacity.SELF.value
PARENT_WITH_CUSTODY = choices.ConsentCapacity.PARENT_WITH_CUSTODY.value
GUARDIAN = choices.ConsentCapacity.GUARDIAN.value
GI_GUARDIAN = choices.ConsentCapacity.GI_GUARDIAN.value
CURATOR = choices.ConsentCapacity.CURATOR.value
MENTOR = choices.ConsentCapacity.MENTOR.value
LEGAL_REPRESENTATIVE = "legal_representative"  # in ``missing`` only: a representative of any kind
# Relation kinds that make someone the subject's representative, in order of precedence (a parent with custody who
# is also a guardian counts as the parent). A GI acting as guardian comes from its guardianship measure, keyed
# ``org:<slug>`` (:func:`guardianship_relations`); curator and mentor from relations of those kinds.
REPRESENTATIVE_KINDS = (PARENT_WITH_CUSTODY, GUARDIAN, GI_GUARDIAN, CURATOR, MENTOR)
MISSING_ORDER = (*REPRESENTATIVE_KINDS, LEGAL_REPRESENTATIVE)
ORGANISATION_KEY = "org:"
ALL_REGIMES = frozenset(ConsentRegime.values)
# For which regimes each capacity may consent (who may consent for what, docs/legal-basis.md, issue 11 section):
# - a parent with custody, a guardian and a GI acting as guardian (voogdij, BW 1:245, 1:302 lid 2) are the legal
#   representatives of a minor in every matter;
# - a curator (curatele, BW 1:378, 1:381: since 2014 in property and personal matters) represents an adult who
#   cannot judge in every matter, and BW 7:465 lid 3 names him first for medical treatment;
# - a mentor (mentorschap, BW 1:450, 1:453) represents only in care, treatment and support (verzorging,
#   verpleging, behandeling en begeleiding): the medical, youth-care and Wmo/Veilig Thuis regimes, never consent
#   under the AVG regime (a school's, a housing association's data). A bewindvoerder (property only) is no
#   capacity at all: his consent never counts.
CAPACITY_REGIMES: Mapping[str, frozenset[str]] = {
    PARENT_WITH_CUSTODY: ALL_REGIMES,
    GUARDIAN: ALL_REGIMES,
    GI_GUARDIAN: ALL_REGIMES,
    CURATOR: ALL_REGIMES,
    MENTOR: frozenset(
        {ConsentRegime.MEDICAL.value, ConsentRegime.YOUTH_CARE.value, ConsentRegime.VT_MUNICIPALITY.value}
    ),
}
SECTOR_PREFIX = "sector:"
STRICTEST = ConsentNeeded.CHILD_AND_LEGAL_REPRESENTATIVES.value
SYSTEM_EXPIRE = "system:consent_expire"

# --- The rules, as pure functions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationFact:
    """``person`` (a key, the BSN in the gateway) has relation ``kind`` to the subject in this period."""

    person: str
    kind: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


def legal_representatives_on(
    *, relations: Iterable[RelationFact], on: dt.date, excluded: Collection[str] = frozenset()
) -> dict[str, str]:
    """The subject's representatives on ``on``: everyone with a valid relation of a kind in
    :data:`REPRESENTATIVE_KINDS` (parent with custody, guardian, GI as guardian, curator, mentor), mapped to that
    capacity (a parent without custody is none). ``excluded`` (a suspect or alleged perpetrator in a case of the
    subject) are left out: they are never asked and hold no veto."""
    found: dict[str, str] = {}
    relations = [r for r in relations if r.person not in excluded]
    for kind in REPRESENTATIVE_KINDS:  # a parent with custody who is also a guardian counts as the parent
        for relation in relations:
            if relation.kind == kind and relation.valid_on(on):
                found.setdefault(relation.person, kind)
    return found


def giver_confirmed(
    *, giver: str | None, capacity: str, subject: str | None, relations: Iterable[RelationFact], on: dt.date
) -> bool:
    """Whether ``giver`` had ``capacity`` towards ``subject`` on ``on``: ``self`` is the subject; a parent with
    custody or a guardian has that relation, valid on the date. An unknown giver or subject (``None``) never has."""
    if giver is None or subject is None:
        return False
    if capacity == SELF:
        return giver == subject
    if capacity not in REPRESENTATIVE_KINDS:
        return False  # a bewindvoerder, a foster parent, a parent without custody: no capacity
    return any(r.person == giver and r.kind == capacity and r.valid_on(on) for r in relations)


def age_band(*, age: int, able_to_judge: bool) -> str:
    """The band of the consent age table. A person not able to judge their own interests (wilsonbekwaam) is
    treated as the younger band, the one in which the child's own consent does not count: under 12."""
    if not able_to_judge or age < 12:
        return AgeBand.UNDER_12.value
    if age < 16:
        return AgeBand.FROM_12_TO_15.value
    return AgeBand.FROM_16.value


@dataclass(frozen=True)
class Missing:
    """Who still has to consent: the subject (``self``), or ``count`` more parents with custody, guardians, or
    legal representatives of either kind."""

    capacity: str
    count: int = 1

    @property
    def message(self) -> str:
        if self.capacity == SELF:
            return "The consent of the person it is about is still needed."
        if self.capacity == PARENT_WITH_CUSTODY:
            noun = "parent" if self.count == 1 else "parents"
            return f"The consent of {self.count} more {noun} with custody is still needed."
        if self.capacity == GUARDIAN:
            noun = "guardian" if self.count == 1 else "guardians"
            return f"The consent of {self.count} more {noun} is still needed."
        if self.capacity == GI_GUARDIAN:
            return "The consent of the certified institution acting as guardian is still needed."
        if self.capacity in (CURATOR, MENTOR):
            return f"The consent of the {self.capacity} is still needed."
        return (
            "The consent of a legal representative (a parent with custody, a guardian, a curator or a mentor) is "
            "still needed."
        )

    def as_dict(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "count": self.count, "message": self.message}


@dataclass(frozen=True)
class Sufficiency:
    """The outcome of :func:`givers_suffice`: the band used, what each regime asked, and who is missing."""

    band: str
    needs: tuple[tuple[str, str], ...]  # (regime, consent needed), sorted by regime
    missing: tuple[Missing, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def _asks(needed: str, able_to_judge: bool) -> tuple[bool, bool]:
    """(the child's consent, the legal representatives' consent) that a cell of the table asks for."""
    if needed == ConsentNeeded.CHILD:
        return True, False
    if needed == ConsentNeeded.LEGAL_REPRESENTATIVES:
        return False, True
    if needed == ConsentNeeded.CHILD_IF_ABLE_ELSE_LEGAL_REPRESENTATIVES:
        return able_to_judge, not able_to_judge
    return True, True  # child_and_legal_representatives, and anything unknown: the strictest


def needed_for(
    *, regime: str, band: str, rules: Mapping[tuple[str, str], str], own_12_15: Collection[str] = frozenset()
) -> str:
    """Whose consent ``regime`` asks in ``band``: the table's cell (a missing one: the strictest), except that a
    12-15-year-old who can judge consents alone to a disclosure in the regimes of ``GATEWAY_CONSENT_12_15_OWN``
    (BW 7:457 with 7:465 for medical data, Jeugdwet 7.3.11 with 7.3.15 for youth care: unsettled law, so a
    setting). The band 12_15 is never given for someone who cannot judge (:func:`age_band`)."""
    if band == AgeBand.FROM_12_TO_15.value and regime in own_12_15:
        return ConsentNeeded.CHILD.value
    return rules.get((regime, band), STRICTEST)


def may_represent(capacity: str, regime: str) -> bool:
    """Whether a representative in ``capacity`` may consent for data under ``regime`` (:data:`CAPACITY_REGIMES`)."""
    return regime in CAPACITY_REGIMES.get(capacity, frozenset())


def givers_suffice(
    *,
    age: int,
    able_to_judge: bool,
    regimes: Iterable[str],
    rules: Mapping[tuple[str, str], str],
    representatives: Mapping[str, str],
    givers: Iterable[tuple[str, str]],
    all_custodians: bool,
    own_12_15: Collection[str] = frozenset(),
) -> Sufficiency:
    """Whether the confirmed ``givers`` (key, capacity) suffice for a subject of ``age`` for every regime.

    ``rules`` maps (regime, band) to a :class:`~consent.models.ConsentNeeded` value (the consent age table); a
    missing cell asks for the strictest (the child and the legal representatives), so a gap never loosens.
    ``representatives`` are the subject's legal representatives on the date (key → capacity), see
    :func:`legal_representatives_on`. With ``all_custodians`` every one of them must consent (the default: it
    is not settled that one parent with custody suffices), else one is enough. A ``self`` giver is the subject;
    a giver counts as representative only when they are one on the date. Each regime counts only the
    representatives whose capacity covers it (:func:`may_represent`: a mentor not for AVG-regime data), and asks
    what it asks: a consent naming the data of several holders needs what each of their regimes asks.
    ``own_12_15``: :func:`needed_for`.
    """
    band = age_band(age=age, able_to_judge=able_to_judge)
    regime_set = sorted(set(regimes)) or [ConsentRegime.AVG.value]
    needs = tuple(
        (regime, needed_for(regime=regime, band=band, rules=rules, own_12_15=own_12_15)) for regime in regime_set
    )
    given = list(givers)
    consented = {key for key, capacity in given if capacity != SELF and key in representatives}
    child_needed = False
    outstanding: dict[str, int] = {}  # capacity -> how many more, the most any regime asks
    for regime, needed in needs:
        child, reps = _asks(needed, able_to_judge)
        child_needed = child_needed or child
        if not reps:
            continue
        eligible = {key: cap for key, cap in representatives.items() if may_represent(cap, regime)}
        if not eligible:
            outstanding[LEGAL_REPRESENTATIVE] = 1
        elif all_custodians:
            for cap, count in Counter(cap for key, cap in eligible.items() if key not in consented).items():
                outstanding[cap] = max(outstanding.get(cap, 0), count)
        elif not consented & set(eligible):
            kinds = set(eligible.values())
            cap = kinds.pop() if len(kinds) == 1 else LEGAL_REPRESENTATIVE
            outstanding[cap] = max(outstanding.get(cap, 0), 1)

    missing: list[Missing] = []
    if child_needed and not any(capacity == SELF for _, capacity in given):
        missing.append(Missing(SELF))
    missing.extend(Missing(cap, outstanding[cap]) for cap in MISSING_ORDER if outstanding.get(cap))
    return Sufficiency(band=band, needs=needs, missing=tuple(missing))


# --- Every day of the period --------------------------------------------------------------------------------

AGE_THRESHOLDS = (12, 16)  # the ages at which the band of the age table changes
EXCLUDING_ROLES = frozenset({choices.CaseRole.SUSPECT.value, choices.CaseRole.ALLEGED_PERPETRATOR.value})


@dataclass(frozen=True)
class SubjectProfile:
    """The gateway's own facts about a subject that decide whose consent counts: the date of birth, whether they
    can judge their own interests (recorded per person), the relations that make someone their representative
    (keyed by BSN, a GI as guardian by ``org:<slug>``, with their validity), and ``excluded``: everyone who is a
    suspect or alleged perpetrator in a case in which the subject has a role (never asked, no veto, and their
    confirmation never counts)."""

    bsn: str
    date_of_birth: dt.date
    able_to_judge: bool
    relations: tuple[RelationFact, ...]
    excluded: frozenset[str] = frozenset()

    def age_on(self, day: dt.date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class GiverClaim:
    """A giver as a consent names them: BSN, capacity, and whether they confirmed it in the portal."""

    bsn: str
    capacity: str
    confirmed: bool = False


def _birthday(born: dt.date, years: int) -> dt.date:
    """The first day on which someone born on ``born`` is ``years`` old (29 February: 1 March)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return dt.date(born.year + years, 3, 1)


def check_days(*, profile: SubjectProfile, valid_from: dt.date, valid_until: dt.date | None) -> list[dt.date]:
    """The days of the period on which whose consent counts can change: the first day, the 12th and 16th
    birthdays, and each representative relation's first day and the day after its last. Between two of these
    nothing changes, so checking them checks every day; with an open end, the last one stands for ever after."""
    points = {_birthday(profile.date_of_birth, years) for years in AGE_THRESHOLDS}
    for relation in profile.relations:
        if relation.valid_from is not None:
            points.add(relation.valid_from)
        if relation.valid_until is not None:
            points.add(relation.valid_until + dt.timedelta(days=1))
    inside = {p for p in points if valid_from < p and (valid_until is None or p <= valid_until)}
    return sorted({valid_from, *inside})


@dataclass(frozen=True)
class ConsentCheck:
    """What the gateway's facts say about a consent over its whole period.

    ``contradicted``: on some day a giver did not have the capacity claimed, or the givers named do not suffice
    under the age table (it counts for nobody). ``confirmed``: on every day the givers who confirmed in the
    portal (none of them excluded) suffice. ``rules_applied``: the cells of the table used, as (regime, band,
    consent needed, version).
    """

    contradicted: bool
    confirmed: bool
    rules_applied: tuple[tuple[str, str, str, int | None], ...] = ()

    @property
    def active(self) -> bool:
        return self.confirmed and not self.contradicted


def _cell_version(
    rules: Mapping[tuple[str, str], tuple[str, int | None]], regime: str, band: str, needed: str
) -> int | None:
    """The version of the table cell applied; ``None`` when no cell was (a gap, or the 12-15 setting)."""
    cell = rules.get((regime, band))
    return cell[1] if cell is not None and cell[0] == needed else None


def consent_check(
    *,
    profile: SubjectProfile,
    regimes: Iterable[str],
    givers: Sequence[GiverClaim],
    valid_from: dt.date,
    valid_until: dt.date | None,
    rules: Mapping[tuple[str, str], tuple[str, int | None]],
    all_custodians: bool,
    own_12_15: Collection[str] = frozenset(),
) -> ConsentCheck:
    """Check a consent against the subject's facts on every day of its period (:func:`check_days`).

    A custodial parent who is a suspect or alleged perpetrator in a case of the subject is never asked and holds
    no veto (issue 11, item 7): he is left out of the representatives (the others' consent suffices; if he is the
    only one, nobody can consent for the child and the holder decides), and his own confirmation never counts.
    ``rules`` maps (regime, band) to (consent needed, version); a missing cell asks the strictest
    (:func:`givers_suffice`); ``own_12_15`` is ``GATEWAY_CONSENT_12_15_OWN`` (:func:`needed_for`; a cell it
    replaces is cited with version ``None``).
    """
    regimes = list(regimes)
    table = {key: needed for key, (needed, _) in rules.items()}
    contradicted = False
    confirmed = bool(givers)
    applied: set[tuple[str, str, str, int | None]] = set()
    for day in check_days(profile=profile, valid_from=valid_from, valid_until=valid_until):
        representatives = legal_representatives_on(relations=profile.relations, on=day, excluded=profile.excluded)
        holds = {
            g.bsn: giver_confirmed(
                giver=g.bsn, capacity=g.capacity, subject=profile.bsn, relations=profile.relations, on=day
            )
            for g in givers
        }
        counted = [
            (g.bsn, g.capacity) for g in givers if g.confirmed and holds[g.bsn] and g.bsn not in profile.excluded
        ]
        claimed, by_confirmations = (
            givers_suffice(
                age=profile.age_on(day),
                able_to_judge=profile.able_to_judge,
                regimes=regimes,
                rules=table,
                representatives=representatives,
                givers=named,
                all_custodians=all_custodians,
                own_12_15=own_12_15,
            )
            for named in ([(g.bsn, g.capacity) for g in givers], counted)
        )
        applied.update(
            (regime, claimed.band, needed, _cell_version(rules, regime, claimed.band, needed))
            for regime, needed in claimed.needs
        )
        if not all(holds.values()) or not claimed.complete:
            contradicted = True
        if not by_confirmations.complete:
            confirmed = False
    return ConsentCheck(contradicted=contradicted, confirmed=confirmed, rules_applied=tuple(sorted(applied, key=str)))


# --- Errors -----------------------------------------------------------------------------------------------


class ConsentError(Exception):
    """A consent action refused; the API turns it into problem details (``status_code``, ``code``, ``errors``)."""

    status_code = 400
    code = "invalid_request"
    title = "Invalid request"

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if code is not None:
            self.code = code


class ConsentInvalid(ConsentError):
    """The input cannot be recorded (explicit consent required, a ``self`` giver who is not the subject, ...).
    Never about the gateway's facts on the subject."""


class ConsentNoStanding(ConsentError):
    """The recorder takes no part in an active case with the subject named in the request and does not hold
    every category named. One answer whatever the reason, so it tells nothing about the person."""

    status_code = 403
    code = "no_standing"
    title = "No standing to record this consent"

    def __init__(self) -> None:
        super().__init__(
            "Your organisation may record a consent only for a person in an active case it takes part in, named "
            "in case_reference, or for categories it holds itself."
        )


class ConsentNotFound(ConsentError):
    """No such consent for this organisation (never "exists but not yours")."""

    status_code = 404
    code = "not_found"
    title = "Not found"


class ConsentConflict(ConsentError):
    """The consent's state does not allow the action (withdrawn, expired, already confirmed)."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


class ConsentNotAllowed(ConsentError):
    """A portal user may not confirm or dispute this consent (not the subject, not a legal representative, or
    a suspect in a case of the child)."""

    status_code = 403
    code = "not_allowed"
    title = "Not allowed"


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


# --- Reads ------------------------------------------------------------------------------------------------

OPEN_STATUSES = (choices.ConsentStatus.AWAITING_CONFIRMATION, choices.ConsentStatus.ACTIVE)


@dataclass(frozen=True)
class GiverInput:
    """A giver as the caller names them: a BSN and the capacity claimed."""

    bsn: str
    capacity: str


@dataclass(frozen=True)
class ConsentResult:
    """What a recording action returns: the consent and the index of its audit entry."""

    consent: Consent
    audit_index: int


def age_rules() -> dict[tuple[str, str], tuple[str, int | None]]:
    """The consent age table as it is now: (regime, band) → (consent needed, version)."""
    return {(rule.regime, rule.band): (rule.consent_needed, rule.version) for rule in ConsentAgeRule.objects.all()}


def all_custodians_required() -> bool:
    """``GATEWAY_CONSENT_ALL_CUSTODIANS``: all parents with custody must consent (default), or one suffices."""
    return bool(getattr(settings, "GATEWAY_CONSENT_ALL_CUSTODIANS", True))


def own_consent_12_15() -> frozenset[str]:
    """``GATEWAY_CONSENT_12_15_OWN``: the regimes in which a 12-15-year-old who can judge consents alone."""
    return frozenset(getattr(settings, "GATEWAY_CONSENT_12_15_OWN", frozenset({"medical", "youth_care"})))


def representative_relations(subject: Person) -> list[RelationFact]:
    """The relations that can make someone the subject's representative, keyed by BSN, and a certified
    institution's guardianship measure on the subject (voogdij, BW 1:302 lid 2), keyed ``org:<slug>``."""
    relations = [
        RelationFact(person=r.person.bsn, kind=r.kind, valid_from=r.valid_from, valid_until=r.valid_until)
        for r in Relation.objects.filter(other=subject, kind__in=REPRESENTATIVE_KINDS).select_related("person")
    ]
    guardianships = subject.measures.filter(
        kind=choices.MeasureKind.GUARDIANSHIP, organisation__sector__code="certified_institution"
    ).select_related("organisation")
    relations.extend(
        RelationFact(
            person=ORGANISATION_KEY + m.organisation.slug,
            kind=GI_GUARDIAN,
            valid_from=m.valid_from,
            valid_until=m.valid_until,
        )
        for m in guardianships
    )
    return relations


def excluded_from_confirming(subject: Person) -> frozenset[str]:
    """BSNs of everyone who is a suspect or alleged perpetrator in a case (open or closed: the protection does
    not end with the case) in which ``subject`` has a role; their confirmation of a consent never counts."""
    return frozenset(
        CasePerson.objects.filter(case__persons__person=subject, role__in=EXCLUDING_ROLES)
        .exclude(person=subject)
        .values_list("person__bsn", flat=True)
    )


def subject_profile(subject_bsn: str) -> SubjectProfile | None:
    """The gateway's facts about the person with ``subject_bsn``, or ``None`` when it does not know them."""
    person = Person.objects.filter(bsn=subject_bsn).first()
    if person is None:
        return None
    return SubjectProfile(
        bsn=person.bsn,
        date_of_birth=person.date_of_birth,
        able_to_judge=person.able_to_judge,
        relations=tuple(representative_relations(person)),
        excluded=excluded_from_confirming(person),
    )


def giver_claims(consent: Consent) -> list[GiverClaim]:
    """The givers as :func:`consent_check` takes them: a confirmed giver in the capacity they confirmed in (the
    person vouches for themselves, over what the recorder named), anyone else as named. A giver in capacity
    ``gi_guardian`` is the recording organisation itself (``org:<slug>``; the BSN names the youth protection worker
    who signed): a GI acting as guardian demonstrates its own consent by recording it (AVG art. 7(1)), so it is
    confirmed, and it counts only when that organisation holds the guardianship measure on every day."""
    claims = []
    for g in consent.givers.all():
        if g.capacity == GI_GUARDIAN:
            claims.append(GiverClaim(ORGANISATION_KEY + consent.recorded_by.slug, GI_GUARDIAN, True))
        elif g.confirmed_at is not None:
            claims.append(GiverClaim(g.bsn, g.confirmed_capacity, True))
        else:
            claims.append(GiverClaim(g.bsn, g.capacity))
    return claims


CONSENT_BASIS_KINDS = (choices.BasisKind.CONSENT, choices.BasisKind.EXPLICIT_CONSENT)


def consent_regimes(consent: Consent) -> set[str]:
    """The consent regimes a consent must satisfy: the regime follows the holder (issue 11, item 7).

    For each category named, the holders are the sectors of the active consent-based sharing rules that give it
    to a recipient the consent names; each holder's ``Sector.consent_regime`` applies (a school's data: AVG/UAVG
    art. 5, whatever the category's regime), or the category's ``consent_regime`` when the sector names none, when
    a rule names no holder, or when no rule is found. Data of several holders needs what each regime asks."""
    organisations = list(consent.recipient_organisations.all())
    sector_ids = {s.pk for s in consent.recipient_sectors.all()} | {o.sector_id for o in organisations}
    regimes: set[str] = set()
    for category in consent.categories.all():
        rules = (
            SharingRule.objects.filter(active=True, categories=category, legal_basis__kind__in=CONSENT_BASIS_KINDS)
            .filter(
                Q(recipient_organisation__in=organisations)
                | Q(recipient_organisation__isnull=True, recipient_sector__in=sector_ids)
            )
            .select_related("provider_sector", "provider_organisation__sector")
        )
        found = False
        for rule in rules:
            sector = rule.provider_organisation.sector if rule.provider_organisation else rule.provider_sector
            regimes.add((sector.consent_regime if sector else None) or category.consent_regime)
            found = True
        if not found:
            regimes.add(category.consent_regime)
    return regimes


def consent_checked(
    consent: Consent,
    profile: SubjectProfile,
    rules: Mapping[tuple[str, str], tuple[str, int | None]] | None = None,
) -> ConsentCheck:
    """A stored consent checked against the subject's facts and the age table as they are now."""
    return consent_check(
        profile=profile,
        regimes=consent_regimes(consent),
        givers=giver_claims(consent),
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        rules=age_rules() if rules is None else rules,
        all_custodians=all_custodians_required(),
        own_12_15=own_consent_12_15(),
    )


def consents_visible_to(organisation: Organisation) -> QuerySet[Consent]:
    """Consents the organisation recorded or that name it, or its sector, as recipient."""
    return (
        Consent.objects.filter(
            Q(recorded_by=organisation)
            | Q(recipient_organisations=organisation)
            | Q(recipient_sectors=organisation.sector_id)
        )
        .distinct()
        .select_related("recorded_by", "case")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors", "givers")
    )


def consent_search(*, organisation: Organisation, subject_bsn: str) -> list[Consent]:
    """The consents about one BSN that ``organisation`` may see, newest first. Keyed by the BSN, so a BSN the
    gateway does not know gives exactly what a known person gives: the consents recorded for it, or none."""
    return list(consents_visible_to(organisation).filter(subject_bsn=subject_bsn).order_by("-recorded_at", "-pk"))


def recipient_codes(consent: Consent) -> list[str]:
    """The recipients as the API names them: organisation slugs, then ``sector:<code>``."""
    return sorted(o.slug for o in consent.recipient_organisations.all()) + sorted(
        SECTOR_PREFIX + s.code for s in consent.recipient_sectors.all()
    )


def explicit_consent_required(
    *,
    categories: Sequence[DataCategory],
    purposes: Sequence[Purpose],
    organisations: Sequence[Organisation],
    sectors: Sequence[Sector],
) -> bool:
    """Explicit consent (AVG art. 9(2)(a)) is needed for special categories of data, and where an active
    sharing rule that this consent could serve cites a legal basis that requires explicit consent."""
    if any(c.sensitivity == choices.Sensitivity.SPECIAL_ART9 for c in categories):
        return True
    sector_ids = {s.pk for s in sectors} | {o.sector_id for o in organisations}
    return (
        SharingRule.objects.filter(
            active=True,
            legal_basis__requires_explicit_consent=True,
            categories__in=list(categories),
            purposes__in=list(purposes),
        )
        .filter(
            Q(recipient_organisation__in=list(organisations))
            | Q(recipient_organisation__isnull=True, recipient_sector__in=sector_ids)
        )
        .exists()
    )


def recorder_standing(
    *,
    recorder: Organisation,
    subject_bsn: str,
    case: Case | None,
    categories: Collection[str],
    held_categories: Collection[str],
) -> str | None:
    """Why ``recorder`` may record a consent for ``subject_bsn``: ``holder`` (it holds every category named:
    the consent is then about its own data, and it is the one that must be able to demonstrate it, AVG art.
    7(1)), ``case`` (``case`` is active, the recorder takes part in it and the subject has a role in it), or
    ``None``: no standing."""
    if categories and set(categories) <= set(held_categories):
        return "holder"
    if (
        case is not None
        and case.is_active
        and case.participants.filter(pk=recorder.pk).exists()
        and case.persons.filter(person__bsn=subject_bsn).exists()
    ):
        return "case"
    return None


def confirming_capacity(*, viewer: Person, subject_bsn: str, on: dt.date) -> str | None:
    """The capacity in which ``viewer`` can confirm a consent about ``subject_bsn`` on ``on``: ``self``, or the
    representative's relation valid on that day (a parent with custody before a guardian, a curator, a mentor);
    ``None`` for anyone else and for a suspect or alleged perpetrator in a case in which the subject has a role."""
    if viewer.bsn == subject_bsn:
        return SELF
    subject = Person.objects.filter(bsn=subject_bsn).first()
    if subject is None or viewer.bsn in excluded_from_confirming(subject):
        return None
    relations = [r for r in representative_relations(subject) if r.person == viewer.bsn]
    return legal_representatives_on(relations=relations, on=on).get(viewer.bsn)


# --- Audit ------------------------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _facts_detail(consent: Consent) -> dict[str, Any]:
    """For the privacy officer only (never in an answer): what the gateway's facts say about the consent."""
    profile = subject_profile(consent.subject_bsn)
    if profile is None:
        return {"facts": "subject_unknown"}
    check = consent_checked(consent, profile)
    return {
        "facts": "contradicted" if check.contradicted else "consistent",
        "confirmations_suffice": check.confirmed,
        "age_rules": [
            {"regime": regime, "band": band, "consent_needed": needed, "version": version}
            for regime, band, needed, version in check.rules_applied
        ],
    }


def _audit(*, consent: Consent, actor: Actor, outcome: str, extra: Mapping[str, Any], facts: bool = False) -> int:
    """The one ``consent`` entry of an action: codes, capacities and hashes; never a BSN, a name or free text."""
    givers = list(consent.givers.all())
    detail: dict[str, Any] = {
        "status": consent.status,
        "explicit": consent.explicit,
        "purposes": sorted(p.code for p in consent.purposes.all()),
        "categories": sorted(c.code for c in consent.categories.all()),
        "recipients": recipient_codes(consent),
        "givers": sorted(g.capacity for g in givers),
        "confirmed": sorted(g.confirmed_capacity for g in givers if g.confirmed_at is not None),
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "recorded_by": consent.recorded_by.slug,
        "evidence_sha256": _sha256(consent.evidence),
        "consent_regimes": sorted(consent_regimes(consent)),
        "own_consent_12_15": sorted(own_consent_12_15()),
        **extra,
    }
    if facts:
        detail.update(_facts_detail(consent))
    entry = audit_append(
        EntryDraft(
            kind=AuditKind.CONSENT,
            actor=actor,
            subject=subject_pseudonym(consent.subject_bsn),
            case_reference=consent.case.reference if consent.case else None,
            reference=f"consent:{consent.pk}",
            outcome=outcome,
            detail=detail,
        )
    )
    return entry.index


# --- Actions ----------------------------------------------------------------------------------------------


def _check_givers(
    *, given_by: Sequence[GiverInput], subject_bsn: str, already: Iterable[str] = ()
) -> list[dict[str, str]]:
    """Field errors that follow from the input alone, never from the gateway's facts: a giver named twice (or
    already a giver), a ``self`` giver who is not the subject, a representative who is the subject."""
    errors: list[dict[str, str]] = []
    seen = set(already)
    for position, giver in enumerate(given_by):
        if giver.bsn in seen:
            errors.append(
                _error(f"given_by[{position}].bsn", "duplicate_giver", "This person is already a giver of the consent.")
            )
        elif giver.capacity == SELF and giver.bsn != subject_bsn:
            errors.append(
                _error(f"given_by[{position}]", "self_not_subject", "A giver in capacity self is the subject.")
            )
        elif giver.capacity != SELF and giver.bsn == subject_bsn:
            errors.append(
                _error(
                    f"given_by[{position}]",
                    "subject_not_representative",
                    "The subject gives consent in capacity self, not as their own representative.",
                )
            )
        seen.add(giver.bsn)
    return errors


@dataclass
class _Validated:
    """The rows a valid consent names."""

    categories: dict[str, DataCategory]
    purposes: dict[str, Purpose]
    organisations: dict[str, Organisation]
    sectors: dict[str, Sector]
    case: Case | None
    errors: list[dict[str, str]] = field(default_factory=list)


def _validate(
    *,
    recorded_by: Organisation,
    subject_bsn: str,
    given_by: Sequence[GiverInput],
    explicit: bool,
    purposes: Sequence[str],
    recipients: Sequence[str],
    categories: Sequence[str],
    case_reference: str | None,
    valid_from: dt.date,
    valid_until: dt.date | None,
    evidence: str,
) -> _Validated:
    """Every check of a consent that depends on the input and the policy data only, never on the subject."""
    errors: list[dict[str, str]] = []
    category_rows = {c.code: c for c in DataCategory.objects.filter(code__in=list(categories))}
    purpose_rows = {p.code: p for p in Purpose.objects.filter(code__in=list(purposes))}
    org_slugs = [r for r in recipients if not r.startswith(SECTOR_PREFIX)]
    sector_codes = [r.removeprefix(SECTOR_PREFIX) for r in recipients if r.startswith(SECTOR_PREFIX)]
    org_rows = {o.slug: o for o in Organisation.objects.filter(slug__in=org_slugs, active=True)}
    sector_rows = {s.code: s for s in Sector.objects.filter(code__in=sector_codes)}
    for name, values, known in (
        ("categories", categories, category_rows),
        ("purposes", purposes, purpose_rows),
    ):
        if not values:
            errors.append(_error(name, "required", "Name at least one."))
        errors += [
            _error(f"{name}[{i}]", f"unknown_{name[:-1]}", "Unknown code.")
            for i, v in enumerate(values)
            if v not in known
        ]
    if not recipients:
        errors.append(_error("recipients", "required", "Name at least one recipient."))
    for position, recipient in enumerate(recipients):
        if recipient.startswith(SECTOR_PREFIX):
            if recipient.removeprefix(SECTOR_PREFIX) not in sector_rows:
                errors.append(_error(f"recipients[{position}]", "unknown_sector", "Unknown sector."))
        elif recipient not in org_rows:
            errors.append(_error(f"recipients[{position}]", "unknown_organisation", "Unknown organisation."))
    case = Case.objects.filter(reference=case_reference, participants=recorded_by).first() if case_reference else None
    if valid_until is not None and valid_until < valid_from:
        errors.append(_error("valid_until", "before_valid_from", "valid_until is before valid_from."))
    if not evidence.strip():
        errors.append(_error("evidence", "required", "Say how the consent was given."))
    if not given_by:
        errors.append(_error("given_by", "required", "Name at least one giver."))
    if not explicit and explicit_consent_required(
        categories=list(category_rows.values()),
        purposes=list(purpose_rows.values()),
        organisations=list(org_rows.values()),
        sectors=list(sector_rows.values()),
    ):
        errors.append(
            _error(
                "explicit",
                "explicit_required",
                "These categories or this use need explicit consent (AVG art. 9(2)(a)).",
            )
        )
    errors += _check_givers(given_by=given_by, subject_bsn=subject_bsn)
    return _Validated(category_rows, purpose_rows, org_rows, sector_rows, case, errors)


def _create(
    *,
    rows: _Validated,
    subject_bsn: str,
    explicit: bool,
    valid_from: dt.date,
    valid_until: dt.date | None,
    evidence: str,
    recorded_by: Organisation,
    recorded_by_user: str,
) -> Consent:
    consent = Consent.objects.create(
        subject_bsn=subject_bsn,
        subject=Person.objects.filter(bsn=subject_bsn).first(),
        explicit=explicit,
        case=rows.case,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence=evidence.strip(),
        recorded_by=recorded_by,
        recorded_by_user=recorded_by_user,
        status=choices.ConsentStatus.AWAITING_CONFIRMATION,
    )
    consent.purposes.set(list(rows.purposes.values()))
    consent.categories.set(list(rows.categories.values()))
    consent.recipient_organisations.set(list(rows.organisations.values()))
    consent.recipient_sectors.set(list(rows.sectors.values()))
    return consent


def _add_givers(consent: Consent, given_by: Sequence[GiverInput]) -> None:
    persons = {p.bsn: p for p in Person.objects.filter(bsn__in=[g.bsn for g in given_by])}
    ConsentGiver.objects.bulk_create(
        [ConsentGiver(consent=consent, bsn=g.bsn, person=persons.get(g.bsn), capacity=g.capacity) for g in given_by]
    )


def consent_record(
    *,
    recorded_by: Organisation,
    recorded_by_user: str | None,
    subject_bsn: str,
    given_by: Sequence[GiverInput],
    explicit: bool,
    purposes: Sequence[str],
    recipients: Sequence[str],
    categories: Sequence[str],
    case_reference: str | None,
    valid_from: dt.date,
    valid_until: dt.date | None,
    evidence: str,
    held_categories: Collection[str],
    client_id: str | None = None,
) -> ConsentResult:
    """Record a consent an organisation says a family member gave (AVG art. 6(1)(a), 7; explicit under art.
    9(2)(a)) and audit it in one transaction.

    ``held_categories`` are the categories the recorder holds (its active holder endpoints, read by the partner
    edge). The input is checked first, on its own (:class:`ConsentInvalid`, ``400``); then the recorder's
    standing (:func:`recorder_standing`; without it :class:`ConsentNoStanding`, ``403``, and a ``refused``
    entry with the subject's pseudonym so the privacy officer sees the probe). The consent is stored as
    ``awaiting_confirmation`` with the givers as claims, whatever the gateway knows about the person; the
    audit entry keeps what the gateway's facts say (for the officer, never for the answer).
    """
    actor = Actor(organisation=recorded_by.slug, client_id=client_id, acting_user=recorded_by_user)
    rows = _validate(
        recorded_by=recorded_by,
        subject_bsn=subject_bsn,
        given_by=given_by,
        explicit=explicit,
        purposes=purposes,
        recipients=recipients,
        categories=categories,
        case_reference=case_reference,
        valid_from=valid_from,
        valid_until=valid_until,
        evidence=evidence,
    )
    holds_all = bool(categories) and set(categories) <= set(held_categories)
    if holds_all and case_reference and rows.case is None:
        # Only for a holder: whether the recorder takes part in a case says nothing about the subject.
        rows.errors.append(
            _error("case_reference", "unknown_case", "No case with this reference that you take part in.")
        )
    if rows.errors:
        raise ConsentInvalid("The consent cannot be recorded.", rows.errors)
    standing = recorder_standing(
        recorder=recorded_by,
        subject_bsn=subject_bsn,
        case=rows.case,
        categories=categories,
        held_categories=held_categories,
    )
    if standing is None:
        _refusal_record(actor=actor, subject_bsn=subject_bsn, categories=categories, purposes=purposes)
        raise ConsentNoStanding()
    with transaction.atomic():
        consent = _create(
            rows=rows,
            subject_bsn=subject_bsn,
            explicit=explicit,
            valid_from=valid_from,
            valid_until=valid_until,
            evidence=evidence,
            recorded_by=recorded_by,
            recorded_by_user=recorded_by_user or "",
        )
        _add_givers(consent, given_by)
        if any(g.capacity == GI_GUARDIAN for g in given_by):
            # A GI acting as guardian is the representative itself: its recording is its confirmation
            # (giver_claims). The status then says what the gateway knows of its own guardianship, nothing about
            # the family it does not know already.
            _settle_status(consent)
        index = _audit(
            consent=consent, actor=actor, outcome="recorded", extra={"standing": standing, "channel": "api"}, facts=True
        )
    return ConsentResult(consent=consent, audit_index=index)


def _refusal_record(*, actor: Actor, subject_bsn: str, categories: Sequence[str], purposes: Sequence[str]) -> None:
    """A ``refused`` consent entry: who tried to record a consent about whom without standing, and for what."""
    with transaction.atomic():
        audit_append(
            EntryDraft(
                kind=AuditKind.CONSENT,
                actor=actor,
                subject=subject_pseudonym(subject_bsn),
                outcome="refused",
                detail={"reason": "no_standing", "categories": sorted(categories), "purposes": sorted(purposes)},
            )
        )


def consent_give_in_portal(
    *,
    requested_by: Organisation,
    subject_bsn: str,
    giver: Person,
    capacity: str,
    username: str,
    explicit: bool,
    purposes: Sequence[str],
    recipients: Sequence[str],
    categories: Sequence[str],
    case_reference: str | None,
    valid_until: dt.date | None,
    evidence: str,
) -> ConsentResult:
    """Record a consent a family member gives in the portal on an organisation's request, with that giver's
    confirmation already in place: the person's own act is the proof AVG art. 7(1) asks for. It becomes
    ``active`` when the confirmations suffice on every day (:func:`consent_check`), else it waits for the
    others. ``capacity`` is the one :func:`confirming_capacity` gives the giver; no standing is needed."""
    today = timezone.localdate()
    if confirming_capacity(viewer=giver, subject_bsn=subject_bsn, on=today) != capacity:
        raise ConsentNotAllowed("This person cannot give consent for the subject in this capacity.")
    rows = _validate(
        recorded_by=requested_by,
        subject_bsn=subject_bsn,
        given_by=[GiverInput(giver.bsn, capacity)],
        explicit=explicit,
        purposes=purposes,
        recipients=recipients,
        categories=categories,
        case_reference=case_reference,
        valid_from=today,
        valid_until=valid_until,
        evidence=evidence,
    )
    if case_reference and rows.case is None:
        rows.errors.append(_error("case_reference", "unknown_case", "No case with this reference."))
    if rows.errors:
        raise ConsentInvalid("The consent cannot be recorded.", rows.errors)
    with transaction.atomic():
        consent = _create(
            rows=rows,
            subject_bsn=subject_bsn,
            explicit=explicit,
            valid_from=today,
            valid_until=valid_until,
            evidence=evidence,
            recorded_by=requested_by,
            recorded_by_user=f"portal:{username}",
        )
        ConsentGiver.objects.create(
            consent=consent,
            bsn=giver.bsn,
            person=giver,
            capacity=capacity,
            confirmed_capacity=capacity,
            confirmed_at=timezone.now(),
            confirmed_by=username,
            added_in_portal=True,
        )
        _settle_status(consent)
        index = _audit(
            consent=consent,
            actor=Actor(user=f"portal:{username}"),
            outcome="recorded",
            extra={"standing": "family", "channel": "portal"},
            facts=True,
        )
    return ConsentResult(consent=consent, audit_index=index)


def _settle_status(consent: Consent) -> None:
    """``active`` when the confirmations suffice on every day and nothing contradicts the givers, else
    ``awaiting_confirmation``; only for a consent still open."""
    profile = subject_profile(consent.subject_bsn)
    active = profile is not None and consent_checked(consent, profile).active
    status = choices.ConsentStatus.ACTIVE if active else choices.ConsentStatus.AWAITING_CONFIRMATION
    if consent.status != status:
        consent.status = status
        consent.save(update_fields=["status"])


def _refuse_if_over(consent: Consent, today: dt.date) -> None:
    if consent.status == choices.ConsentStatus.WITHDRAWN:
        raise ConsentConflict("The consent was withdrawn.", code="consent_withdrawn")
    if consent.status == choices.ConsentStatus.EXPIRED or (
        consent.valid_until is not None and consent.valid_until < today
    ):
        raise ConsentConflict("The consent has expired.", code="consent_expired")


def consent_givers_add(
    *,
    consent: Consent,
    by_organisation: Organisation,
    by_user: str | None,
    given_by: Sequence[GiverInput],
    client_id: str | None = None,
) -> ConsentResult:
    """Add givers (claims, like :func:`consent_record`) to a consent the organisation recorded.

    The status does not change: only the family's confirmation in the portal makes a consent active, and the
    answer says nothing the gateway's facts would. Raises :class:`ConsentNotFound` for another organisation,
    :class:`ConsentConflict` once withdrawn or expired (AVG art. 7(3): a withdrawn consent is not revived) and
    :class:`ConsentInvalid` for a giver named twice or a ``self`` giver who is not the subject.
    """
    with transaction.atomic(durable=True):
        locked = Consent.objects.select_for_update().filter(pk=consent.pk).first()
        if locked is None or locked.recorded_by_id != by_organisation.pk:
            raise ConsentNotFound("There is no such consent recorded by this organisation.")
        _refuse_if_over(locked, timezone.localdate())
        if not given_by:
            raise ConsentInvalid(
                "Name at least one giver.", [_error("given_by", "required", "Name at least one giver.")]
            )
        errors = _check_givers(
            given_by=given_by,
            subject_bsn=locked.subject_bsn,
            already=locked.givers.values_list("bsn", flat=True),
        )
        if errors:
            raise ConsentInvalid("The givers cannot be added.", errors)
        # The status stays as it is: changing it here would tell the recorder what the gateway's facts say about
        # the new claims. A claim they contradict makes the consent count for nobody at decision time.
        _add_givers(locked, given_by)
        index = _audit(
            consent=locked,
            actor=Actor(organisation=by_organisation.slug, client_id=client_id, acting_user=by_user),
            outcome="givers_added",
            extra={"added": sorted(g.capacity for g in given_by)},
            facts=True,
        )
    return ConsentResult(consent=locked, audit_index=index)


def may_withdraw(consent: Consent, organisation: Organisation) -> bool:
    """The recording organisation, or an organisation named as recipient (itself or its sector).

    A family member often tells the professional who relies on the consent that they take it back; AVG art.
    7(3) asks that withdrawing be as easy as giving, and a withdrawal only ever narrows what may be shared."""
    return (
        consent.recorded_by_id == organisation.pk
        or consent.recipient_organisations.filter(pk=organisation.pk).exists()
        or consent.recipient_sectors.filter(pk=organisation.sector_id).exists()
    )


def consent_withdraw(
    *,
    consent: Consent,
    by_organisation: Organisation | None,
    by_user: str | None,
    reason: str,
    client_id: str | None = None,
) -> Consent:
    """Withdraw a consent, effective at once for every later decision and never for the past (AVG art. 7(3)).

    ``by_organisation`` is the recorder or a recipient (:func:`may_withdraw`; anyone else gets
    :class:`ConsentNotFound`); ``None`` is the family's own withdrawal through the portal, which identifies the
    person itself and passes the portal user as ``by_user``. Withdrawing twice, or an expired consent, raises
    :class:`ConsentConflict`. The reason is kept with the consent (the recorder and the recipients read it);
    the audit entry holds only its hash.
    """
    with transaction.atomic(durable=True):
        locked = Consent.objects.select_for_update().filter(pk=consent.pk).first()
        if locked is None or (by_organisation is not None and not may_withdraw(locked, by_organisation)):
            raise ConsentNotFound("There is no such consent for this organisation.")
        if by_organisation is None and not by_user:
            raise ValueError("a withdrawal names the organisation or the portal user that makes it")
        if locked.status == choices.ConsentStatus.WITHDRAWN:
            raise ConsentConflict("The consent was already withdrawn.", code="already_withdrawn")
        _refuse_if_over(locked, timezone.localdate())
        if by_organisation is None:
            role, actor = "portal", Actor(user=by_user)
        else:
            role = "recorder" if locked.recorded_by_id == by_organisation.pk else "recipient"
            actor = Actor(organisation=by_organisation.slug, client_id=client_id, acting_user=by_user)
        locked.status = choices.ConsentStatus.WITHDRAWN
        locked.withdrawn_at = timezone.now()
        locked.withdrawal_reason = reason.strip()
        locked.save(update_fields=["status", "withdrawn_at", "withdrawal_reason"])
        _audit(
            consent=locked,
            actor=actor,
            outcome="withdrawn",
            extra={"withdrawn_by": role, "reason_sha256": _sha256(locked.withdrawal_reason)},
        )
    return locked


def _locked_open(consent: Consent, *, viewer: Person) -> tuple[Consent, str]:
    """The consent locked for a portal action by ``viewer``, and the capacity they act in; refused when it is
    over or when the viewer may not act on it (:func:`confirming_capacity`)."""
    locked = Consent.objects.select_for_update().filter(pk=consent.pk).first()
    if locked is None:
        raise ConsentNotFound("There is no such consent.")
    capacity = confirming_capacity(viewer=viewer, subject_bsn=locked.subject_bsn, on=timezone.localdate())
    if capacity is None:
        raise ConsentNotAllowed("Only the person or a legal representative may answer for this consent.")
    if locked.status == choices.ConsentStatus.WITHDRAWN:
        raise ConsentConflict("The consent was withdrawn.", code="consent_withdrawn")
    _refuse_if_over(locked, timezone.localdate())
    return locked, capacity


def consent_confirm(*, consent: Consent, viewer: Person, username: str) -> Consent:
    """Confirmation, "yes, I gave this": ``viewer`` confirms in the portal that they gave a consent recorded in
    their or their child's name (AVG art. 7(1): the consent can now be demonstrated).

    The confirmation is recorded as that giver, in the capacity their relation to the subject has today
    (:func:`confirming_capacity`; a suspect or alleged perpetrator in a case of the child has none); a giver the
    organisation did not name is added as one (``added_in_portal``, never shown through the API). The consent
    becomes ``active`` once the confirmations suffice on every day of its period and nothing contradicts the
    givers (:func:`consent_check`), else it keeps waiting. Raises :class:`ConsentNotAllowed`,
    :class:`ConsentConflict` (over, or already confirmed by this person).
    """
    with transaction.atomic():
        locked, capacity = _locked_open(consent, viewer=viewer)
        giver = locked.givers.filter(bsn=viewer.bsn).first()
        if giver is not None and giver.confirmed_at is not None:
            raise ConsentConflict("You have already confirmed this consent.", code="already_confirmed")
        claimed = giver.capacity if giver is not None else None
        if giver is None:
            giver = ConsentGiver(consent=locked, bsn=viewer.bsn, capacity=capacity, added_in_portal=True)
        giver.person = viewer
        giver.confirmed_capacity = capacity
        giver.confirmed_at = timezone.now()
        giver.confirmed_by = username
        giver.save()
        if locked.subject_id is None:  # recorded before the gateway knew the person: link them now
            locked.subject = Person.objects.filter(bsn=locked.subject_bsn).first()
            locked.save(update_fields=["subject"])
        _settle_status(locked)
        _audit(
            consent=locked,
            actor=Actor(user=f"portal:{username}"),
            outcome="confirmed",
            extra={"capacity": capacity, "claimed_capacity": claimed},
            facts=True,
        )
    return locked


def consent_dispute(*, consent: Consent, viewer: Person, username: str) -> Consent:
    """Dispute, "I did not give this": the person (or a legal representative who may answer for the child) says the
    consent recorded in their name was never given. It ends at once, like a withdrawal (AVG art. 7(3); a
    consent that cannot be demonstrated is none, art. 7(1)), and its entry has its own outcome, ``disputed``,
    so the privacy officer can find fabricated consents and who recorded them. The organisations see it as
    withdrawn, without a reason."""
    with transaction.atomic(durable=True):
        locked, capacity = _locked_open(consent, viewer=viewer)
        now = timezone.now()
        locked.status = choices.ConsentStatus.WITHDRAWN
        locked.withdrawn_at = now
        locked.disputed_at = now
        locked.withdrawal_reason = ""
        locked.save(update_fields=["status", "withdrawn_at", "disputed_at", "withdrawal_reason"])
        _audit(
            consent=locked,
            actor=Actor(user=f"portal:{username}"),
            outcome="disputed",
            extra={"disputed_by": capacity},
            facts=True,
        )
    return locked


EXPIRING = (
    choices.ConsentStatus.ACTIVE,
    choices.ConsentStatus.AWAITING_CONFIRMATION,
    choices.ConsentStatus.INCOMPLETE,
)


def consent_expire_due(*, today: dt.date) -> int:
    """Mark consents whose ``valid_until`` lies before ``today`` as expired, each in its own transaction with
    its own audit entry; returns how many. Active ones and those still waiting for confirmation expire alike.
    Decisions already treat a past ``valid_until`` as expired; this makes the status say so too."""
    due = Consent.objects.filter(status__in=EXPIRING, valid_until__lt=today).values_list("pk", flat=True)
    expired = 0
    for pk in list(due):
        with transaction.atomic(durable=True):
            consent = (
                Consent.objects.select_for_update().filter(pk=pk, status__in=EXPIRING, valid_until__lt=today).first()
            )
            if consent is None:
                continue  # withdrawn or expired by someone else meanwhile
            consent.status = choices.ConsentStatus.EXPIRED
            consent.save(update_fields=["status"])
            _audit(consent=consent, actor=Actor(user=SYSTEM_EXPIRE), outcome="expired", extra={})
            expired += 1
    return expired


@transaction.atomic
def consent_age_rule_save(*, rule: ConsentAgeRule, changed: bool) -> ConsentAgeRule:
    """Save a cell of the consent age table from the admin; a change gets the next version number, which the
    audit entry of every consent assessed under it cites."""
    if changed:
        # through save(), not update(): django-auditlog (and so the config trail) sees only saves
        current = ConsentAgeRule.objects.select_for_update().values_list("version", flat=True).get(pk=rule.pk)
        rule.version = current + 1
    rule.save()
    return rule
