"""The demo world of the Rotterdam-Rijnmond network as plain data (``shared/spec/demo-world.md``).

Nothing here touches the database: :func:`demo.seed.seed_world` writes it. Every person, record and
professional is fictional; the BSNs are in the 9999xxxxx test range and pass the eleven test. The sharing
agreement below is a demo covenant: each rule cites a statutory basis or consent from the catalogue, because a
covenant is never a legal basis by itself (``domain.md``).

The rules are designed so that :func:`consent.policy.decide` gives the outcomes of ``scenarios.md``; the
comment above each group of rules names the scenarios it carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consent.bsn import is_valid_bsn

D = dt.date.fromisoformat
AMS = dt.timezone(dt.timedelta(hours=1), "CET")

DEMO_PASSWORD = "veilig-delen-demo"
PRIVACY_GROUP = "privacy_officers"
AGREEMENT_START = D("2025-01-01")
WGS_IN_FORCE = D("2025-03-01")  # the WGS applies since 1 March 2025 (domain.md)
COVENANT_CHGK = "Convenant aanpak huiselijk geweld en kindermishandeling Rotterdam-Rijnmond 2025 (demo)"
COVENANT_ZVH = "Convenant Zorg- en Veiligheidshuis Rotterdam-Rijnmond 2025 (demo)"

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
class SectorSpec:
    """A sector of the network; ``may_record_consent`` grants its clients the ``consents`` scope."""

    code: str
    name_nl: str
    name_en: str
    may_record_consent: bool = False


@dataclass(frozen=True)
class OrganisationSpec:
    """A partner organisation; the regime follows from the sector (police: Wpg, prosecution: Wjsg)."""

    slug: str
    name: str
    sector: str
    professional_secrecy: bool = False

    @property
    def regime(self) -> str:
        return {"police": "wpg", "prosecution": "wjsg"}.get(self.sector, "avg")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a category, with its type (string, date, integer, boolean, list)."""

    name: str
    type: str
    description: str = ""
    reveals_whereabouts: bool = False  # may say where the person stays: withheld under a shielded address


@dataclass(frozen=True)
class CategorySpec:
    """A data category that is decided and released as a whole."""

    code: str
    name_nl: str
    name_en: str
    description: str
    sensitivity: str
    regime: str
    fields: tuple[FieldSpec, ...]
    consent_regime: str = "avg"  # who consents for a minor: youth_care, medical, vt_municipality or avg


@dataclass(frozen=True)
class PurposeSpec:
    """A purpose a partner may ask for (doelbinding)."""

    code: str
    name_nl: str
    name_en: str
    description: str


@dataclass(frozen=True)
class LegalBasisSpec:
    """An entry of the legal-basis catalogue, with plain-language (B1) explanations for the portal."""

    code: str
    kind: str
    reference: str
    description_nl: str
    description_en: str
    requires_consent: bool = False
    requires_explicit_consent: bool = False
    holder_decides: bool = False
    justification_required: bool = False
    emergency_only: bool = False
    needs_confirmation: bool = False


@dataclass(frozen=True)
class RuleSpec:
    """One rule of the sharing agreement; exactly one provider and one recipient (sector or organisation)."""

    code: str
    description: str
    legal_basis: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    provider_sector: str | None = None
    provider_organisation: str | None = None
    recipient_sector: str | None = None
    recipient_organisation: str | None = None
    requires_case_participation: bool = False
    requires_supervision_order: bool = False
    emergency_only: bool = False
    holder_decides: bool = False
    valid_from: dt.date = AGREEMENT_START
    valid_until: dt.date | None = None
    covenant_reference: str = COVENANT_CHGK


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


# --- Sectors and organisations -----------------------------------------------------------------------------

SECTORS: tuple[SectorSpec, ...] = (
    SectorSpec("veilig_thuis", "Veilig Thuis", "Veilig Thuis (domestic violence and child abuse centre)", True),
    SectorSpec("police", "Politie", "Police"),
    SectorSpec("prosecution", "Openbaar Ministerie", "Public Prosecution Service"),
    SectorSpec("probation", "Reclassering", "Probation service"),
    SectorSpec("child_protection_board", "Raad voor de Kinderbescherming", "Child Protection Board"),
    SectorSpec("certified_institution", "Gecertificeerde instelling (jeugdbescherming)", "Youth protection agency"),
    SectorSpec("safety_house", "Zorg- en Veiligheidshuis", "Care and Safety House", True),
    SectorSpec("municipality", "Gemeente (wijkteam)", "Municipality (neighbourhood team)", True),
    SectorSpec("youth_care", "Jeugdhulp", "Youth care", True),
    SectorSpec("mental_health", "Geestelijke gezondheidszorg", "Mental health care", True),
    SectorSpec("general_practice", "Huisartsenzorg", "General practice", True),
    SectorSpec("hospital", "Ziekenhuis", "Hospital"),
    SectorSpec("forensic_medicine", "Forensische geneeskunde", "Forensic medicine"),
    SectorSpec("sexual_violence_centre", "Centrum Seksueel Geweld", "Sexual assault centre"),
    SectorSpec("shelter", "Vrouwenopvang", "Women's shelter"),
    SectorSpec("victim_support", "Slachtofferhulp", "Victim support"),
    SectorSpec("education", "Onderwijs", "Education"),
    SectorSpec("housing", "Woningcorporatie", "Housing association"),
)

