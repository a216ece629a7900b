"""The demo world of the Rotterdam-Rijnmond network as plain data (``shared/spec/demo-world.md``).

Nothing here touches the database: :func:`demo.seed.seed_world` writes it. Every person, record and
professional is fictional; the BSNs are in the 9999xxxxx test range and pass the eleven test.

The policy the world runs under (organisations, categories, purposes, legal bases and the sharing agreement, a
demo covenant in which each rule cites a statutory basis or consent) is ``policy/catalogue.yaml``, read here
through :func:`consent.catalogue.catalogue_load`; its rules are designed so that :func:`consent.policy.decide`
gives the outcomes of ``scenarios.md`` (the comment above each group of rules there names the scenarios it
carries). This module keeps what is demo data only: holders and their records, families, cases, measures,
consents, restrictions and logins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consent.bsn import is_valid_bsn
from consent.catalogue import (
    Catalogue,
    CategorySpec,
    LegalBasisSpec,
    OrganisationSpec,
    PurposeSpec,
    RuleSpec,
    SectorSpec,
    catalogue_load,
)

D = dt.date.fromisoformat
AMS = dt.timezone(dt.timedelta(hours=1), "CET")

DEMO_PASSWORD = "veilig-delen-demo"
PRIVACY_GROUP = "privacy_officers"

CASE_STALKING = "CHGK-RR-2026-0001"
CASE_CHILD = "CHGK-RR-2026-0002"

SANNE = "999990007"
MARK = "999990019"
DAAN = "999990020"
LOTTE = "999990032"
FATIMA = "999990044"
YOUSSEF = "999990056"
NOOR = "999990068"
ADAM = "999990081"


# --- Shapes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HolderSpec:
    """The categories an organisation holds and how the gateway reaches them (all ``builtin`` in the demo)."""

    organisation: str
    categories: tuple[str, ...]
    kind: str = "builtin"


@dataclass(frozen=True)
class PersonSpec:
    """A fictional person, identified by a test-range BSN."""

    bsn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    able_to_judge: bool = True


@dataclass(frozen=True)
class RelationSpec:
    """``person`` is ``kind`` of ``other`` (e.g. parent with custody of the child)."""

    person: str
    other: str
    kind: str
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class CaseSpec:
    """A family system worked on by the network, with participating organisations and persons' roles."""

    reference: str
    type: str
    phase: str
    lead_organisation: str
    case_director: str
    opened_on: dt.date
    participants: tuple[str, ...]
    persons: tuple[tuple[str, str], ...]  # (bsn, role)


@dataclass(frozen=True)
class MeasureSpec:
    """A measure on a person (supervision order, house ban, probation) executed by an organisation."""

    person: str
    kind: str
    organisation: str
    valid_from: dt.date
    valid_until: dt.date | None
    case: str | None = None


@dataclass(frozen=True)
class ConsentSpec:
    """A consent as recorded by an organisation, then confirmed in the portal by the family members named in
    ``confirmed_by`` (portal usernames). The seed records and confirms it once, through the actions (so it has
    its audit entries), and never resets its status."""

    subject: str
    givers: tuple[tuple[str, str], ...]  # (bsn, capacity)
    explicit: bool
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    recipient_organisations: tuple[str, ...]
    recipient_sectors: tuple[str, ...]
    case: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    evidence: str
    recorded_by: str
    recorded_by_user: str
    confirmed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestrictionSpec:
    """A restriction on a person. Categories named here are withheld by the policy from anyone not allowed,
    so portal-only kinds (withheld from subject, no-contact order) name no categories."""

    person: str
    kind: str
    categories: tuple[str, ...]
    allowed_organisations: tuple[str, ...]
    allowed_sectors: tuple[str, ...]
    reason: str
    legal_ground: str
    set_by: str
    set_at: dt.datetime
    review_date: dt.date | None


@dataclass(frozen=True)
class RecordSpec:
    """What a holder has about a person in a category: one object, or a list of objects for events."""

    holder: str
    category: str
    bsn: str
    data: dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class UserSpec:
    """A login of the demo: portal users (linked to a person later), the privacy officer and the admin."""

    username: str
    first_name: str
    last_name: str
    email: str
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = field(default_factory=tuple)


# --- The policy ----------------------------------------------------------------------------------------------
# The catalogue (sectors, organisations, categories with fields, purposes, legal bases, the sharing agreement)
# is not demo data: it lives in policy/catalogue.yaml, which a deployment loads with ``policy_import`` and the
# demo through the same import (:func:`demo.seed.seed_world`). The names below are views of that file.

