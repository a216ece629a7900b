"""Consents: recording, completing, withdrawing and expiring them (``domain.md`` "Consent", ``api.md`` "Consents").

The law behind each step:

- A consent is a ground for sharing under AVG art. 6(1)(a) and art. 7; for special categories of data (health,
  AVG art. 9) it must be *explicit* (art. 9(2)(a)). A consent permits only what it names: purposes, recipients,
  categories, period and case (checked at decision time by :func:`consent.policy._consent_check`).
- Who must consent for a minor depends on the law that governs the category (its ``consent_regime``) and on the
  child's age on the consent's first day: Jeugdwet art. 7.3.4 (youth care), WGBO, BW art. 7:450 and 7:465
  (medical treatment), Wmo 2015 art. 5.3.3 (Veilig Thuis and the municipality), UAVG art. 5 (consent under the
  AVG). The table is data (:class:`consent.models.ConsentAgeRule`), applied by the pure function
  :func:`givers_suffice`. A consent whose givers do not suffice is stored as ``incomplete`` and permits nothing
  until :func:`consent_givers_add` completes it.
- Withdrawal is possible at any time and works for the future only (AVG art. 7(3)): :func:`consent_withdraw`
  marks the consent and every later decision sees it; past disclosures and their audit entries stay.

Each public action owns its transaction and writes exactly one ``consent`` audit entry in it (recorded,
givers_added, completed, withdrawn, expired), with the subject's pseudonym and never a BSN, a name or free text.

**No oracle for unknown subjects.** A consent needs a :class:`~consent.models.Person`, so nothing can be stored
about a BSN the gateway does not know. Recording a consent for such a BSN is refused with exactly the problem a
known subject gets when a giver's capacity cannot be confirmed: ``400`` with ``giver_capacity_unconfirmed`` on
every ``given_by[i]``. "Unknown person" and "no such relation" look alike. What remains: for a known adult, a
``self`` giver is always confirmed, so an organisation holding the ``consents`` scope (only sectors allowed to
record consent) could tell a known BSN from an unknown one by recording a self-consent. That probe leaves a
``rejected`` entry in the audit trail (or a ``consent`` entry when it succeeds), so it is visible to the privacy
officer; the information-request API keeps its full no-oracle guarantee.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.ledger import Actor, EntryDraft, audit_append
from audit.pseudonym import subject_pseudonym
from consent import choices
from consent.models import (
    AgeBand,
    Case,
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
LEGAL_REPRESENTATIVE = "legal_representative"  # in ``missing`` only: a parent with custody or a guardian
REPRESENTATIVE_KINDS = (PARENT_WITH_CUSTODY, GUARDIAN)  # relation kinds that make a legal representative
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


def legal_representatives_on(*, relations: Iterable[RelationFact], on: dt.date) -> dict[str, str]:
    """The subject's legal representatives on ``on``: every person with a valid ``parent_with_custody`` or
    ``guardian`` relation to the subject, mapped to that capacity (a parent without custody is none)."""
    found: dict[str, str] = {}
    relations = list(relations)
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
        return False
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
        return "The consent of a legal representative (a parent with custody or a guardian) is still needed."

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


def givers_suffice(
    *,
    age: int,
    able_to_judge: bool,
    regimes: Iterable[str],
    rules: Mapping[tuple[str, str], str],
    representatives: Mapping[str, str],
    givers: Iterable[tuple[str, str]],
    all_custodians: bool,
) -> Sufficiency:
    """Whether the confirmed ``givers`` (key, capacity) suffice for a subject of ``age`` for every regime.

    ``rules`` maps (regime, band) to a :class:`~consent.models.ConsentNeeded` value (the consent age table); a
    missing cell asks for the strictest (the child and the legal representatives), so a gap never loosens.
    ``representatives`` are the subject's legal representatives on the date (key → capacity), see
    :func:`legal_representatives_on`. With ``all_custodians`` every one of them must consent (the default: it
    is not settled that one parent with custody suffices), else one is enough. A ``self`` giver is the subject;
    a giver counts as representative only when they are one on the date.
    """
    band = age_band(age=age, able_to_judge=able_to_judge)
    regime_set = sorted(set(regimes)) or [ConsentRegime.AVG.value]
    needs = tuple((regime, rules.get((regime, band), STRICTEST)) for regime in regime_set)
    child_needed = representatives_needed = False
    for _, needed in needs:
        child, reps = _asks(needed, able_to_judge)
        child_needed = child_needed or child
        representatives_needed = representatives_needed or reps

    given = list(givers)
    missing: list[Missing] = []
    if child_needed and not any(capacity == SELF for _, capacity in given):
        missing.append(Missing(SELF))
    if representatives_needed:
        consented = {key for key, capacity in given if capacity != SELF and key in representatives}
        if not representatives:
            missing.append(Missing(LEGAL_REPRESENTATIVE))
        elif all_custodians:
            outstanding = Counter(cap for key, cap in representatives.items() if key not in consented)
            missing.extend(Missing(cap, outstanding[cap]) for cap in REPRESENTATIVE_KINDS if outstanding[cap])
        elif not consented:
            kinds = set(representatives.values())
            missing.append(Missing(kinds.pop() if len(kinds) == 1 else LEGAL_REPRESENTATIVE))
    return Sufficiency(band=band, needs=needs, missing=tuple(missing))


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
    """The input cannot be recorded (a giver's capacity unconfirmed, explicit consent required, ...)."""


class ConsentNotFound(ConsentError):
    """No such consent for this organisation (never "exists but not yours")."""

    status_code = 404
    code = "not_found"
    title = "Not found"


class ConsentConflict(ConsentError):
    """The consent's state does not allow the action (withdrawn, expired)."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


# --- Reads ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiverInput:
    """A giver as the caller names them: a BSN and the capacity claimed."""

    bsn: str
    capacity: str


@dataclass(frozen=True)
class Assessment:
    """A consent checked against the age table: the sufficiency, whether each giver's capacity is confirmed on
    the first day (by BSN), and the table cells applied as (regime, band, consent needed, version)."""

    sufficiency: Sufficiency
    confirmed: Mapping[str, bool]
    rules_applied: tuple[tuple[str, str, str, int | None], ...]


@dataclass(frozen=True)
class ConsentResult:
    """What a recording action returns: the consent, its assessment and the index of its audit entry."""

    consent: Consent
    assessment: Assessment
    audit_index: int


def age_rules() -> dict[tuple[str, str], tuple[str, int]]:
    """The consent age table as it is now: (regime, band) → (consent needed, version)."""
    return {(rule.regime, rule.band): (rule.consent_needed, rule.version) for rule in ConsentAgeRule.objects.all()}


def all_custodians_required() -> bool:
    """``GATEWAY_CONSENT_ALL_CUSTODIANS``: all parents with custody must consent (default), or one suffices."""
    return bool(getattr(settings, "GATEWAY_CONSENT_ALL_CUSTODIANS", True))


def representative_relations(subject: Person) -> list[RelationFact]:
    """The relations that can make someone the subject's legal representative, keyed by BSN."""
    return [
        RelationFact(person=r.person.bsn, kind=r.kind, valid_from=r.valid_from, valid_until=r.valid_until)
        for r in Relation.objects.filter(other=subject, kind__in=REPRESENTATIVE_KINDS).select_related("person")
    ]


def _assess(
    *,
    subject: Person,
    on: dt.date,
    regimes: Iterable[str],
    givers: Sequence[tuple[str, str]],
    relations: Sequence[RelationFact],
) -> Assessment:
    table = age_rules()
    confirmed = {
        bsn: giver_confirmed(giver=bsn, capacity=capacity, subject=subject.bsn, relations=relations, on=on)
        for bsn, capacity in givers
    }
    sufficiency = givers_suffice(
        age=subject.age_on(on),
        able_to_judge=subject.able_to_judge,
        regimes=regimes,
        rules={key: needed for key, (needed, _) in table.items()},
        representatives=legal_representatives_on(relations=relations, on=on),
        givers=[(bsn, capacity) for bsn, capacity in givers if confirmed[bsn]],
        all_custodians=all_custodians_required(),
    )
    applied = tuple(
        (regime, sufficiency.band, needed, (table.get((regime, sufficiency.band)) or (None, None))[1])
        for regime, needed in sufficiency.needs
    )
    for regime, band, _, version in applied:
        if version is None:
            logger.warning("consent age table has no cell for %s/%s; the strictest applies", regime, band)
    return Assessment(sufficiency=sufficiency, confirmed=confirmed, rules_applied=applied)


def consent_assess(consent: Consent) -> Assessment:
    """A stored consent checked against the age table and the relations as they are now, on its first day."""
    return _assess(
        subject=consent.subject,
        on=consent.valid_from,
        regimes=[c.consent_regime for c in consent.categories.all()],
        givers=[(g.person.bsn, g.capacity) for g in consent.givers.all()],
        relations=representative_relations(consent.subject),
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
        .select_related("subject", "recorded_by", "case")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors", "givers__person")
    )


def consent_list(*, organisation: Organisation, subject_bsn: str) -> list[Consent]:
    """The consents about one person that ``organisation`` may see, newest first. An unknown BSN gives the
    same empty list as a known person without consents."""
    return list(consents_visible_to(organisation).filter(subject__bsn=subject_bsn).order_by("-recorded_at", "-pk"))


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


# --- Audit ------------------------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _audit(
    *, consent: Consent, actor: Actor, outcome: str, assessment: Assessment | None, extra: Mapping[str, Any]
) -> int:
    """The one ``consent`` entry of an action: codes, capacities and hashes; never a BSN, a name or free text."""
    detail: dict[str, Any] = {
        "status": consent.status,
        "explicit": consent.explicit,
        "purposes": sorted(p.code for p in consent.purposes.all()),
        "categories": sorted(c.code for c in consent.categories.all()),
        "recipients": recipient_codes(consent),
        "givers": sorted(g.capacity for g in consent.givers.all()),
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "recorded_by": consent.recorded_by.slug,
        "evidence_sha256": _sha256(consent.evidence),
        **extra,
    }
    if assessment is not None:
        detail["missing"] = [m.as_dict() for m in assessment.sufficiency.missing]
        detail["age_rules"] = [
            {"regime": regime, "band": band, "consent_needed": needed, "version": version}
            for regime, band, needed, version in assessment.rules_applied
        ]
    entry = audit_append(
        EntryDraft(
            kind="consent",
            actor=actor,
            subject=subject_pseudonym(consent.subject.bsn),
            case_reference=consent.case.reference if consent.case else None,
            reference=f"consent:{consent.pk}",
            outcome=outcome,
            detail=detail,
        )
    )
    return entry.index