# Sectors whose professionals hold a statutory duty of secrecy (beroepsgeheim).
SECRECY_SECTORS = frozenset(
    {
        "general_practice",
        "mental_health",
        "hospital",
        "forensic_medicine",
        "youth_care",
        "sexual_violence_centre",
        "veilig_thuis",
        "certified_institution",
    }
)


def _org(slug: str, name: str, sector: str) -> OrganisationSpec:
    return OrganisationSpec(slug=slug, name=name, sector=sector, professional_secrecy=sector in SECRECY_SECTORS)


# The first 17 slugs are fixed by demo-world.md (tests and docs use them); the others are chosen for the demo.
ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    _org("veilig-thuis-rr", "Veilig Thuis Rotterdam Rijnmond", "veilig_thuis"),
    _org("politie-rotterdam", "Politie Eenheid Rotterdam", "police"),
    _org("om-rotterdam", "Openbaar Ministerie, parket Rotterdam", "prosecution"),
    _org("reclassering-rr", "Reclassering Nederland, regio Rotterdam", "probation"),
    _org("rvdk-rotterdam", "Raad voor de Kinderbescherming, regio Rotterdam", "child_protection_board"),
    _org("jeugdbescherming-rr", "Jeugdbescherming Rotterdam Rijnmond", "certified_institution"),
    _org("zvh-rr", "Zorg- en Veiligheidshuis Rotterdam Rijnmond", "safety_house"),
    _org("gemeente-rotterdam", "Gemeente Rotterdam, wijkteam Kralingen", "municipality"),
    _org("csg-rotterdam", "Centrum Seksueel Geweld Rotterdam", "sexual_violence_centre"),
    _org("ggd-forensisch", "GGD Rotterdam-Rijnmond, forensische geneeskunde", "forensic_medicine"),
    _org("slachtofferhulp", "Slachtofferhulp Nederland", "victim_support"),
    _org("vrouwenopvang-rijnmond", "Vrouwenopvang Rijnmond", "shelter"),
    _org("ggz-rijnmond", "GGZ Rijnmond", "mental_health"),
    _org("huisarts-kralingen", "Huisartsenpraktijk Kralingen", "general_practice"),
    _org("jeugdhulp-rijnmond", "Jeugdhulp Rijnmond", "youth_care"),
    _org("school-regenboog", "Basisschool De Regenboog", "education"),
    _org("woonstad-maasstad", "Woningcorporatie Maasstad", "housing"),
    # Chosen for the demo.
    _org("veilig-thuis-haaglanden", "Veilig Thuis Haaglanden", "veilig_thuis"),
    _org("gemeente-schiedam", "Gemeente Schiedam, sociaal wijkteam", "municipality"),
    _org("gemeente-vlaardingen", "Gemeente Vlaardingen, sociaal wijkteam", "municipality"),
    _org("gemeente-capelle", "Gemeente Capelle aan den IJssel, sociaal team", "municipality"),
    _org("gemeente-maassluis", "Gemeente Maassluis, wijkteam", "municipality"),
    _org("erasmus-mc", "Erasmus MC", "hospital"),
    _org("maasstad-ziekenhuis", "Maasstad Ziekenhuis", "hospital"),
    _org("bouman-ggz", "Bouman GGZ, verslavingszorg", "mental_health"),
    _org("huisarts-hillegersberg", "Huisartsenpraktijk Hillegersberg", "general_practice"),
    _org(
        "leger-des-heils-reclassering",
        "Leger des Heils Jeugdbescherming & Reclassering, Rotterdam",
        "probation",
    ),
    _org("verslavingsreclassering", "Verslavingsreclassering GGZ, regio Rotterdam", "probation"),
    _org(
        "william-schrikker-gi",
        "William Schrikker Stichting Jeugdbescherming & Jeugdreclassering",
        "certified_institution",
    ),
    _org("jeugdhulp-maaspoort", "Jeugdhulp Maaspoort", "youth_care"),
    _org("arosa-opvang", "Arosa, opvang en ondersteuning", "shelter"),
    _org("obs-het-kompas", "Openbare Basisschool Het Kompas", "education"),
    _org("maascollege-kralingen", "Maascollege Kralingen (voortgezet onderwijs)", "education"),
    _org("woonstichting-waterweg", "Woonstichting De Waterweg", "housing"),
)

FIXED_SLUGS = tuple(o.slug for o in ORGANISATIONS[:17])


# --- Data categories ---------------------------------------------------------------------------------------