CATALOGUE: Catalogue = catalogue_load()
SECTORS: tuple[SectorSpec, ...] = CATALOGUE.sectors
ORGANISATIONS: tuple[OrganisationSpec, ...] = CATALOGUE.organisations
CATEGORIES: tuple[CategorySpec, ...] = CATALOGUE.categories
PURPOSES: tuple[PurposeSpec, ...] = CATALOGUE.purposes
LEGAL_BASES: tuple[LegalBasisSpec, ...] = CATALOGUE.legal_bases
RULES: tuple[RuleSpec, ...] = CATALOGUE.rules

# The first 17 slugs are fixed by demo-world.md (tests and docs use them); the others are chosen for the demo.
FIXED_SLUGS = tuple(o.slug for o in ORGANISATIONS[:17])


# --- Holders -----------------------------------------------------------------------------------------------
# Categories with one holder are resolved without the request naming a provider. health_summary,
# forensic_medical and school_attendance have several holders: the request names the provider.

HOLDINGS: tuple[HolderSpec, ...] = (
    HolderSpec("gemeente-rotterdam", ("identity", "address", "household")),
    HolderSpec("politie-rotterdam", ("police_incidents", "house_ban", "victim_incidents")),
    HolderSpec(
        "veilig-thuis-rr",
        ("report_content", "reporter_identity", "risk_assessment", "safety_conditions", "case_status", "vt_feedback"),
    ),
    HolderSpec("om-rotterdam", ("criminal_proceedings",)),
    HolderSpec("justid", ("criminal_record",)),  # judicial documentation (Wjsg chapter 2) is Justid's, not the OM's
    HolderSpec("reclassering-rr", ("probation_supervision",)),
    HolderSpec("jeugdbescherming-rr", ("child_protection_measure",)),
    HolderSpec("ggz-rijnmond", ("health_summary",)),
    HolderSpec("huisarts-kralingen", ("health_summary",)),
    HolderSpec("maasstad-ziekenhuis", ("health_summary",)),
    HolderSpec("ggd-forensisch", ("forensic_medical",)),
    HolderSpec("csg-rotterdam", ("forensic_medical",)),
    HolderSpec("school-regenboog", ("school_attendance",)),
    HolderSpec("obs-het-kompas", ("school_attendance",)),
    HolderSpec("maascollege-kralingen", ("school_attendance",)),
    HolderSpec("woonstad-maasstad", ("housing",)),
    HolderSpec("jeugdhulp-rijnmond", ("professional_signals",)),  # what a professional observed (Wmo 5.2.6)
    HolderSpec("slachtofferhulp", ("victim_support",)),
    HolderSpec("vrouwenopvang-rijnmond", ("shelter_stay",)),
)


def holders_of(category: str) -> tuple[str, ...]:
    """The organisations that hold ``category`` in the demo world."""
    return tuple(h.organisation for h in HOLDINGS if category in h.categories)


# --- Families ----------------------------------------------------------------------------------------------

PERSONS: tuple[PersonSpec, ...] = (
    PersonSpec(SANNE, "Sanne", "Jansen", D("1991-03-14")),
    PersonSpec(MARK, "Mark", "de Vries", D("1987-07-02")),
    PersonSpec(DAAN, "Daan", "de Vries", D("2012-05-20")),
    PersonSpec(LOTTE, "Lotte", "de Vries", D("2017-09-09")),
    PersonSpec(FATIMA, "Fatima", "El Amrani", D("1985-01-30")),
    PersonSpec(YOUSSEF, "Youssef", "El Amrani", D("1983-11-11")),
    PersonSpec(NOOR, "Noor", "El Amrani", D("2009-04-04")),
    PersonSpec(ADAM, "Adam", "El Amrani", D("2019-06-15")),
)


def _both_ways(a: str, b: str, kind: str, since: dt.date | None = None) -> tuple[RelationSpec, RelationSpec]:
    return RelationSpec(a, b, kind, since), RelationSpec(b, a, kind, since)


RELATIONS: tuple[RelationSpec, ...] = (
    *_both_ways(SANNE, MARK, "ex_partner", D("2026-09-29")),
    RelationSpec(SANNE, DAAN, "parent_with_custody", D("2012-05-20")),
    RelationSpec(SANNE, LOTTE, "parent_with_custody", D("2017-09-09")),
    RelationSpec(MARK, DAAN, "parent_with_custody", D("2012-05-20")),
    RelationSpec(MARK, LOTTE, "parent_with_custody", D("2017-09-09")),
    *_both_ways(DAAN, LOTTE, "sibling"),
    *_both_ways(FATIMA, YOUSSEF, "partner", D("2007-06-23")),
    RelationSpec(FATIMA, NOOR, "parent_with_custody", D("2009-04-04")),
    RelationSpec(FATIMA, ADAM, "parent_with_custody", D("2019-06-15")),
    RelationSpec(YOUSSEF, NOOR, "parent_with_custody", D("2009-04-04")),
    RelationSpec(YOUSSEF, ADAM, "parent_with_custody", D("2019-06-15")),
    *_both_ways(NOOR, ADAM, "sibling"),
)

CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        reference=CASE_STALKING,
        type="high_risk_ex_partner_stalking",
        phase="safety_assessment",
        lead_organisation="veilig-thuis-rr",
        case_director="M. Bakker (Veilig Thuis Rotterdam Rijnmond)",
        opened_on=D("2026-09-29"),
        participants=(
            "veilig-thuis-rr",
            "politie-rotterdam",
            "om-rotterdam",
            "reclassering-rr",
            "zvh-rr",
            "vrouwenopvang-rijnmond",
            "slachtofferhulp",
        ),
        persons=((SANNE, "victim"), (MARK, "suspect"), (DAAN, "child_involved"), (LOTTE, "child_involved")),
    ),
    CaseSpec(
        reference=CASE_CHILD,
        type="child_abuse_suspicion",
        phase="conditions_followup",
        lead_organisation="gemeente-rotterdam",
        case_director="A. Yilmaz (wijkteam Kralingen)",
        opened_on=D("2025-06-12"),
        participants=(
            "gemeente-rotterdam",
            "veilig-thuis-rr",
            "jeugdbescherming-rr",
            "ggz-rijnmond",
            "school-regenboog",
            "jeugdhulp-rijnmond",
            "huisarts-kralingen",
        ),
        persons=(
            (FATIMA, "legal_representative"),
            (YOUSSEF, "legal_representative"),
            (NOOR, "child_involved"),
            (ADAM, "child_involved"),
        ),
    ),
)

MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec(ADAM, "supervision_order", "jeugdbescherming-rr", D("2025-09-01"), D("2027-06-30"), CASE_CHILD),
    MeasureSpec(MARK, "house_ban", "politie-rotterdam", D("2026-09-29"), D("2026-10-27"), CASE_STALKING),
    MeasureSpec(MARK, "probation", "reclassering-rr", D("2026-11-05"), D("2027-11-04"), CASE_STALKING),
)

# Recorded through the consent actions: by the holder of the data (ggz-rijnmond holds health_summary, so it has
# standing), then confirmed by Fatima in the portal, which makes it active for every holder.
CONSENTS: tuple[ConsentSpec, ...] = (
    ConsentSpec(
        subject=FATIMA,
        givers=((FATIMA, "self"),),
        explicit=True,
        purposes=("care_coordination",),
        categories=("health_summary",),
        recipient_organisations=("gemeente-rotterdam",),
        recipient_sectors=(),
        case=CASE_CHILD,
        valid_from=D("2026-01-15"),
        valid_until=D("2027-05-31"),
        evidence="Toestemmingsformulier ondertekend tijdens behandelgesprek bij GGZ Rijnmond op 2026-01-15 (demo).",
        recorded_by="ggz-rijnmond",
        recorded_by_user="ggz-rijnmond:l.verbeek",
        confirmed_by=("fatima",),
    ),
)

SHIELD_REASON = (
    "Verblijft met de kinderen in de crisisopvang na ernstig geweld en belaging door ex-partner; de "
    "verblijfplaats mag de verdachte niet bereiken."
)