# --- Actions ----------------------------------------------------------------------------------------------


def _check_givers(
    *,
    given_by: Sequence[GiverInput],
    subject: Person | None,
    relations: Sequence[RelationFact],
    on: dt.date,
    already: Iterable[str] = (),
) -> tuple[list[dict[str, str]], dict[str, Person]]:
    """Field errors for givers that are named twice (or already gave) or whose capacity cannot be confirmed."""
    persons = {p.bsn: p for p in Person.objects.filter(bsn__in=[g.bsn for g in given_by])}
    errors: list[dict[str, str]] = []
    seen = set(already)
    for position, giver in enumerate(given_by):
        if giver.bsn in seen:
            errors.append(
                _error(f"given_by[{position}].bsn", "duplicate_giver", "This person is already a giver of the consent.")
            )
        elif not giver_confirmed(
            giver=giver.bsn if giver.bsn in persons else None,
            capacity=giver.capacity,
            subject=subject.bsn if subject is not None else None,
            relations=relations,
            on=on,
        ):
            errors.append(
                _error(
                    f"given_by[{position}]",
                    "giver_capacity_unconfirmed",
                    f"The gateway cannot confirm that this person gives consent as {giver.capacity} for the "
                    "subject on valid_from.",
                )
            )
        seen.add(giver.bsn)
    return errors, persons


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
    client_id: str | None = None,
) -> ConsentResult:
    """Record a consent (AVG art. 6(1)(a), 7; explicit under art. 9(2)(a)) and audit it in one transaction.

    Each giver's capacity is checked on ``valid_from``; then whether the givers suffice for the subject's age
    under each category's regime (Jeugdwet art. 7.3.4, WGBO BW art. 7:450/7:465, Wmo 2015 art. 5.3.3, UAVG
    art. 5). The consent is ``active`` when they do, else ``incomplete`` (stored, permitting nothing). An unknown
    subject is refused like an unconfirmed giver (see the module docstring). Raises :class:`ConsentInvalid`.
    """
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
    case = None
    if case_reference:
        case = Case.objects.filter(reference=case_reference, participants=recorded_by).first()
        if case is None:
            errors.append(
                _error("case_reference", "unknown_case", "No case with this reference that you take part in.")
            )
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
    subject = Person.objects.filter(bsn=subject_bsn).first()
    relations = representative_relations(subject) if subject is not None else []
    giver_errors, persons = _check_givers(given_by=given_by, subject=subject, relations=relations, on=valid_from)
    errors += giver_errors
    if errors:
        raise ConsentInvalid("The consent cannot be recorded.", errors)
    assert subject is not None  # an unknown subject confirms no giver, so it ends above

    pairs = [(g.bsn, g.capacity) for g in given_by]
    assessment = _assess(
        subject=subject,
        on=valid_from,
        regimes=[c.consent_regime for c in category_rows.values()],
        givers=pairs,
        relations=relations,
    )
    with transaction.atomic():
        consent = Consent.objects.create(
            subject=subject,
            explicit=explicit,
            case=case,
            valid_from=valid_from,
            valid_until=valid_until,
            evidence=evidence.strip(),
            recorded_by=recorded_by,
            recorded_by_user=recorded_by_user or "",
            status=(
                choices.ConsentStatus.ACTIVE if assessment.sufficiency.complete else choices.ConsentStatus.INCOMPLETE
            ),
        )
        consent.purposes.set(list(purpose_rows.values()))
        consent.categories.set(list(category_rows.values()))
        consent.recipient_organisations.set(list(org_rows.values()))
        consent.recipient_sectors.set(list(sector_rows.values()))
        ConsentGiver.objects.bulk_create(
            [ConsentGiver(consent=consent, person=persons[bsn], capacity=capacity) for bsn, capacity in pairs]
        )
        index = _audit(
            consent=consent,
            actor=Actor(organisation=recorded_by.slug, client_id=client_id, acting_user=recorded_by_user),
            outcome="recorded",
            assessment=assessment,
            extra={},
        )
    return ConsentResult(consent=consent, assessment=assessment, audit_index=index)


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
    """Add givers to a consent the organisation recorded, with the same checks as :func:`consent_record`.

    An ``incomplete`` consent becomes ``active`` once the givers suffice (outcome ``completed``); otherwise the
    entry's outcome is ``givers_added``. Adding givers never downgrades an active consent. Raises
    :class:`ConsentNotFound` for another organisation, :class:`ConsentConflict` once withdrawn or expired
    (AVG art. 7(3): a withdrawn consent is not revived) and :class:`ConsentInvalid` for unconfirmed givers.
    """
    with transaction.atomic():
        locked = Consent.objects.select_for_update().filter(pk=consent.pk).first()
        if locked is None or locked.recorded_by_id != by_organisation.pk:
            raise ConsentNotFound("There is no such consent recorded by this organisation.")
        _refuse_if_over(locked, timezone.localdate())
        if not given_by:
            raise ConsentInvalid(
                "Name at least one giver.", [_error("given_by", "required", "Name at least one giver.")]
            )
        subject = locked.subject
        relations = representative_relations(subject)
        existing = [(g.person.bsn, g.capacity) for g in locked.givers.select_related("person")]
        errors, persons = _check_givers(
            given_by=given_by,
            subject=subject,
            relations=relations,
            on=locked.valid_from,
            already=[bsn for bsn, _ in existing],
        )
        if errors:
            raise ConsentInvalid("The givers cannot be added.", errors)
        ConsentGiver.objects.bulk_create(
            [ConsentGiver(consent=locked, person=persons[g.bsn], capacity=g.capacity) for g in given_by]
        )
        assessment = _assess(
            subject=subject,
            on=locked.valid_from,
            regimes=[c.consent_regime for c in locked.categories.all()],
            givers=existing + [(g.bsn, g.capacity) for g in given_by],
            relations=relations,
        )
        outcome = "givers_added"
        if locked.status == choices.ConsentStatus.INCOMPLETE and assessment.sufficiency.complete:
            locked.status = choices.ConsentStatus.ACTIVE
            locked.save(update_fields=["status"])
            outcome = "completed"
        index = _audit(
            consent=locked,
            actor=Actor(organisation=by_organisation.slug, client_id=client_id, acting_user=by_user),
            outcome=outcome,
            assessment=assessment,
            extra={"added": sorted(g.capacity for g in given_by)},
        )
    return ConsentResult(consent=locked, assessment=assessment, audit_index=index)


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
    :class:`ConsentConflict`. The reason is kept with the consent; the audit entry holds only its hash.
    """
    with transaction.atomic():
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
            assessment=None,
            extra={"withdrawn_by": role, "reason_sha256": _sha256(locked.withdrawal_reason)},
        )
    return locked


def consent_expire_due(*, today: dt.date) -> int:
    """Mark consents whose ``valid_until`` lies before ``today`` as expired, each in its own transaction with
    its own audit entry; returns how many. Active and incomplete ones expire (an incomplete consent past its
    period can never be completed). Decisions already treat a past ``valid_until`` as expired; this makes the
    status say so too."""
    due = Consent.objects.filter(
        status__in=[choices.ConsentStatus.ACTIVE, choices.ConsentStatus.INCOMPLETE], valid_until__lt=today
    ).values_list("pk", flat=True)
    expired = 0
    for pk in list(due):
        with transaction.atomic():
            consent = (
                Consent.objects.select_for_update()
                .filter(
                    pk=pk,
                    status__in=[choices.ConsentStatus.ACTIVE, choices.ConsentStatus.INCOMPLETE],
                    valid_until__lt=today,
                )
                .first()
            )
            if consent is None:
                continue  # withdrawn or expired by someone else meanwhile
            consent.status = choices.ConsentStatus.EXPIRED
            consent.save(update_fields=["status"])
            _audit(consent=consent, actor=Actor(user=SYSTEM_EXPIRE), outcome="expired", assessment=None, extra={})
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