def _f(name: str, type_: str = "string", description: str = "", *, whereabouts: bool = False) -> FieldSpec:
    return FieldSpec(name=name, type=type_, description=description, reveals_whereabouts=whereabouts)


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "identity",
        "Identiteit",
        "Identity",
        "Name, date of birth and gender as registered (BRP-like).",
        "normal",
        "avg",
        (_f("given_name"), _f("family_name"), _f("date_of_birth", "date"), _f("gender")),
    ),
    CategorySpec(
        "address",
        "Adres",
        "Address",
        "Registered residential or postal address (briefadres). Often shielded for victims.",
        "normal",
        "avg",
        (
            _f("street"),
            _f("house_number"),
            _f("postal_code"),
            _f("city"),
            _f("since", "date"),
            _f("address_type", description="woonadres (residence) or briefadres (postal address)"),
        ),
    ),
    CategorySpec(
        "household",
        "Huishouden",
        "Household",
        "Who lives in the household, without their address.",
        "normal",
        "avg",
        (_f("members", "list", "Name and year of birth of each member"), _f("composition")),
    ),
    CategorySpec(
        "case_status",
        "Stand van de casus",
        "Case status",
        "Phase of the Veilig Thuis case, who leads it and the case director.",
        "normal",
        "avg",
        (_f("phase"), _f("lead_organisation"), _f("opened_on", "date"), _f("case_director")),
        consent_regime="vt_municipality",
    ),
    CategorySpec(
        "report_content",
        "Inhoud van de melding",
        "Report content",
        "What was reported to Veilig Thuis and the concerns it raised.",
        "special_art9",
        "avg",
        (_f("received_on", "date"), _f("summary"), _f("concerns", "list")),
        consent_regime="vt_municipality",
    ),
    CategorySpec(
        "reporter_identity",
        "Identiteit van de melder",
        "Reporter identity",
        "Who reported. Never leaves Veilig Thuis except in a handover to another Veilig Thuis.",
        "reporter_identity",
        "avg",
        (_f("reporter_name"), _f("reporter_role"), _f("contact")),
        consent_regime="vt_municipality",
    ),
    CategorySpec(
        "risk_assessment",
        "Risicotaxatie",
        "Risk assessment",
        "Structured risk assessment: instrument, date, level and a short summary.",
        "special_art9",
        "avg",
        (
            _f("instrument"),
            _f("date", "date"),
            _f("risk_level"),
            _f("summary", description="May name protective factors such as a stay in a shelter.", whereabouts=True),
        ),
        consent_regime="vt_municipality",
    ),
    CategorySpec(
        "safety_conditions",
        "Veiligheidsvoorwaarden",
        "Safety conditions",
        "Conditions agreed to make the situation safe, with their review date.",
        "normal",
        "avg",
        (
            _f("conditions", "list", "May name a safety plan with a shelter.", whereabouts=True),
            _f("agreed_on", "date"),
            _f("review_on", "date"),
        ),
        consent_regime="vt_municipality",
    ),
    CategorySpec(
        "police_incidents",
        "Politiemutaties",
        "Police incidents",
        "Registered incidents (one object per incident).",
        "police_wpg",
        "wpg",
        (_f("date", "date"), _f("type"), _f("summary"), _f("registration_number")),
    ),
    CategorySpec(
        "house_ban",
        "Huisverbod",
        "House ban",
        "Temporary house ban (Wet tijdelijk huisverbod); deliberately without the address it concerns.",
        "police_wpg",
        "wpg",
        (_f("start_date", "date"), _f("end_date", "date"), _f("imposed_by"), _f("status")),
    ),
    CategorySpec(
        "criminal_proceedings",
        "Strafzaak",
        "Criminal proceedings",
        "Stage of the criminal case, the offence, the next hearing and the prosecutor's decision.",
        "justice_wjsg",
        "wjsg",
        (_f("stage"), _f("offence"), _f("next_hearing", "date"), _f("prosecutor_decision")),
    ),
    CategorySpec(
        "criminal_record",
        "Justitiële documentatie",
        "Criminal record",
        "Previous convictions from the judicial documentation.",
        "justice_wjsg",
        "wjsg",
        (_f("convictions", "list"), _f("last_conviction_date", "date")),
    ),
    CategorySpec(
        "probation_supervision",
        "Reclasseringstoezicht",
        "Probation supervision",
        "Supervision by the probation service, its special conditions and compliance.",
        "criminal_art10",
        "avg",
        (
            _f("supervision_type"),
            _f("start_date", "date"),
            _f("end_date", "date"),
            _f("special_conditions", "list"),
            _f("compliance"),
        ),
    ),
    CategorySpec(
        "health_summary",
        "Medische samenvatting",
        "Health summary",
        "Diagnoses, treatment, practitioner and last contact (health data, AVG art. 9).",
        "special_art9",
        "avg",
        (_f("diagnoses", "list"), _f("treatment"), _f("practitioner"), _f("last_contact", "date")),
        consent_regime="medical",
    ),
    CategorySpec(
        "forensic_medical",
        "Forensisch-medisch onderzoek",
        "Forensic medical examination",
        "Findings of a forensic medical examination (letselduiding).",
        "special_art9",
        "avg",
        (_f("examined_on", "date"), _f("findings_summary"), _f("injuries", "list")),
        consent_regime="medical",
    ),
    CategorySpec(
        "child_protection_measure",
        "Kinderbeschermingsmaatregel",
        "Child protection measure",
        "A child protection measure (e.g. supervision order) and who carries it out.",
        "normal",
        "avg",
        (_f("measure"), _f("start_date", "date"), _f("end_date", "date"), _f("executing_organisation")),
        consent_regime="youth_care",
    ),
    CategorySpec(
        "school_attendance",
        "Schoolverzuim",
        "School attendance",
        "Absences in the current school year and the school's concerns.",
        "normal",
        "avg",
        (
            _f("school_year"),
            _f("absences_authorised", "integer"),
            _f("absences_unauthorised", "integer"),
            _f("last_absence", "date"),
            _f("concerns"),
        ),
        consent_regime="youth_care",
    ),
    CategorySpec(
        "housing",
        "Huurgegevens",
        "Housing",
        "Tenancy, rent arrears (in euros) and nuisance reports.",
        "normal",
        "avg",
        (
            _f("landlord"),
            _f("tenancy_since", "date"),
            _f("rent_arrears", "integer", "Arrears in euros"),
            _f("nuisance_reports", "integer"),
        ),
    ),
    CategorySpec(
        "victim_support",
        "Slachtofferhulp",
        "Victim support",
        "Support given by victim support and the contact person.",
        "normal",
        "avg",
        (_f("support_started", "date"), _f("support_type"), _f("contact_person")),
    ),
    CategorySpec(
        "shelter_stay",
        "Verblijf in de opvang",
        "Shelter stay",
        "That a person stays in a shelter, since when and until when; never the location.",
        "normal",
        "avg",
        (_f("since", "date"), _f("shelter_type"), _f("expected_until", "date")),
    ),
)