RESTRICTIONS: tuple[RestrictionSpec, ...] = (
    RestrictionSpec(
        person=SANNE,
        kind="shielded_address",
        categories=("address", "shelter_stay"),
        allowed_organisations=("politie-rotterdam", "veilig-thuis-rr"),
        allowed_sectors=(),
        reason=SHIELD_REASON,
        legal_ground="AVG art. 6(1)(d); Wet BRP art. 2.59 (geheimhouding)",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 10, 21, 14, 0, tzinfo=AMS),
        review_date=D("2027-06-01"),
    ),
    # The children live with Sanne: their address would reveal hers.
    RestrictionSpec(
        person=DAAN,
        kind="shielded_address",
        categories=("address", "shelter_stay"),
        allowed_organisations=("politie-rotterdam", "veilig-thuis-rr"),
        allowed_sectors=(),
        reason=SHIELD_REASON,
        legal_ground="AVG art. 6(1)(d); Wet BRP art. 2.59 (geheimhouding)",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 10, 21, 14, 0, tzinfo=AMS),
        review_date=D("2027-06-01"),
    ),
    RestrictionSpec(
        person=LOTTE,
        kind="shielded_address",
        categories=("address", "shelter_stay"),
        allowed_organisations=("politie-rotterdam", "veilig-thuis-rr"),
        allowed_sectors=(),
        reason=SHIELD_REASON,
        legal_ground="AVG art. 6(1)(d); Wet BRP art. 2.59 (geheimhouding)",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 10, 21, 14, 0, tzinfo=AMS),
        review_date=D("2027-06-01"),
    ),
    RestrictionSpec(
        person=SANNE,
        kind="reporter_confidential",
        categories=("reporter_identity",),
        allowed_organisations=(),
        allowed_sectors=("veilig_thuis",),
        reason="De melder (buurvrouw) vreest represailles van de verdachte.",
        legal_ground="Wmo 2015 art. 5.3.1 lid 2",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 9, 29, 11, 15, tzinfo=AMS),
        review_date=D("2027-09-29"),
    ),
    RestrictionSpec(
        person=MARK,
        kind="reporter_confidential",
        categories=("reporter_identity",),
        allowed_organisations=(),
        allowed_sectors=("veilig_thuis",),
        reason="De melder (buurvrouw) vreest represailles van de verdachte.",
        legal_ground="Wmo 2015 art. 5.3.1 lid 2",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 9, 29, 11, 15, tzinfo=AMS),
        review_date=D("2027-09-29"),
    ),
    RestrictionSpec(
        person=MARK,
        kind="no_contact_order",
        categories=(),
        allowed_organisations=(),
        allowed_sectors=(),
        reason="Contactverbod met Sanne Jansen en de kinderen als voorwaarde bij schorsing van de voorlopige "
        "hechtenis.",
        legal_ground="Sv art. 80 (schorsingsvoorwaarden)",
        set_by="om-rotterdam",
        set_at=dt.datetime(2026, 11, 5, 16, 0, tzinfo=AMS),
        review_date=D("2027-01-19"),
    ),
    RestrictionSpec(
        person=SANNE,
        kind="withheld_from_subject",
        categories=(),
        allowed_organisations=(),
        allowed_sectors=(),
        reason="Inzage nu zou de veiligheid van de melder en het lopende veiligheidsonderzoek in gevaar brengen.",
        legal_ground="Wmo 2015 art. 5.3.1 / UAVG art. 41(1)(i)",
        set_by="veilig-thuis-rr",
        set_at=dt.datetime(2026, 11, 6, 9, 0, tzinfo=AMS),
        review_date=D("2027-03-01"),
    ),
)


# --- What the holders know (builtin provider) --------------------------------------------------------------
# Never a shelter location or a shielded address outside the address and shelter_stay categories.


def _identity(bsn: str, gender: str) -> RecordSpec:
    person = next(p for p in PERSONS if p.bsn == bsn)
    return RecordSpec(
        "gemeente-rotterdam",
        "identity",
        bsn,
        {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": person.date_of_birth.isoformat(),
            "gender": gender,
        },
    )


SHELTER_POSTAL = {
    "street": "Postbus",
    "house_number": "58213",
    "postal_code": "3009 KL",
    "city": "Rotterdam",
    "since": "2026-10-21",
    "address_type": "briefadres",
}
FAMILY_HOME_MARK = {
    "street": "Kastanjebloesemstraat",
    "house_number": "41",
    "postal_code": "3062 ZX",
    "city": "Rotterdam",
    "since": "2014-04-01",
    "address_type": "woonadres",
}
FAMILY_HOME_EL_AMRANI = {
    "street": "Zeemanshoedhof",
    "house_number": "17B",
    "postal_code": "3061 QW",
    "city": "Rotterdam",
    "since": "2016-08-01",
    "address_type": "woonadres",
}
HOUSEHOLD_JANSEN = {
    "members": ["Sanne Jansen (1991)", "Daan de Vries (2012)", "Lotte de Vries (2017)"],
    "composition": "Eenoudergezin: moeder met twee kinderen",
}
HOUSEHOLD_EL_AMRANI = {
    "members": [
        "Youssef El Amrani (1983)",
        "Fatima El Amrani (1985)",
        "Noor El Amrani (2009)",
        "Adam El Amrani (2019)",
    ],
    "composition": "Echtpaar met twee kinderen",
}
CASE_STATUS_STALKING = {
    "phase": "safety_assessment",
    "lead_organisation": "Veilig Thuis Rotterdam Rijnmond",
    "opened_on": "2026-09-29",
    "case_director": "M. Bakker",
}
SHELTER_STAY = {"since": "2026-10-21", "shelter_type": "Crisisopvang", "expected_until": "2027-01-31"}

