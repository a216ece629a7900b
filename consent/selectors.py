"""Reads of policy data and of the facts about a subject, shaped for :mod:`consent.policy`."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

import rfc8785
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from consent import choices
from consent.consents import ConsentCheck, age_rules, consent_checked, subject_profile
from consent.models import (
    Consent,
    DataCategory,
    LegalBasis,
    Organisation,
    Person,
    PolicyVersion,
    Purpose,
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


CONFIGURATION_READ_SQL = "SELECT token FROM consent_configurationstate WHERE id = 1"
"""The configuration token now, as a statement: :func:`configuration_token` runs it, and the partner API runs it as a
subquery of the statement that resolves the access token (:mod:`gateway.api.auth`)."""


def configuration_token() -> str | None:
    """The configuration token now (one query; :mod:`consent.configuration`). ``None`` when its row is missing (a
    test database flushed between tests): then nothing is kept and every call builds anew."""
    with connection.cursor() as cursor:  # plain SQL: this runs on every request
        cursor.execute(CONFIGURATION_READ_SQL)
        row = cursor.fetchone()
    return row[0] if row else None


# What this process built at a configuration token: (token, policy). Replaced when the token changes.
_kept_policy: tuple[str, Policy] | None = None


def policy_current(token: str | None = None) -> Policy:
    """The policy in force, registered as a :class:`PolicyVersion` the first time its content is seen.

    Costs one query when the configuration token is the one this process built the policy at (every request but the
    first after a change), none when the caller passes the ``token`` it read in this request (the partner API reads
    it in the statement that resolves the access token, :mod:`gateway.api.auth`); otherwise the snapshot is built from
    the tables and registered again. The built policy is kept only once the transaction it was read in commits (a
    version registered in a transaction that rolls back must never be cited), and it carries the token
    (:attr:`Policy.token`) for the caches keyed on the same token."""
    token = token or configuration_token()
    kept = _kept_policy
    if token is not None and kept is not None and kept[0] == token:
        return kept[1]
    policy = _policy_register(policy_snapshot_build(), token)
    if token is not None:
        transaction.on_commit(lambda: _policy_keep(token, policy))
    return policy


def _policy_keep(token: str, policy: Policy) -> None:
    global _kept_policy
    _kept_policy = (token, policy)


def _policy_register(snapshot: dict[str, Any], token: str | None) -> Policy:
    digest = hashlib.sha256(rfc8785.dumps(snapshot)).hexdigest()
    for _attempt in range(3):
        existing = PolicyVersion.objects.filter(digest=digest).values_list("number", flat=True).first()
        if existing is not None:
            return Policy.from_snapshot(existing, snapshot, token=token)
        try:
            with transaction.atomic():
                number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
                PolicyVersion.objects.create(number=number, digest=digest, snapshot=snapshot)
            return Policy.from_snapshot(number, snapshot, token=token)
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


def consent_facts(*, subject_bsn: str, ids: list[int]) -> tuple[ConsentFact, ...]:
    """The consents ``ids`` recorded for ``subject_bsn`` (those that name the requester, or its sector, as recipient:
    the ``consent`` rows of :data:`FACTS_SQL`), as the decision sees them (:class:`consent.policy.ConsentFact`).
    Keyed by the BSN, so that an unknown person and a known one with the same consent get the same decision.
    ``givers_contradicted`` comes from the gateway's facts about a known person
    (:func:`consent.consents.consent_check`, every day of the period); for an unknown BSN there is nothing to check
    and the holder vouches (it decides, or it recorded the consent itself)."""
    if not ids:
        return ()
    rows = list(
        Consent.objects.filter(pk__in=ids)
        .order_by("pk")
        .select_related("case", "recorded_by")
        .prefetch_related("purposes", "categories", "recipient_organisations", "recipient_sectors", "givers")
    )
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


def can_consent(*, person: Person, on: dt.date) -> bool:
    """Whether the person can consent themselves: 12 or older and able to judge (wilsbekwaam)."""
    return person.able_to_judge and person.age_on(on) >= CONSENT_AGE


# The facts about a known person in one round trip: a row per fact, tagged with what it is. Every part reads
# only rows of the person with the BSN (``%(bsn)s``) and, where the requester matters, of the requester
# (``%(requester)s``): the case roles in active cases it takes part in, the supervision orders on the person,
# those the requester executes on the person's children, the active restrictions with their categories and
# allowances, the named case's pre-authorisations in force, and the consents recorded for the BSN (known person or
# not) that name the requester or its sector (``%(sector)s``) as a recipient. Columns: tag, id, three texts, two
# dates, a number.
FACTS_SQL = """
WITH p AS (SELECT id, date_of_birth, able_to_judge FROM consent_person WHERE bsn = %(bsn)s)
SELECT 'person', p.id, CAST(NULL AS VARCHAR(80)), CAST(NULL AS VARCHAR(80)), CAST(NULL AS VARCHAR(80)),
p.date_of_birth, CAST(NULL AS DATE), CASE WHEN p.able_to_judge THEN 1 ELSE 0 END
FROM p
UNION ALL
SELECT 'case', c.id, c.reference, NULL, NULL, NULL, NULL, NULL
FROM consent_case c JOIN consent_caseperson cp ON cp.case_id = c.id JOIN p ON cp.person_id = p.id
WHERE c.phase <> %(closed)s
AND EXISTS (
    SELECT 1 FROM consent_case_participants cpa WHERE cpa.case_id = c.id AND cpa.organisation_id = %(requester)s
)
UNION ALL
SELECT 'order', m.id, o.slug, NULL, NULL, m.valid_from, m.valid_until, NULL
FROM consent_measure m JOIN p ON m.person_id = p.id JOIN consent_organisation o ON o.id = m.organisation_id
WHERE m.kind = %(order)s
UNION ALL
SELECT 'child_order', m.id, o.slug, NULL, NULL, m.valid_from, m.valid_until, NULL
FROM consent_measure m JOIN consent_organisation o ON o.id = m.organisation_id
WHERE m.kind = %(order)s AND m.organisation_id = %(requester)s AND m.person_id IN (
    SELECT r.other_id FROM consent_relation r JOIN p ON r.person_id = p.id
    WHERE r.kind IN (%(parent)s, %(parent_without_custody)s, %(guardian)s)
    AND (r.valid_from IS NULL OR r.valid_from <= %(on)s) AND (r.valid_until IS NULL OR r.valid_until >= %(on)s)
)
UNION ALL
SELECT 'restriction', r.id, r.kind, NULL, NULL, NULL, NULL, NULL
FROM consent_restriction r JOIN p ON r.person_id = p.id WHERE r.active
UNION ALL
SELECT 'restriction_category', r.id, k.code, NULL, NULL, NULL, NULL, NULL
FROM consent_restriction r JOIN p ON r.person_id = p.id
JOIN consent_restriction_categories rk ON rk.restriction_id = r.id
JOIN consent_datacategory k ON k.id = rk.datacategory_id
WHERE r.active
UNION ALL
SELECT 'restriction_organisation', r.id, o.slug, NULL, NULL, NULL, NULL, NULL
FROM consent_restriction r JOIN p ON r.person_id = p.id
JOIN consent_restriction_allowed_organisations ro ON ro.restriction_id = r.id
JOIN consent_organisation o ON o.id = ro.organisation_id
WHERE r.active
UNION ALL
SELECT 'restriction_sector', r.id, s.code, NULL, NULL, NULL, NULL, NULL
FROM consent_restriction r JOIN p ON r.person_id = p.id
JOIN consent_restriction_allowed_sectors rs ON rs.restriction_id = r.id
JOIN consent_sector s ON s.id = rs.sector_id
WHERE r.active
UNION ALL
SELECT 'preauthorisation', a.id, h.slug, ro.slug, rs.code, a.valid_from, a.valid_until, NULL
FROM consent_preauthorisation a JOIN consent_case c ON c.id = a.case_id
JOIN consent_organisation h ON h.id = a.holder_id
LEFT JOIN consent_organisation ro ON ro.id = a.recipient_organisation_id
LEFT JOIN consent_sector rs ON rs.id = a.recipient_sector_id
WHERE c.reference = %(case)s AND a.withdrawn_at IS NULL AND a.valid_from <= %(on)s AND a.valid_until >= %(on)s
UNION ALL
SELECT 'preauthorisation_category', a.id, k.code, NULL, NULL, NULL, NULL, NULL
FROM consent_preauthorisation a JOIN consent_case c ON c.id = a.case_id
JOIN consent_preauthorisation_categories ak ON ak.preauthorisation_id = a.id
JOIN consent_datacategory k ON k.id = ak.datacategory_id
WHERE c.reference = %(case)s AND a.withdrawn_at IS NULL AND a.valid_from <= %(on)s AND a.valid_until >= %(on)s
UNION ALL
SELECT 'preauthorisation_purpose', a.id, u.code, NULL, NULL, NULL, NULL, NULL
FROM consent_preauthorisation a JOIN consent_case c ON c.id = a.case_id
JOIN consent_preauthorisation_purposes au ON au.preauthorisation_id = a.id
JOIN consent_purpose u ON u.id = au.purpose_id
WHERE c.reference = %(case)s AND a.withdrawn_at IS NULL AND a.valid_from <= %(on)s AND a.valid_until >= %(on)s
UNION ALL
SELECT 'consent', c.id, NULL, NULL, NULL, NULL, NULL, NULL
FROM consent_consent c WHERE c.subject_bsn = %(bsn)s AND (
    EXISTS (SELECT 1 FROM consent_consent_recipient_organisations o
            WHERE o.consent_id = c.id AND o.organisation_id = %(requester)s)
    OR EXISTS (SELECT 1 FROM consent_consent_recipient_sectors s WHERE s.consent_id = c.id AND s.sector_id = %(sector)s)
)
"""


def _date(value: Any) -> dt.date | None:
    """A date column as the database returned it (SQLite gives text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _day(value: Any) -> dt.date:
    """A date column that is never empty."""
    day = _date(value)
    if day is None:
        raise ValueError("a date column that cannot be empty is empty")
    return day


def subject_facts(
    *,
    subject_bsn: str,
    requester: Organisation,
    case_reference: str | None,
    on: dt.date,
) -> SubjectFacts:
    """The facts about the person with ``subject_bsn`` relevant to a request by ``requester`` (see
    :class:`SubjectFacts`): one query, :data:`FACTS_SQL`, and the consents it names when there are some.

    For a person the gateway does not know this is :meth:`SubjectFacts.unknown` with the consents recorded for that
    BSN, so the decision cannot tell the two apart. The facts about who the person is (orders on their children,
    whether they can consent, the case's pre-authorisations) are read whenever a case is named but used only for a
    requester in that active case with the person (no oracle).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            FACTS_SQL,
            {
                "bsn": subject_bsn,
                "requester": requester.pk,
                "sector": requester.sector_id,
                "case": case_reference or "",
                "on": on.isoformat(),
                "closed": choices.CasePhase.CLOSED.value,
                "order": choices.MeasureKind.SUPERVISION_ORDER.value,
                "parent": PARENT_RELATIONS[0].value,
                "parent_without_custody": PARENT_RELATIONS[1].value,
                "guardian": PARENT_RELATIONS[2].value,
            },
        )
        rows = cursor.fetchall()
    by_tag: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for tag, *row in rows:
        by_tag[tag].append(tuple(row))
    consents = consent_facts(subject_bsn=subject_bsn, ids=sorted(pk for pk, *_rest in by_tag["consent"]))
    if not by_tag["person"]:
        return SubjectFacts.unknown(consents=consents)
    ((_pk, _t1, _t2, _t3, born, _d2, able_to_judge),) = by_tag["person"]
    cases = {reference for _pk, reference, *_rest in by_tag["case"]}
    in_named_case = bool(case_reference) and case_reference in cases
    named = in_named_case and case_reference is not None

    def members(tag: str) -> dict[int, frozenset[str]]:
        found: dict[int, set[str]] = defaultdict(set)
        for pk, value, *_rest in by_tag[tag]:
            found[pk].add(value)
        return {pk: frozenset(values) for pk, values in found.items()}

    def orders(tag: str) -> SupervisionOrders:
        ordered = sorted(by_tag[tag], key=lambda r: (_day(r[4]), r[0]))
        return tuple(
            (slug, _day(valid_from), _date(valid_until)) for _pk, slug, _t2, _t3, valid_from, valid_until, _n in ordered
        )

    restricted = members("restriction_category"), members("restriction_organisation"), members("restriction_sector")
    preauthorised = members("preauthorisation_category"), members("preauthorisation_purpose")
    return SubjectFacts(
        in_named_case=in_named_case,
        shares_active_case=bool(cases),
        supervision_orders=orders("order"),
        consents=consents,
        restrictions=tuple(
            RestrictionFact(
                id=pk,
                kind=kind,
                categories=restricted[0].get(pk, frozenset()),
                allowed_organisations=restricted[1].get(pk, frozenset()),
                allowed_sectors=restricted[2].get(pk, frozenset()),
            )
            for pk, kind, *_rest in sorted(by_tag["restriction"])
        ),
        # Facts about who the person is, only for a requester in the named case with them (no oracle).
        child_supervision_orders=orders("child_order") if named else (),
        can_consent=can_consent(person=Person(date_of_birth=_day(born), able_to_judge=bool(able_to_judge)), on=on)
        if named
        else True,
        preauthorisations=tuple(
            PreauthorisationFact(
                id=pk,
                holder=holder,
                recipient_organisation=organisation,
                recipient_sector=sector,
                categories=preauthorised[0].get(pk, frozenset()),
                purposes=preauthorised[1].get(pk, frozenset()),
                case_reference=case_reference,
                valid_from=_day(valid_from),
                valid_until=_day(valid_until),
            )
            for pk, holder, organisation, sector, valid_from, valid_until, _n in sorted(by_tag["preauthorisation"])
        )
        if named and case_reference
        else (),
    )