# --- Purposes ----------------------------------------------------------------------------------------------

PURPOSES: tuple[PurposeSpec, ...] = (
    PurposeSpec(
        "report_to_vt",
        "Melding aan Veilig Thuis",
        "Report to Veilig Thuis",
        "A professional reports concerns about domestic violence or child abuse to Veilig Thuis.",
    ),
    PurposeSpec(
        "vt_safety_assessment",
        "Veiligheidsbeoordeling Veilig Thuis",
        "Veilig Thuis safety assessment",
        "Veilig Thuis assesses within days whether the people involved are safe.",
    ),
    PurposeSpec(
        "vt_investigation",
        "Onderzoek Veilig Thuis",
        "Veilig Thuis investigation",
        "Veilig Thuis investigates whether there is domestic violence or child abuse.",
    ),
    PurposeSpec(
        "care_coordination",
        "Afstemming van zorg",
        "Care coordination",
        "Aligning the help that organisations give to a family.",
    ),
    PurposeSpec(
        "criminal_law",
        "Strafrechtelijke aanpak",
        "Criminal law enforcement",
        "Investigation and prosecution of criminal offences.",
    ),
    PurposeSpec(
        "rvdk_investigation",
        "Raadsonderzoek",
        "Child Protection Board investigation",
        "The Child Protection Board investigates whether a child protection measure is needed.",
    ),
    PurposeSpec(
        "ots_execution",
        "Uitvoering ondertoezichtstelling",
        "Carrying out a supervision order",
        "The youth protection agency carries out a supervision order (OTS) set by the court.",
    ),
    PurposeSpec(
        "probation",
        "Reclasseringstoezicht en -advies",
        "Probation supervision and advice",
        "The probation service advises the court or supervises conditions.",
    ),
    PurposeSpec(
        "victim_support",
        "Ondersteuning van slachtoffers",
        "Victim support",
        "Support and protection of a victim, including shelter.",
    ),
    PurposeSpec(
        "zvh_case_meeting",
        "Casusoverleg Zorg- en Veiligheidshuis",
        "Care and Safety House case meeting",
        "Partners jointly discuss a complex case in the Zorg- en Veiligheidshuis (WGS).",
    ),
    PurposeSpec(
        "acute_danger",
        "Acuut gevaar",
        "Acute danger",
        "Averting an acute danger to someone's life or health; emergency access, always reviewed.",
    ),
)


# --- Legal-basis catalogue ---------------------------------------------------------------------------------
# References marked "(confirm)" in domain.md carry needs_confirmation: a privacy officer checks them.