BUILTIN_RECORDS: tuple[RecordSpec, ...] = (
    # Gemeente Rotterdam: identity, address, household.
    _identity(SANNE, "vrouw"),
    _identity(MARK, "man"),
    _identity(DAAN, "man"),
    _identity(LOTTE, "vrouw"),
    _identity(FATIMA, "vrouw"),
    _identity(YOUSSEF, "man"),
    _identity(NOOR, "vrouw"),
    _identity(ADAM, "man"),
    RecordSpec("gemeente-rotterdam", "address", SANNE, SHELTER_POSTAL),
    RecordSpec("gemeente-rotterdam", "address", DAAN, SHELTER_POSTAL),
    RecordSpec("gemeente-rotterdam", "address", LOTTE, SHELTER_POSTAL),
    RecordSpec("gemeente-rotterdam", "address", MARK, FAMILY_HOME_MARK),
    *(RecordSpec("gemeente-rotterdam", "address", b, FAMILY_HOME_EL_AMRANI) for b in (FATIMA, YOUSSEF, NOOR, ADAM)),
    *(RecordSpec("gemeente-rotterdam", "household", b, HOUSEHOLD_JANSEN) for b in (SANNE, DAAN, LOTTE)),
    RecordSpec(
        "gemeente-rotterdam",
        "household",
        MARK,
        {"members": ["Mark de Vries (1987)"], "composition": "Alleenstaand"},
    ),
    *(RecordSpec("gemeente-rotterdam", "household", b, HOUSEHOLD_EL_AMRANI) for b in (FATIMA, YOUSSEF, NOOR, ADAM)),
    # Politie Eenheid Rotterdam: incidents and the house ban.
    RecordSpec(
        "politie-rotterdam",
        "police_incidents",
        MARK,
        [
            {
                "date": "2026-09-28",
                "type": "Huiselijk geweld: mishandeling (art. 300 Sr)",
                "summary": "Buren meldden ruzie in de woning. Verdachte heeft ex-partner geduwd en bij de "
                "keel gegrepen; de kinderen waren aanwezig. Verdachte aangehouden, zorgmelding aan Veilig "
                "Thuis.",
                "registration_number": "PL1700-2026281457",
            },
            {
                "date": "2026-11-02",
                "type": "Belaging (art. 285b Sr)",
                "summary": "Aangifte door ex-partner: sinds half oktober tientallen berichten per week met "
                "dreigende inhoud; verdachte wachtte meermaals bij de school van de kinderen.",
                "registration_number": "PL1700-2026309812",
            },
            {
                "date": "2026-11-10",
                "type": "Overtreding contactverbod",
                "summary": "Verdachte stond bij het schoolhek en sprak zijn dochter aan, ondanks het "
                "contactverbod. Aangehouden en voorgeleid.",
                "registration_number": "PL1700-2026317720",
            },
        ],
    ),
    RecordSpec(
        "politie-rotterdam",
        "house_ban",
        MARK,
        {
            "start_date": "2026-09-29",
            "end_date": "2026-10-27",
            "imposed_by": "Burgemeester van Rotterdam",
            "status": "Afgelopen; verlengd van 10 naar 28 dagen",
        },
    ),
    # The incidents in which Sanne was the victim: what victim support receives (Wpg art. 18 with Bpg art. 4:2),
    # without the narrative about the suspect.
    RecordSpec(
        "politie-rotterdam",
        "victim_incidents",
        SANNE,
        [
            {
                "date": "2026-09-28",
                "type": "Huiselijk geweld: mishandeling (art. 300 Sr)",
                "registration_number": "PL1700-2026281457",
            },
            {"date": "2026-11-02", "type": "Belaging (art. 285b Sr)", "registration_number": "PL1700-2026309812"},
        ],
    ),
    # Veilig Thuis Rotterdam Rijnmond: its own file.
    RecordSpec(
        "veilig-thuis-rr",
        "report_content",
        SANNE,
        {
            "received_on": "2026-09-29",
            "summary": "Zorgmelding van de politie na fysiek geweld door ex-partner in het bijzijn van de "
            "kinderen; eerder adviesgesprek met een buurvrouw over herhaalde ruzies.",
            "concerns": [
                "Partnergeweld met verwurging",
                "Kinderen getuige van geweld",
                "Belaging na scheiding",
            ],
        },
    ),
    *(
        RecordSpec(
            "veilig-thuis-rr",
            "report_content",
            child,
            {
                "received_on": "2026-09-29",
                "summary": "Kind was getuige van geweld tussen de ouders; vader zoekt na de scheiding "
                "contact via school.",
                "concerns": ["Kind getuige van partnergeweld", "Onveiligheid rond school"],
            },
        )
        for child in (DAAN, LOTTE)
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "report_content",
        ADAM,
        {
            "received_on": "2025-06-10",
            "summary": "Melding SEH: meerdere blauwe plekken van verschillende ouderdom; de uitleg van de "
            "ouders past niet bij het letsel.",
            "concerns": [
                "Vermoeden fysieke kindermishandeling",
                "Opvoedingsbelasting bij psychische klachten van moeder",
            ],
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "reporter_identity",
        SANNE,
        {
            "reporter_name": "J. de Wit",
            "reporter_role": "Buurvrouw (omstander)",
            "contact": "Telefonisch, nummer bekend bij Veilig Thuis",
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "reporter_identity",
        ADAM,
        {
            "reporter_name": "Dr. F. Koster",
            "reporter_role": "Kinderarts, Maasstad Ziekenhuis",
            "contact": "Afdeling Spoedeisende Hulp, Maasstad Ziekenhuis",
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "risk_assessment",
        MARK,
        {
            "instrument": "B-SAFER",
            "date": "2026-11-04",
            "risk_level": "hoog",
            "summary": "Escalerend patroon van belaging na de scheiding, eerdere veroordelingen voor geweld "
            "en verwurging op 2026-09-28: hoog risico op herhaling en ernstig geweld tegen ex-partner.",
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "risk_assessment",
        SANNE,
        {
            "instrument": "B-SAFER",
            "date": "2026-11-04",
            "risk_level": "hoog",
            "summary": "Slachtoffer van partnergeweld en belaging; beschermende factoren: verblijf in de "
            "opvang, veiligheidsplan en steun van familie.",
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "safety_conditions",
        MARK,
        {
            "conditions": [
                "Geen contact met Sanne Jansen, direct of via anderen",
                "Niet in de buurt van de school van de kinderen komen",
                "Meewerken aan reclasseringstoezicht en agressieregulatietraining",
            ],
            "agreed_on": "2026-11-06",
            "review_on": "2027-01-06",
        },
    ),
    RecordSpec(
        "veilig-thuis-rr",
        "safety_conditions",
        SANNE,
        {
            "conditions": [
                "Veiligheidsplan met de opvang en Veilig Thuis",
                "Alarmvoorziening (AWARE) via de politie",
                "Kinderen worden door een vaste volwassene naar school gebracht en gehaald",
            ],
            "agreed_on": "2026-11-06",
            "review_on": "2027-01-06",
        },
    ),
    *(RecordSpec("veilig-thuis-rr", "case_status", b, CASE_STATUS_STALKING) for b in (SANNE, MARK, DAAN, LOTTE)),
    # The feedback Veilig Thuis owes the reporter (Wmo 2015 art. 4.1.1 lid 2 sub g): steps only, never content.
    RecordSpec(
        "veilig-thuis-rr",
        "vt_feedback",
        SANNE,
        {
            "steps_taken": ["Melding in behandeling genomen", "Veiligheidsbeoordeling afgerond", "Casus in MDA++"],
            "phase": "Veiligheidsbeoordeling",
            "informed_on": "2026-10-06",
        },
    ),
    # Openbaar Ministerie.
    RecordSpec(
        "om-rotterdam",
        "criminal_proceedings",
        MARK,
        {
            "stage": "Gedagvaard; voorlopige hechtenis geschorst onder voorwaarden",
            "offence": "Belaging (art. 285b Sr) en mishandeling van ex-partner (art. 300 jo. 304 Sr)",
            "next_hearing": "2027-01-19",
            "prosecutor_decision": "Vervolging; opheffing van de schorsing gevorderd na overtreding van het "
            "contactverbod op 2026-11-10",
        },
    ),
    # Jeugdhulp Rijnmond: its signals about Adam, what it may report to Veilig Thuis (Wmo 2015 art. 5.2.6).
    RecordSpec(
        "jeugdhulp-rijnmond",
        "professional_signals",
        ADAM,
        {
            "observed_on": "2026-10-14",
            "signals": ["Blauwe plek op de bovenarm", "Schrikt bij harde stemmen"],
            "actions_taken": "Besproken met moeder; zorgen gedeeld in het casusoverleg",
        },
    ),
    # Justid: the judicial documentation.
    RecordSpec(
        "justid",
        "criminal_record",
        MARK,
        {
            "convictions": [
                "2019: mishandeling (art. 300 Sr), taakstraf 60 uur",
                "2022: bedreiging (art. 285 Sr), voorwaardelijke gevangenisstraf van 2 weken",
            ],
            "last_conviction_date": "2022-06-14",
        },
    ),
    # Reclassering.
    RecordSpec(
        "reclassering-rr",
        "probation_supervision",
        MARK,
        {
            "supervision_type": "Toezicht bij schorsing van de voorlopige hechtenis",
            "start_date": "2026-11-05",
            "end_date": "2027-11-04",
            "special_conditions": [
                "Contactverbod met ex-partner en kinderen",
                "Locatieverbod rond de school van de kinderen",
                "Wekelijkse meldplicht",
                "Agressieregulatietraining",
            ],
            "compliance": "Overtreding van het contactverbod op 2026-11-10 gemeld aan het OM",
        },
    ),
    # Jeugdbescherming.
    RecordSpec(
        "jeugdbescherming-rr",
        "child_protection_measure",
        ADAM,
        {
            "measure": "Ondertoezichtstelling (art. 1:255 BW)",
            "start_date": "2025-09-01",
            "end_date": "2027-06-30",
            "executing_organisation": "Jeugdbescherming Rotterdam Rijnmond",
        },
    ),
    # Health care.
    RecordSpec(
        "ggz-rijnmond",
        "health_summary",
        FATIMA,
        {
            "diagnoses": ["Depressieve stoornis, matig", "Posttraumatische stressstoornis"],
            "treatment": "Ambulante behandeling: cognitieve gedragstherapie en EMDR; antidepressivum",
            "practitioner": "Drs. L. Verbeek, GZ-psycholoog",
            "last_contact": "2026-11-12",
        },
    ),
    RecordSpec(
        "huisarts-kralingen",
        "health_summary",
        SANNE,
        {
            "diagnoses": ["Slaapproblemen", "Spanningsklachten"],
            "treatment": "Gesprekken met de praktijkondersteuner ggz; verwezen naar Slachtofferhulp",
            "practitioner": "R. Visser, huisarts",
            "last_contact": "2026-11-03",
        },
    ),
    RecordSpec(
        "huisarts-kralingen",
        "health_summary",
        ADAM,
        {
            "diagnoses": ["Astma bij inspanning"],
            "treatment": "Inhalatiemedicatie zo nodig; controle door de praktijkondersteuner",
            "practitioner": "R. Visser, huisarts",
            "last_contact": "2026-10-14",
        },
    ),
    RecordSpec(
        "maasstad-ziekenhuis",
        "health_summary",
        ADAM,
        {
            "diagnoses": [
                "Meerdere hematomen van verschillende ouderdom op rug en bovenarmen",
                "Verdenking niet-accidenteel letsel",
            ],
            "treatment": "SEH-bezoek en consult kinderarts; skeletonderzoek zonder afwijkingen",
            "practitioner": "Dr. F. Koster, kinderarts",
            "last_contact": "2025-06-09",
        },
    ),
    RecordSpec(
        "ggd-forensisch",
        "forensic_medical",
        SANNE,
        {
            "examined_on": "2026-09-28",
            "findings_summary": "Letsel passend bij verwurging en duwen; letselverklaring opgesteld op "
            "verzoek van de politie, met toestemming van betrokkene.",
            "injuries": ["Petechiën in het gelaat", "Drukplekken aan de hals", "Kneuzing linker onderarm"],
        },
    ),
    # Schools.
    RecordSpec(
        "school-regenboog",
        "school_attendance",
        LOTTE,
        {
            "school_year": "2026-2027",
            "absences_authorised": 3,
            "absences_unauthorised": 0,
            "last_absence": "2026-10-22",
            "concerns": "Vader stond op 10 november bij het schoolhek; Lotte is sindsdien angstig en stil in de klas.",
        },
    ),
    RecordSpec(
        "school-regenboog",
        "school_attendance",
        ADAM,
        {
            "school_year": "2026-2027",
            "absences_authorised": 4,
            "absences_unauthorised": 6,
            "last_absence": "2026-11-16",
            "concerns": "Regelmatig te laat en ongeoorloofd afwezig; twee keer blauwe plekken gezien, "
            "besproken met de jeugdbeschermer.",
        },
    ),
    RecordSpec(
        "maascollege-kralingen",
        "school_attendance",
        DAAN,
        {
            "school_year": "2026-2027",
            "absences_authorised": 2,
            "absences_unauthorised": 5,
            "last_absence": "2026-11-11",
            "concerns": "Verzuim opgelopen sinds de scheiding van de ouders; de mentor heeft contact met moeder.",
        },
    ),
    RecordSpec(
        "maascollege-kralingen",
        "school_attendance",
        NOOR,
        {
            "school_year": "2026-2027",
            "absences_authorised": 1,
            "absences_unauthorised": 0,
            "last_absence": "2026-09-18",
            "concerns": "Geen zorgen over verzuim; Noor spreekt regelmatig met de schoolmaatschappelijk werker.",
        },
    ),
    # Housing, victim support, shelter.
    RecordSpec(
        "woonstad-maasstad",
        "housing",
        MARK,
        {
            "landlord": "Woningcorporatie Maasstad",
            "tenancy_since": "2014-04-01",
            "rent_arrears": 1240,
            "nuisance_reports": 4,
        },
    ),
    *(
        RecordSpec(
            "woonstad-maasstad",
            "housing",
            b,
            {
                "landlord": "Woningcorporatie Maasstad",
                "tenancy_since": "2016-08-01",
                "rent_arrears": 0,
                "nuisance_reports": 1,
            },
        )
        for b in (FATIMA, YOUSSEF)
    ),
    RecordSpec(
        "slachtofferhulp",
        "victim_support",
        SANNE,
        {
            "support_started": "2026-10-02",
            "support_type": "Emotionele en praktische ondersteuning; begeleiding bij aangifte en strafzaak",
            "contact_person": "E. Mulder, casemanager",
        },
    ),
    *(RecordSpec("vrouwenopvang-rijnmond", "shelter_stay", b, SHELTER_STAY) for b in (SANNE, DAAN, LOTTE)),
)


# --- People who log in -------------------------------------------------------------------------------------

PORTAL_ACCOUNTS: dict[str, str] = {
    "sanne": SANNE,
    "mark": MARK,
    "daan": DAAN,
    "fatima": FATIMA,
    "youssef": YOUSSEF,
    "noor": NOOR,
}


def _portal_user(username: str) -> UserSpec:
    person = next(p for p in PERSONS if p.bsn == PORTAL_ACCOUNTS[username])
    return UserSpec(username, person.given_name, person.family_name, f"{username}@demo.veilig-delen.invalid")


USERS: tuple[UserSpec, ...] = (
    *(_portal_user(name) for name in PORTAL_ACCOUNTS),
    UserSpec(
        "privacy",
        "Paula",
        "Privacy",
        "privacy@demo.veilig-delen.invalid",
        is_staff=True,
        groups=(PRIVACY_GROUP,),
    ),
    UserSpec("admin", "Demo", "Beheerder", "admin@demo.veilig-delen.invalid", is_staff=True, is_superuser=True),
)


# --- Consistency -------------------------------------------------------------------------------------------


def _unique(kind: str, values: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {kind}: {value}")
        seen.add(value)
    return seen


def _check_record_fields(record: RecordSpec, fields: Mapping[str, tuple[str, ...]]) -> None:
    expected = set(fields[record.category])
    items = record.data if isinstance(record.data, list) else [record.data]
    for item in items:
        if set(item) != expected:
            raise ValueError(
                f"{record.holder}/{record.category}/{record.bsn}: fields {sorted(item)} != {sorted(expected)}"
            )


def validate_world() -> None:
    """Check the world's internal references before anything is written; raises ``ValueError``.

    The policy part was checked when :data:`CATALOGUE` was read (:func:`consent.catalogue.catalogue_parse`); here
    only the demo data and its references into the catalogue.
    """
    orgs = {o.slug for o in ORGANISATIONS}
    categories = {c.code for c in CATEGORIES}
    purposes = {p.code for p in PURPOSES}
    persons = _unique("person", (p.bsn for p in PERSONS))
    cases = _unique("case", (c.reference for c in CASES))
    _unique("holder", (h.organisation for h in HOLDINGS))
    _unique("record", (f"{r.holder}/{r.category}/{r.bsn}" for r in BUILTIN_RECORDS))
    problems: list[str] = []
    problems += [f"person {p}: invalid BSN" for p in persons if not is_valid_bsn(p)]
    held = {(h.organisation, c) for h in HOLDINGS for c in h.categories}
    problems += [f"holder {h.organisation}: unknown" for h in HOLDINGS if h.organisation not in orgs]
    problems += [f"holding {o}/{c}: unknown category" for o, c in held if c not in categories]
    fields = {c.code: tuple(f.name for f in c.fields) for c in CATEGORIES}
    for record in BUILTIN_RECORDS:
        if (record.holder, record.category) not in held:
            problems.append(f"record {record.holder}/{record.category}: not a holding")
            continue
        if record.bsn not in persons:
            problems.append(f"record {record.holder}/{record.category}: unknown person {record.bsn}")
        _check_record_fields(record, fields)
    for case in CASES:
        problems += [
            f"case {case.reference}: {o}" for o in (case.lead_organisation, *case.participants) if o not in orgs
        ]
        problems += [f"case {case.reference}: {b}" for b, _ in case.persons if b not in persons]
    problems += [f"relation {r}" for r in RELATIONS if r.person not in persons or r.other not in persons]
    problems += [f"measure {m}" for m in MEASURES if m.person not in persons or m.organisation not in orgs]
    for consent in CONSENTS:
        problems += [f"consent: {c}" for c in consent.categories if c not in categories]
        problems += [f"consent: {p}" for p in consent.purposes if p not in purposes]
        problems += [f"consent: {o}" for o in (*consent.recipient_organisations, consent.recorded_by) if o not in orgs]
        if consent.case is not None and consent.case not in cases:
            problems.append(f"consent: case {consent.case}")
        problems += [f"consent: portal user {u}" for u in consent.confirmed_by if u not in PORTAL_ACCOUNTS]
    for restriction in RESTRICTIONS:
        problems += [f"restriction: {c}" for c in restriction.categories if c not in categories]
        problems += [
            f"restriction: {o}" for o in (*restriction.allowed_organisations, restriction.set_by) if o not in orgs
        ]
    problems += [f"portal account {u}" for u, bsn in PORTAL_ACCOUNTS.items() if bsn not in persons]
    if problems:
        raise ValueError("demo world is inconsistent: " + "; ".join(problems))
