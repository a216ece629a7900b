"""Closed vocabularies of the domain (``shared/spec/domain.md``).

Codes that a privacy officer must be able to extend (sectors, categories, purposes, legal bases) are data in
the database; these are the vocabularies the decision code itself branches on.
"""

from django.db import models


class Regime(models.TextChoices):
    AVG = "avg", "AVG (GDPR)"
    WPG = "wpg", "Wpg (police data)"
    WJSG = "wjsg", "Wjsg (judicial and criminal-proceedings data)"


class Sensitivity(models.TextChoices):
    NORMAL = "normal", "Normal personal data"
    BSN = "bsn", "Citizen service number"
    SPECIAL_ART9 = "special_art9", "Special category (AVG art. 9)"
    CRIMINAL_ART10 = "criminal_art10", "Criminal data (AVG art. 10)"
    POLICE_WPG = "police_wpg", "Police data (Wpg)"
    JUSTICE_WJSG = "justice_wjsg", "Justice data (Wjsg)"
    REPORTER_IDENTITY = "reporter_identity", "Identity of a reporter"


class FieldType(models.TextChoices):
    STRING = "string", "Text"
    DATE = "date", "Date (YYYY-MM-DD)"
    INTEGER = "integer", "Whole number"
    BOOLEAN = "boolean", "Yes/no"
    LIST = "list", "List of values"


class BasisKind(models.TextChoices):
    CONSENT = "consent", "Consent"
    EXPLICIT_CONSENT = "explicit_consent", "Explicit consent"
    LEGAL_DUTY = "legal_duty", "Legal duty"
    PUBLIC_TASK = "public_task", "Public task"
    VITAL_INTEREST = "vital_interest", "Vital interest"
    DISCLOSURE_RIGHT = "disclosure_right", "Disclosure right (meldrecht)"
    DISCLOSURE_DUTY = "disclosure_duty", "Disclosure duty"
    SECRECY_OVERRIDE = "secrecy_override", "Conflict of duties (conflict van plichten)"
    CRIMINAL_DATA_EXCEPTION = "criminal_data_exception", "Criminal data exception"


class CasePhase(models.TextChoices):
    ADVICE = "advice", "Advice"
    REPORT = "report", "Report"
    SAFETY_ASSESSMENT = "safety_assessment", "Safety assessment"
    INVESTIGATION = "investigation", "Investigation"
    CONDITIONS_FOLLOWUP = "conditions_followup", "Follow-up of conditions"
    HANDED_OVER = "handed_over", "Handed over"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


class CaseRole(models.TextChoices):
    VICTIM = "victim", "Victim"
    SUSPECT = "suspect", "Suspect"
    ALLEGED_PERPETRATOR = "alleged_perpetrator", "Alleged perpetrator"
    CHILD_INVOLVED = "child_involved", "Child involved"
    REPORTER_PROFESSIONAL = "reporter_professional", "Reporter (professional)"
    REPORTER_BYSTANDER = "reporter_bystander", "Reporter (bystander)"
    LEGAL_REPRESENTATIVE = "legal_representative", "Legal representative"


class RelationKind(models.TextChoices):
    PARENT_WITH_CUSTODY = "parent_with_custody", "Parent with custody"
    PARENT_WITHOUT_CUSTODY = "parent_without_custody", "Parent without custody"
    GUARDIAN = "guardian", "Guardian"
    PARTNER = "partner", "Partner"
    EX_PARTNER = "ex_partner", "Ex-partner"
    SIBLING = "sibling", "Sibling"
    FOSTER_PARENT = "foster_parent", "Foster parent"
    HOUSEMATE = "housemate", "Housemate"


class MeasureKind(models.TextChoices):
    SUPERVISION_ORDER = "supervision_order", "Supervision order (OTS)"
    GUARDIANSHIP = "guardianship", "Guardianship measure"
    HOUSE_BAN = "house_ban", "House ban (huisverbod)"
    PROBATION = "probation", "Probation supervision"


class ConsentCapacity(models.TextChoices):
    SELF = "self", "Self"
    PARENT_WITH_CUSTODY = "parent_with_custody", "Parent with custody"
    GUARDIAN = "guardian", "Guardian"
    CURATOR = "curator", "Curator (curatele, BW 1:378 ff.)"
    MENTOR = "mentor", "Mentor (mentorschap, BW 1:450 ff.)"
    GI_GUARDIAN = "gi_guardian", "Certified institution acting as guardian (voogdij, BW 1:302)"


class ConsentStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation by the family"
    ACTIVE = "active", "Active"
    INCOMPLETE = "incomplete", "Incomplete (no longer produced; rows migrated to awaiting confirmation)"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class RestrictionKind(models.TextChoices):
    SHIELDED_ADDRESS = "shielded_address", "Shielded address"
    REPORTER_CONFIDENTIAL = "reporter_confidential", "Reporter identity confidential"
    WITHHELD_FROM_SUBJECT = "withheld_from_subject", "Withheld from the subject"
    NO_CONTACT_ORDER = "no_contact_order", "No-contact order"
    CHILD_16PLUS_BLOCKS_PARENT = "child_16plus_blocks_parent", "Child of 16+ blocks parent access"


class HolderKind(models.TextChoices):
    BUILTIN = "builtin", "Built-in reference data (demo)"
    HTTP = "http", "HTTP endpoint"


class ConsentRegime(models.TextChoices):
    """The law that says who must consent for a minor (``domain.md``, "Consent by age")."""

    YOUTH_CARE = "youth_care", "Youth care (Jeugdwet art. 7.3.4)"
    MEDICAL = "medical", "Medical treatment (WGBO, BW art. 7:450 and 7:465)"
    VT_MUNICIPALITY = "vt_municipality", "Veilig Thuis / municipality disclosure (Wmo 2015 art. 5.3.3)"
    AVG = "avg", "AVG consent (UAVG art. 5)"


class AgeBand(models.TextChoices):
    """Age on the consent's first day. A person not able to judge their own interests counts as under 12."""

    UNDER_12 = "under_12", "Under 12"
    FROM_12_TO_15 = "12_15", "12 to 15"
    FROM_16 = "16_plus", "16 and older"


class ConsentNeeded(models.TextChoices):
    """Whose consent a regime asks in an age band. Legal representatives are the parents with custody and
    guardians on the date: all of them, or one when ``GATEWAY_CONSENT_ALL_CUSTODIANS`` is off."""

    LEGAL_REPRESENTATIVES = "legal_representatives", "Legal representatives (parents with custody, guardian)"
    CHILD_AND_LEGAL_REPRESENTATIVES = "child_and_legal_representatives", "The child and the legal representatives"
    CHILD = "child", "The child alone"
    CHILD_IF_ABLE_ELSE_LEGAL_REPRESENTATIVES = (
        "child_if_able_else_legal_representatives",
        "The child if able to judge, else the legal representatives",
    )