LEGAL_BASES: tuple[LegalBasisSpec, ...] = (
    LegalBasisSpec(
        "AVG_6_1_A",
        "consent",
        "AVG art. 6(1)(a), art. 7",
        "U heeft toestemming gegeven om deze gegevens te delen. U mag die toestemming altijd weer intrekken.",
        "You gave permission to share this information. You can withdraw that permission at any time.",
        requires_consent=True,
    ),
    LegalBasisSpec(
        "AVG_9_2_A",
        "explicit_consent",
        "AVG art. 9(2)(a)",
        "U heeft uitdrukkelijk toestemming gegeven om gegevens over uw gezondheid te delen. U mag die "
        "toestemming altijd weer intrekken.",
        "You explicitly agreed that information about your health may be shared. You can withdraw that "
        "permission at any time.",
        requires_consent=True,
        requires_explicit_consent=True,
    ),
    LegalBasisSpec(
        "AVG_6_1_D",
        "vital_interest",
        "AVG art. 6(1)(d)",
        "Er was acuut gevaar voor iemands leven of gezondheid. Dan mogen gegevens gedeeld worden om dat "
        "gevaar te stoppen. Dit wordt altijd achteraf gecontroleerd.",
        "Someone's life or health was in acute danger. Information may then be shared to stop that danger. "
        "This is always checked afterwards.",
        justification_required=True,
        emergency_only=True,
    ),
    LegalBasisSpec(
        "WMO_4_1_1_2D",
        "public_task",
        "Wmo 2015 art. 4.1.1 lid 2 sub d",
        "Veilig Thuis mag een hulpverlener informeren die helpt om de situatie veilig te maken.",
        "Veilig Thuis may inform a care provider who helps to make the situation safe.",
    ),
    LegalBasisSpec(
        "WMO_4_1_1_2E",
        "public_task",
        "Wmo 2015 art. 4.1.1 lid 2 sub e",
        "Veilig Thuis mag de politie, het Openbaar Ministerie, de reclassering, de Raad voor de "
        "Kinderbescherming of Slachtofferhulp informeren als dat nodig is voor de veiligheid. Veilig Thuis "
        "schrijft op waarom.",
        "Veilig Thuis may inform the police, the public prosecutor, the probation service, the Child "
        "Protection Board or victim support when safety requires it. Veilig Thuis writes down why.",
        justification_required=True,
    ),
    LegalBasisSpec(
        "WMO_5_1_6",
        "public_task",
        "Wmo 2015 art. 5.1.6",
        "Veilig Thuis mag gevoelige gegevens gebruiken, zoals over gezondheid of een strafzaak, als dat "
        "nodig is voor zijn taak.",
        "Veilig Thuis may use sensitive information, such as about health or a criminal case, when its task "
        "requires it.",
    ),
    LegalBasisSpec(
        "WMO_5_2_6",
        "disclosure_right",
        "Wmo 2015 art. 5.2.6",
        "Een hulpverlener mag zorgen over huiselijk geweld of kindermishandeling melden bij Veilig Thuis, "
        "ook zonder toestemming. De hulpverlener beslist zelf of hij dat doet (meldrecht).",
        "A professional may report concerns about domestic violence or child abuse to Veilig Thuis, even "
        "without permission. The professional decides whether to do so (right to report).",
        holder_decides=True,
    ),
    LegalBasisSpec(
        "JW_7_3_11_4",
        "disclosure_duty",
        "Jeugdwet art. 7.3.11 lid 4",
        "Als een kind onder toezicht staat, geven hulpverleners de jeugdbeschermer de informatie die nodig "
        "is om het kind te beschermen.",
        "When a child is under a supervision order, professionals give the youth protection worker the "
        "information needed to protect the child.",
    ),
    LegalBasisSpec(
        "JW_7_4_0",
        "public_task",
        "Jeugdwet art. 7.4.0",
        "De gemeente, jeugdhulp, jeugdbescherming en de Raad voor de Kinderbescherming mogen gegevens delen "
        "als dat nodig is voor hun taak voor kinderen.",
        "The municipality, youth care, youth protection and the Child Protection Board may share information "
        "when their task for children requires it.",
    ),
    LegalBasisSpec(
        "BW_1_240",
        "disclosure_right",
        "BW art. 1:240",
        "Een hulpverlener mag de Raad voor de Kinderbescherming informeren als dat nodig is om een kind te "
        "beschermen, ook zonder toestemming. De hulpverlener beslist zelf.",
        "A professional may inform the Child Protection Board when that is needed to protect a child, even "
        "without permission. The professional decides.",
        holder_decides=True,
    ),
    LegalBasisSpec(
        "WPG_16_1C",
        "legal_duty",
        "Wpg art. 16 lid 1 sub c",
        "De politie mag de burgemeester informeren als hij dat nodig heeft voor zijn taak, bijvoorbeeld bij "
        "een huisverbod.",
        "The police may inform the mayor when the mayor needs it for his task, for example for a house ban.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "WPG_18",
        "legal_duty",
        "Wpg art. 18 with Bpg art. 4:2",
        "De politie mag vaste partners zoals de reclassering, de jeugdbescherming en Slachtofferhulp "
        "informeren voor de taken die de wet noemt.",
        "The police may inform fixed partners such as the probation service, youth protection and victim "
        "support for the tasks the law names.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "WPG_19",
        "public_task",
        "Wpg art. 19",
        "De politie mag in een bijzonder geval gegevens geven als een zwaarwegend belang dat nodig maakt.",
        "In a special case the police may give information when a weighty interest makes it necessary.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "WPG_20",
        "public_task",
        "Wpg art. 20",
        "De politie mag gegevens delen met partners in een vast samenwerkingsverband, als dat nodig is voor "
        "een zwaarwegend belang, zoals de veiligheid van een slachtoffer.",
        "The police may share information with partners in a fixed partnership when a weighty interest, such "
        "as a victim's safety, requires it.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "WJSG_39F",
        "criminal_data_exception",
        "Wjsg art. 39f",
        "Het Openbaar Ministerie mag gegevens over een strafzaak delen met partners als dat nodig is, "
        "bijvoorbeeld om nieuw geweld te voorkomen.",
        "The public prosecutor may share information about a criminal case with partners when needed, for "
        "example to prevent new violence.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "WGS",
        "public_task",
        "Wet gegevensverwerking door samenwerkingsverbanden (Wgs)",
        "Partners in het Zorg- en Veiligheidshuis mogen samen gegevens gebruiken in een overleg over een "
        "ingewikkelde situatie. De wet bepaalt wat mag.",
        "Partners in the Care and Safety House may use information together in a meeting about a complex "
        "situation. The law sets what is allowed.",
        needs_confirmation=True,
    ),
    LegalBasisSpec(
        "CVP",
        "secrecy_override",
        "Conflict van plichten (jurisprudentie, vijf criteria)",
        "Een hulpverlener met een beroepsgeheim mag dat geheim doorbreken als zwijgen ernstige schade "
        "veroorzaakt. Dat moet goed onderbouwd worden en wordt achteraf gecontroleerd.",
        "A professional bound to secrecy may break it when silence would cause serious harm. This must be "
        "well justified and is checked afterwards.",
        justification_required=True,
        emergency_only=True,
    ),
)


# --- The sharing agreement ---------------------------------------------------------------------------------
# Each rule names exactly one provider and one recipient. Scenario numbers refer to scenarios.md.

VT_ASKS = ("report_to_vt", "vt_safety_assessment", "vt_investigation")
VT_WORKS = ("vt_safety_assessment", "vt_investigation")
PERSONAL = ("identity", "address", "household")
VT_FILE = ("case_status", "risk_assessment", "safety_conditions")


def _meldrecht(sector: str, categories: tuple[str, ...], label: str) -> RuleSpec:
    """Any professional may report to Veilig Thuis (Wmo 2015 art. 5.2.6): a right, so the holder decides."""
    return RuleSpec(
        code=f"wmo526-{sector.replace('_', '-')}-to-vt",
        description=f"{label} may provide to Veilig Thuis (meldrecht); the holder decides each request.",
        legal_basis="WMO_5_2_6",
        categories=categories,
        purposes=VT_ASKS,
        provider_sector=sector,
        recipient_sector="veilig_thuis",
        holder_decides=True,
    )


def _cvp(sector: str, recipient: str, label: str) -> RuleSpec:
    """Breaking professional secrecy in acute danger (conflict van plichten): emergency only, justified."""
    short = {"veilig_thuis": "vt", "police": "police"}[recipient]
    return RuleSpec(
        code=f"cvp-{sector.replace('_', '-')}-to-{short}",
        description=f"{label} may break secrecy towards {recipient} in acute danger; reviewed afterwards.",
        legal_basis="CVP",
        categories=("health_summary",),
        purposes=("acute_danger",),
        provider_sector=sector,
        recipient_sector=recipient,
        emergency_only=True,
    )


RULES: tuple[RuleSpec, ...] = (
    # Police (Wpg). Scenario 1: police -> Veilig Thuis under WPG_20 within the case.
    RuleSpec(
        "wpg20-police-to-vt",
        "Structural provision of police data to Veilig Thuis within the CHGK partnership.",
        "WPG_20",
        ("police_incidents", "house_ban"),
        VT_WORKS,
        provider_sector="police",
        recipient_sector="veilig_thuis",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wpg20-police-to-zvh",
        "Structural provision of police data to the Care and Safety House case meeting.",
        "WPG_20",
        ("police_incidents", "house_ban"),
        ("zvh_case_meeting",),
        provider_sector="police",
        recipient_sector="safety_house",
        requires_case_participation=True,
        covenant_reference=COVENANT_ZVH,
    ),
    RuleSpec(
        "wpg18-police-to-probation",
        "Police data the probation service needs for supervision and advice.",
        "WPG_18",
        ("police_incidents", "house_ban"),
        ("probation",),
        provider_sector="police",
        recipient_sector="probation",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wpg18-police-to-victim-support",
        "Police data victim support needs to support the victim.",
        "WPG_18",
        ("police_incidents", "house_ban"),
        ("victim_support",),
        provider_sector="police",
        recipient_sector="victim_support",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wpg16-police-to-municipality",
        "The mayor's office follows up a house ban with help for the family.",
        "WPG_16_1C",
        ("house_ban",),
        ("care_coordination",),
        provider_sector="police",
        recipient_sector="municipality",
        requires_case_participation=True,
    ),
    # Public Prosecution Service (Wjsg).
    RuleSpec(
        "wjsg39f-om-to-vt",
        "Criminal-proceedings data Veilig Thuis needs for its safety assessment.",
        "WJSG_39F",
        ("criminal_proceedings", "criminal_record"),
        VT_WORKS,
        provider_sector="prosecution",
        recipient_sector="veilig_thuis",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wjsg39f-om-to-probation",
        "Criminal-proceedings data for probation advice and supervision.",
        "WJSG_39F",
        ("criminal_proceedings", "criminal_record"),
        ("probation",),
        provider_sector="prosecution",
        recipient_sector="probation",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wjsg39f-om-to-zvh",
        "The stage of the criminal case for the Care and Safety House case meeting.",
        "WJSG_39F",
        ("criminal_proceedings",),
        ("zvh_case_meeting",),
        provider_sector="prosecution",
        recipient_sector="safety_house",
        requires_case_participation=True,
        covenant_reference=COVENANT_ZVH,
    ),
    # Veilig Thuis to the criminal-law chain and the RvdK (Wmo 4.1.1 lid 2 sub e): justification required.
    RuleSpec(
        "wmo4112e-vt-to-police",
        "Veilig Thuis informs the police where safety requires it.",
        "WMO_4_1_1_2E",
        ("report_content", *VT_FILE),
        ("criminal_law", "acute_danger"),
        provider_sector="veilig_thuis",
        recipient_sector="police",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wmo4112e-vt-to-prosecution",
        "Veilig Thuis informs the public prosecutor where safety requires it.",
        "WMO_4_1_1_2E",
        ("report_content", *VT_FILE),
        ("criminal_law",),
        provider_sector="veilig_thuis",
        recipient_sector="prosecution",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wmo4112e-vt-to-probation",
        "Veilig Thuis informs the probation service about risks and conditions.",
        "WMO_4_1_1_2E",
        VT_FILE,
        ("probation",),
        provider_sector="veilig_thuis",
        recipient_sector="probation",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wmo4112e-vt-to-rvdk",
        "Veilig Thuis asks the Child Protection Board to investigate.",
        "WMO_4_1_1_2E",
        ("report_content", *VT_FILE),
        ("rvdk_investigation",),
        provider_sector="veilig_thuis",
        recipient_sector="child_protection_board",
    ),
    # Scenario 10 relies on this rule NOT covering acute_danger, so the emergency rule below decides.
    RuleSpec(
        "wmo4112e-vt-to-victim-support",
        "Veilig Thuis informs victim support about risks and conditions.",
        "WMO_4_1_1_2E",
        VT_FILE,
        ("victim_support",),
        provider_sector="veilig_thuis",
        recipient_sector="victim_support",
        requires_case_participation=True,
    ),
    # Veilig Thuis to helping bodies (Wmo 4.1.1 lid 2 sub d) and to the Care and Safety House (WGS).
    RuleSpec(
        "wmo4112d-vt-to-municipality",
        "Veilig Thuis hands over to the neighbourhood team for follow-up.",
        "WMO_4_1_1_2D",
        VT_FILE,
        ("care_coordination",),
        provider_sector="veilig_thuis",
        recipient_sector="municipality",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wmo4112d-vt-to-gi",
        "Veilig Thuis informs the youth protection agency carrying out a measure.",
        "WMO_4_1_1_2D",
        ("report_content", *VT_FILE),
        ("ots_execution",),
        provider_sector="veilig_thuis",
        recipient_sector="certified_institution",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wgs-vt-to-zvh",
        "Veilig Thuis brings its assessment to the Care and Safety House case meeting.",
        "WGS",
        VT_FILE,
        ("zvh_case_meeting",),
        provider_sector="veilig_thuis",
        recipient_sector="safety_house",
        requires_case_participation=True,
        valid_from=WGS_IN_FORCE,
        covenant_reference=COVENANT_ZVH,
    ),
    # Scenario 10: acute danger, emergency access with a justification, reviewed afterwards.
    RuleSpec(
        "avg61d-vt-to-victim-support",
        "In acute danger Veilig Thuis gives victim support its risk picture.",
        "AVG_6_1_D",
        ("risk_assessment", "safety_conditions"),
        ("acute_danger",),
        provider_sector="veilig_thuis",
        recipient_sector="victim_support",
        emergency_only=True,
    ),
    RuleSpec(
        "avg61d-vt-to-shelter",
        "In acute danger Veilig Thuis gives the shelter its risk picture.",
        "AVG_6_1_D",
        ("risk_assessment", "safety_conditions"),
        ("acute_danger",),
        provider_sector="veilig_thuis",
        recipient_sector="shelter",
        emergency_only=True,
    ),
    # The only rule that carries reporter_identity: a handover between Veilig Thuis regions.
    RuleSpec(
        "wmo516-vt-handover-haaglanden",
        "Handover of a Veilig Thuis file when a family moves to Haaglanden.",
        "WMO_5_1_6",
        ("report_content", "reporter_identity", *VT_FILE),
        VT_WORKS,
        provider_organisation="veilig-thuis-rr",
        recipient_organisation="veilig-thuis-haaglanden",
        requires_case_participation=True,
    ),
    # Professionals to Veilig Thuis (meldrecht, Wmo 5.2.6). Scenario 2: education -> VT is pending.
    _meldrecht("education", ("school_attendance",), "A school"),
    _meldrecht("general_practice", ("health_summary",), "A general practitioner"),
    _meldrecht("mental_health", ("health_summary",), "A mental health provider"),
    _meldrecht("hospital", ("health_summary",), "A hospital"),
    _meldrecht("forensic_medicine", ("forensic_medical",), "A forensic physician"),
    _meldrecht("sexual_violence_centre", ("forensic_medical",), "The sexual assault centre"),
    _meldrecht("shelter", ("shelter_stay",), "A shelter"),
    # Basic personal data from the municipality (BRP-like). Scenarios 5 and 6: WGS within the case; the
    # shielded address then decides. Scenario 7: no rule gives housing associations any of these categories.
    RuleSpec(
        "wmo516-municipality-to-vt",
        "Basic personal data Veilig Thuis needs for its own case.",
        "WMO_5_1_6",
        PERSONAL,
        VT_WORKS,
        provider_sector="municipality",
        recipient_sector="veilig_thuis",
        requires_case_participation=True,
    ),
    RuleSpec(
        "wgs-municipality-to-police",
        "Basic personal data for the police in a Care and Safety House case.",
        "WGS",
        PERSONAL,
        ("zvh_case_meeting",),
        provider_sector="municipality",
        recipient_sector="police",
        requires_case_participation=True,
        valid_from=WGS_IN_FORCE,
        covenant_reference=COVENANT_ZVH,
    ),
    RuleSpec(
        "wgs-municipality-to-zvh",
        "Basic personal data for the Care and Safety House case meeting.",
        "WGS",
        PERSONAL,
        ("zvh_case_meeting",),
        provider_sector="municipality",
        recipient_sector="safety_house",
        requires_case_participation=True,
        valid_from=WGS_IN_FORCE,
        covenant_reference=COVENANT_ZVH,
    ),
    # Other partners' own data for the Care and Safety House case meeting (WGS), within the case.
    RuleSpec(
        "wgs-housing-to-zvh",
        "Tenancy and nuisance data for the Care and Safety House case meeting.",
        "WGS",
        ("housing",),
        ("zvh_case_meeting",),
        provider_sector="housing",
        recipient_sector="safety_house",
        requires_case_participation=True,
        valid_from=WGS_IN_FORCE,
        covenant_reference=COVENANT_ZVH,
    ),
    RuleSpec(
        "wgs-victim-support-to-zvh",
        "Victim support brings the support it gives to the Care and Safety House case meeting.",
        "WGS",
        ("victim_support",),
        ("zvh_case_meeting",),
        provider_sector="victim_support",
        recipient_sector="safety_house",
        requires_case_participation=True,
        valid_from=WGS_IN_FORCE,
        covenant_reference=COVENANT_ZVH,
    ),
    # Voluntary care coordination on consent. Scenarios 3 and 4: Fatima's explicit consent, then withdrawn.
    RuleSpec(
        "avg92-mental-health-to-municipality",
        "Health summary for care coordination, on explicit consent.",
        "AVG_9_2_A",
        ("health_summary",),
        ("care_coordination",),
        provider_sector="mental_health",
        recipient_sector="municipality",
    ),
    RuleSpec(
        "avg92-general-practice-to-municipality",
        "Health summary for care coordination, on explicit consent.",
        "AVG_9_2_A",
        ("health_summary",),
        ("care_coordination",),
        provider_sector="general_practice",
        recipient_sector="municipality",
    ),
    RuleSpec(
        "avg61a-education-to-municipality",
        "School attendance for care coordination, on consent.",
        "AVG_6_1_A",
        ("school_attendance",),
        ("care_coordination",),
        provider_sector="education",
        recipient_sector="municipality",
    ),
    # Youth domain. Scenarios 8 and 9: only an active supervision order executed by the requester permits.
    RuleSpec(
        "jw7311-education-to-gi",
        "What the youth protection agency needs to carry out a supervision order.",
        "JW_7_3_11_4",
        ("school_attendance",),
        ("ots_execution",),
        provider_sector="education",
        recipient_sector="certified_institution",
        requires_supervision_order=True,
    ),
    RuleSpec(
        "jw740-gi-to-municipality",
        "The youth protection agency informs the municipality about a measure.",
        "JW_7_4_0",
        ("child_protection_measure",),
        ("care_coordination",),
        provider_sector="certified_institution",
        recipient_sector="municipality",
        requires_case_participation=True,
    ),
    RuleSpec(
        "jw740-gi-to-youth-care",
        "The youth protection agency informs the youth care provider about a measure.",
        "JW_7_4_0",
        ("child_protection_measure",),
        ("care_coordination",),
        provider_sector="certified_institution",
        recipient_sector="youth_care",
        requires_case_participation=True,
    ),
    RuleSpec(
        "bw1240-education-to-rvdk",
        "A school may inform the Child Protection Board; the school decides.",
        "BW_1_240",
        ("school_attendance",),
        ("rvdk_investigation",),
        provider_sector="education",
        recipient_sector="child_protection_board",
        holder_decides=True,
    ),
    # Breaking secrecy in acute danger (conflict of duties): emergency only, justified, reviewed.
    _cvp("general_practice", "veilig_thuis", "A general practitioner"),
    _cvp("mental_health", "veilig_thuis", "A mental health provider"),
    _cvp("mental_health", "police", "A mental health provider"),
)


# --- Holders -----------------------------------------------------------------------------------------------
# Categories with one holder are resolved without the request naming a provider. health_summary,
# forensic_medical and school_attendance have several holders: the request names the provider.

HOLDINGS: tuple[HolderSpec, ...] = (
    HolderSpec("gemeente-rotterdam", ("identity", "address", "household")),
    HolderSpec("politie-rotterdam", ("police_incidents", "house_ban")),
    HolderSpec(
        "veilig-thuis-rr",
        ("report_content", "reporter_identity", "risk_assessment", "safety_conditions", "case_status"),
    ),
    HolderSpec("om-rotterdam", ("criminal_proceedings", "criminal_record")),
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
    RecordSpec(
        "om-rotterdam",
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
    """Check the world's internal references before anything is written; raises ``ValueError``."""
    sectors = _unique("sector", (s.code for s in SECTORS))
    orgs = _unique("organisation", (o.slug for o in ORGANISATIONS))
    categories = _unique("category", (c.code for c in CATEGORIES))
    purposes = _unique("purpose", (p.code for p in PURPOSES))
    bases = _unique("legal basis", (b.code for b in LEGAL_BASES))
    persons = _unique("person", (p.bsn for p in PERSONS))
    cases = _unique("case", (c.reference for c in CASES))
    _unique("rule", (r.code for r in RULES))
    _unique("holder", (h.organisation for h in HOLDINGS))
    _unique("record", (f"{r.holder}/{r.category}/{r.bsn}" for r in BUILTIN_RECORDS))
    problems: list[str] = []
    problems += [f"organisation {o.slug}: sector {o.sector}" for o in ORGANISATIONS if o.sector not in sectors]
    problems += [f"person {p}: invalid BSN" for p in persons if not is_valid_bsn(p)]
    problems += [
        f"category {c.code}: consent regime {c.consent_regime}"
        for c in CATEGORIES
        if c.consent_regime not in {"youth_care", "medical", "vt_municipality", "avg"}
    ]
    for rule in RULES:
        refs = [
            (rule.legal_basis, bases),
            *((c, categories) for c in rule.categories),
            *((p, purposes) for p in rule.purposes),
            *((s, sectors) for s in (rule.provider_sector, rule.recipient_sector) if s),
            *((o, orgs) for o in (rule.provider_organisation, rule.recipient_organisation) if o),
        ]
        problems += [f"rule {rule.code}: unknown {value}" for value, known in refs if value not in known]
        if not (rule.provider_sector or rule.provider_organisation):
            problems.append(f"rule {rule.code}: no provider")
        if not (rule.recipient_sector or rule.recipient_organisation):
            problems.append(f"rule {rule.code}: no recipient")
        if "reporter_identity" in rule.categories and not (
            rule.recipient_sector == "veilig_thuis"
            or next(o.sector for o in ORGANISATIONS if o.slug == rule.recipient_organisation) == "veilig_thuis"
        ):
            problems.append(f"rule {rule.code}: reporter identity goes only to Veilig Thuis")
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
