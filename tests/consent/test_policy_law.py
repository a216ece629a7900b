"""The law in the decision (issue 11, mechanisms 1, 2, 5, 6 and 7), each as a table of cases (consent/policy.py).

1. the holder weighs where the law gives it the judgement: pending, an urgent lane for emergencies, a case-level
   pre-authorisation that the decision cites, a holder's own push that does not wait;
2. vital interest for special-category or criminal data only when the subject cannot consent (AVG art. 9(2)(c));
5. a supervision order on a child of the subject covers the parent where the rule says so (Jeugdwet 7.3.11 lid 4);
6. the recipient's own authority for special-category and criminal data (UAVG art. 30-33; housing and schools
   never get criminal data);
7. consent by statute: explicit for criminal data (UAVG art. 32), none for police and OM data (Wpg, Wjsg).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from consent.policy import (
    DENY,
    PENDING,
    PERMIT,
    REASON_CODES,
    BasisView,
    CategoryView,
    ConsentFact,
    DecisionRequest,
    OrganisationView,
    Policy,
    PreauthorisationFact,
    RuleView,
    SectorView,
    SubjectFacts,
    decide,
    decide_category,
)

TODAY = dt.date(2026, 11, 24)
CASE = "VT-2026-0042"


def _cat(code: str, sensitivity: str) -> CategoryView:
    return CategoryView(code, sensitivity, "avg", (("a", "string"),))


def _rule(
    code: str, basis: str, categories: set[str], purposes: set[str], holder: str, to: str, **kw: object
) -> RuleView:
    return RuleView(
        code, 1, basis, frozenset(categories), frozenset(purposes), provider_sector=holder, recipient_sector=to, **kw
    )  # type: ignore[arg-type]


LAW = Policy(
    version=11,
    organisations={
        slug: OrganisationView(slug, sector)
        for slug, sector in (
            ("vt", "veilig_thuis"),
            ("police", "police"),
            ("om", "prosecution"),
            ("police-b", "police"),
            ("gi", "certified_institution"),
            ("school", "education"),
            ("housing", "housing"),
            ("victim", "victim_support"),
            ("shelter", "shelter"),
            ("gemeente", "municipality"),
            ("ggz", "mental_health"),
        )
    },
    categories={
        "risk_assessment": _cat("risk_assessment", "special_art9"),
        "police_incidents": _cat("police_incidents", "police_wpg"),
        "probation_supervision": _cat("probation_supervision", "criminal_art10"),
        "school_attendance": _cat("school_attendance", "normal"),
        "case_status": _cat("case_status", "normal"),
        "health_summary": _cat("health_summary", "special_art9"),
    },
    purposes=frozenset({"criminal_law", "acute_danger", "ots_execution", "care_coordination", "victim_support"}),
    bases={
        "WMO_4_1_1_2E": BasisView(
            "WMO_4_1_1_2E",
            "public_task",
            "Wmo 2015 art. 4.1.1 lid 2 sub e",
            holder_decides=True,
            weighing_required=True,
        ),
        "AVG_6_1_D": BasisView("AVG_6_1_D", "vital_interest", "AVG art. 6(1)(d), 9(2)(c)", justification_required=True),
        "JW_7_3_11_4": BasisView("JW_7_3_11_4", "disclosure_duty", "Jeugdwet art. 7.3.11 lid 4"),
        "AVG_6_1_A": BasisView("AVG_6_1_A", "consent", "AVG art. 6(1)(a)", requires_consent=True),
        "AVG_9_2_A": BasisView(
            "AVG_9_2_A", "explicit_consent", "AVG art. 9(2)(a)", requires_consent=True, requires_explicit_consent=True
        ),
        "WPG_20": BasisView("WPG_20", "public_task", "Wpg art. 20"),
    },
    rules=(
        _rule("vt-police", "WMO_4_1_1_2E", {"risk_assessment"}, {"criminal_law"}, "veilig_thuis", "police"),
        _rule(
            "vt-victim-vital",
            "AVG_6_1_D",
            {"risk_assessment", "case_status"},
            {"acute_danger"},
            "veilig_thuis",
            "victim_support",
        ),
        _rule(
            "school-gi",
            "JW_7_3_11_4",
            {"school_attendance"},
            {"ots_execution"},
            "education",
            "certified_institution",
            requires_supervision_order=True,
        ),
        _rule(
            "vt-gi-parents",
            "JW_7_3_11_4",
            {"case_status"},
            {"ots_execution"},
            "veilig_thuis",
            "certified_institution",
            requires_supervision_order=True,
            supervision_order_covers_parents=True,
        ),
        _rule(
            "vt-housing-crim",
            "WMO_4_1_1_2E",
            {"probation_supervision"},
            {"care_coordination"},
            "veilig_thuis",
            "housing",
        ),
        _rule(
            "vt-school-crim", "AVG_9_2_A", {"probation_supervision"}, {"care_coordination"}, "veilig_thuis", "education"
        ),
        _rule("vt-shelter-risk", "WPG_20", {"risk_assessment"}, {"care_coordination"}, "veilig_thuis", "shelter"),
        _rule("ggz-gemeente", "AVG_9_2_A", {"health_summary"}, {"care_coordination"}, "mental_health", "municipality"),
        _rule(
            "police-gemeente-consent",
            "AVG_6_1_A",
            {"police_incidents"},
            {"care_coordination"},
            "police",
            "municipality",
        ),
        _rule(
            "vt-gemeente-crim-consent",
            "AVG_6_1_A",
            {"probation_supervision"},
            {"care_coordination"},
            "veilig_thuis",
            "municipality",
        ),
    ),
    sectors={
        "police": SectorView("police", "Wpg art. 1", "Wpg", consent_possible=False),
        "prosecution": SectorView("prosecution", "Wjsg", "Wjsg", consent_possible=False),
        "veilig_thuis": SectorView("veilig_thuis", "Wmo 2015 art. 5.1.6 lid 2", "Wmo 2015 art. 5.1.6 lid 2"),
        "certified_institution": SectorView("certified_institution", "UAVG art. 30 lid 1", "UAVG art. 30 lid 1"),
        "victim_support": SectorView("victim_support", "UAVG art. 30 lid 3", "UAVG art. 33 lid 2"),
        "municipality": SectorView("municipality", "Jeugdwet art. 7.4.0", "UAVG art. 33 lid 2 sub b"),
        "housing": SectorView("housing"),
        "education": SectorView("education"),
        "shelter": SectorView("shelter"),
    },
)


def ask(requester: str, category: str, holder: str, purpose: str, **kw: object) -> DecisionRequest:
    return DecisionRequest(
        requester=requester, categories=(category,), providers={category: holder}, purpose=purpose, on=TODAY, **kw
    )  # type: ignore[arg-type]


def consent(**overrides: object) -> ConsentFact:
    values: dict[str, object] = {
        "id": 5,
        "status": "active",
        "explicit": False,
        "purposes": frozenset({"care_coordination"}),
        "categories": frozenset({"probation_supervision", "police_incidents", "health_summary"}),
        "recipient_organisations": frozenset({"gemeente", "school"}),
        "recipient_sectors": frozenset(),
        "case_reference": None,
        "valid_from": dt.date(2026, 1, 1),
        "valid_until": None,
    }
    values.update(overrides)
    return ConsentFact(**values)  # type: ignore[arg-type]


def preauth(**overrides: object) -> PreauthorisationFact:
    values: dict[str, object] = {
        "id": 31,
        "holder": "vt",
        "recipient_organisation": None,
        "recipient_sector": "police",
        "categories": frozenset({"risk_assessment"}),
        "purposes": frozenset({"criminal_law"}),
        "case_reference": CASE,
        "valid_from": dt.date(2026, 11, 1),
        "valid_until": dt.date(2026, 12, 31),
    }
    values.update(overrides)
    return PreauthorisationFact(**values)  # type: ignore[arg-type]


IN_CASE = SubjectFacts(in_named_case=True, shares_active_case=True)
VT_POLICE = ask("police", "risk_assessment", "vt", "criminal_law", case_reference=CASE)

# --- 1. The holder weighs: pending, urgent, pre-authorised, pushed -------------------------------------------

WEIGHING_CASES = [
    # (id, request, facts, outcome, preauthorisation, urgent, reasons)
    ("holder weighs: pending at Veilig Thuis", VT_POLICE, IN_CASE, PENDING, None, False, []),
    (
        "emergency: pending in the urgent lane",
        replace(VT_POLICE, emergency=True, has_justification=True),
        IN_CASE,
        PENDING,
        None,
        True,
        [],
    ),
    (
        "pre-authorised for police in this case: permitted, cited",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(),)),
        PERMIT,
        31,
        False,
        [],
    ),
    (
        "pre-authorisation for one police organisation covers it",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(recipient_sector=None, recipient_organisation="police"),)),
        PERMIT,
        31,
        False,
        [],
    ),
    (
        "pre-authorisation for another police organisation does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(recipient_sector=None, recipient_organisation="police-b"),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "pre-authorisation of another case does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(case_reference="VT-2026-0099"),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "no case named: a pre-authorisation never applies",
        replace(VT_POLICE, case_reference=None),
        replace(IN_CASE, preauthorisations=(preauth(),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "expired pre-authorisation does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(valid_until=dt.date(2026, 11, 23)),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "pre-authorisation not yet in force does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(valid_from=dt.date(2026, 11, 25)),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "pre-authorisation for another purpose does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(purposes=frozenset({"acute_danger"})),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "pre-authorisation of another holder does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(holder="ggz"),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "pre-authorisation for another recipient sector does not",
        VT_POLICE,
        replace(IN_CASE, preauthorisations=(preauth(recipient_sector="prosecution"),)),
        PENDING,
        None,
        False,
        [],
    ),
    (
        "the holder's push with its weighing: permitted, not pending",
        replace(VT_POLICE, pushed=True, has_justification=True),
        IN_CASE,
        PERMIT,
        None,
        False,
        [],
    ),
    (
        "a push under a weighing basis without the weighing: refused",
        replace(VT_POLICE, pushed=True),
        IN_CASE,
        DENY,
        None,
        False,
        ["justification_required"],
    ),
]


@pytest.mark.parametrize(
    ("request_", "facts", "outcome", "preauthorisation", "urgent", "reasons"),
    [pytest.param(*row[1:], id=row[0]) for row in WEIGHING_CASES],
)
def test_the_holder_weighs(
    request_: DecisionRequest,
    facts: SubjectFacts,
    outcome: str,
    preauthorisation: int | None,
    urgent: bool,
    reasons: list[str],
) -> None:
    """Wmo 2015 art. 4.1.1 lid 2 sub e: Veilig Thuis judges whether the interest or the seriousness warrants it."""
    decision = decide_category(request_, "risk_assessment", LAW, facts)
    assert (decision.outcome, decision.preauthorisation, decision.urgent) == (outcome, preauthorisation, urgent)
    assert decision.reason_codes == reasons
    if outcome != DENY:
        assert decision.legal_basis == "WMO_4_1_1_2E"


def test_a_weighing_basis_makes_the_holder_decide_even_without_the_flag() -> None:
    only_weighing = replace(
        LAW, bases={**LAW.bases, "WMO_4_1_1_2E": replace(LAW.bases["WMO_4_1_1_2E"], holder_decides=False)}
    )
    assert decide_category(VT_POLICE, "risk_assessment", only_weighing, IN_CASE).outcome == PENDING


def test_a_pre_authorisation_never_stands_in_for_a_consent_still_awaiting_confirmation() -> None:
    """The holder's confirmation of a consent recorded by someone else is per request, not per case."""
    policy = replace(
        LAW,
        rules=(
            _rule(
                "ggz-gemeente-pending",
                "AVG_9_2_A",
                {"health_summary"},
                {"care_coordination"},
                "mental_health",
                "municipality",
            ),
        ),
    )
    facts = replace(
        IN_CASE,
        consents=(consent(explicit=True, status="awaiting_confirmation", recorded_by="vt"),),
        preauthorisations=(
            preauth(
                holder="ggz",
                recipient_sector="municipality",
                categories=frozenset({"health_summary"}),
                purposes=frozenset({"care_coordination"}),
            ),
        ),
    )
    request = ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference=CASE)
    decision = decide_category(request, "health_summary", policy, facts)
    assert (decision.outcome, decision.preauthorisation) == (PENDING, None)


# --- 2. Vital interest only when the subject cannot consent ------------------------------------------------

VITAL = ask("victim", "risk_assessment", "vt", "acute_danger", emergency=True, has_justification=True)

VITAL_CASES = [
    ("special data, subject can consent: not this basis", "risk_assessment", VITAL, SubjectFacts(), DENY),
    (
        "special data, subject cannot consent (in the case): permitted",
        "risk_assessment",
        VITAL,
        replace(IN_CASE, can_consent=False),
        PERMIT,
    ),
    (
        "ordinary data: vital interest applies",
        "case_status",
        replace(VITAL, categories=("case_status",)),
        SubjectFacts(),
        PERMIT,
    ),
]


@pytest.mark.parametrize(
    ("category", "request_", "facts", "outcome"), [pytest.param(*row[1:], id=row[0]) for row in VITAL_CASES]
)
def test_vital_interest_for_special_data_only_when_the_subject_cannot_consent(
    category: str, request_: DecisionRequest, facts: SubjectFacts, outcome: str
) -> None:
    """AVG art. 9(2)(c): vital interest lifts the ban on special data only where the subject cannot consent."""
    request_ = replace(request_, providers={category: "vt"})
    decision = decide_category(request_, category, LAW, facts)
    assert decision.outcome == outcome
    if outcome == DENY:
        assert decision.reason_codes == ["condition_not_met"]
        assert "AVG art. 9(2)(c)" in decision.reasons[0].message
    else:
        assert decision.emergency_access is True


# --- 5. A supervision order on a child covers the parent where the rule says so -------------------------------

ORDER = (("gi", dt.date(2026, 1, 1), None),)
ENDED = (("gi", dt.date(2025, 1, 1), dt.date(2026, 6, 30)),)
OTHER_GI = (("gi-b", dt.date(2026, 1, 1), None),)

ORDER_CASES = [
    # (id, category, holder, facts, outcome)
    (
        "order on the subject: the rule without the flag",
        "school_attendance",
        "school",
        replace(IN_CASE, supervision_orders=ORDER),
        PERMIT,
    ),
    (
        "order on a child only: the rule without the flag refuses",
        "school_attendance",
        "school",
        replace(IN_CASE, child_supervision_orders=ORDER),
        DENY,
    ),
    (
        "order on a child: the rule with the flag covers the parent",
        "case_status",
        "vt",
        replace(IN_CASE, child_supervision_orders=ORDER),
        PERMIT,
    ),
    (
        "order on the subject: the rule with the flag too",
        "case_status",
        "vt",
        replace(IN_CASE, supervision_orders=ORDER),
        PERMIT,
    ),
    ("the child's order has ended", "case_status", "vt", replace(IN_CASE, child_supervision_orders=ENDED), DENY),
    (
        "another GI executes the child's order",
        "case_status",
        "vt",
        replace(IN_CASE, child_supervision_orders=OTHER_GI),
        DENY,
    ),
    ("no order at all", "case_status", "vt", IN_CASE, DENY),
]


@pytest.mark.parametrize(
    ("category", "holder", "facts", "outcome"), [pytest.param(*row[1:], id=row[0]) for row in ORDER_CASES]
)
def test_a_supervision_order_on_a_child_covers_the_parent_only_with_the_rule_flag(
    category: str, holder: str, facts: SubjectFacts, outcome: str
) -> None:
    """Jeugdwet art. 7.3.11 lid 4: the GI's information covers the child and a parent or guardian."""
    decision = decide_category(ask("gi", category, holder, "ots_execution"), category, LAW, facts)
    assert decision.outcome == outcome
    if outcome == DENY:
        assert decision.reason_codes == ["condition_not_met"]


# --- 6. The recipient's own authority ------------------------------------------------------------------------

AUTHORITY_CASES = [
    # (id, requester, category, holder, purpose, facts, outcome, reasons)
    (
        "housing never gets criminal data, whatever a rule says",
        "housing",
        "probation_supervision",
        "vt",
        "care_coordination",
        IN_CASE,
        DENY,
        ["no_recipient_authority"],
    ),
    (
        "a school never gets criminal data, not even on explicit consent",
        "school",
        "probation_supervision",
        "vt",
        "care_coordination",
        replace(IN_CASE, consents=(consent(explicit=True),)),
        DENY,
        ["no_recipient_authority"],
    ),
    (
        "a shelter without an exception gets no special data",
        "shelter",
        "risk_assessment",
        "vt",
        "care_coordination",
        IN_CASE,
        DENY,
        ["no_recipient_authority"],
    ),
    (
        "police with its exception gets special data (pending at the holder)",
        "police",
        "risk_assessment",
        "vt",
        "criminal_law",
        IN_CASE,
        PENDING,
        [],
    ),
    (
        "explicit consent is the recipient's authority for special data",
        "gemeente",
        "health_summary",
        "ggz",
        "care_coordination",
        replace(IN_CASE, consents=(consent(explicit=True),)),
        PERMIT,
        [],
    ),
]


@pytest.mark.parametrize(
    ("requester", "category", "holder", "purpose", "facts", "outcome", "reasons"),
    [pytest.param(*row[1:], id=row[0]) for row in AUTHORITY_CASES],
)
def test_the_recipient_needs_its_own_authority(
    requester: str, category: str, holder: str, purpose: str, facts: SubjectFacts, outcome: str, reasons: list[str]
) -> None:
    """AVG art. 9 and 10 with UAVG art. 30-33: the recipient, too, needs an exception to process the data."""
    request = ask(requester, category, holder, purpose, case_reference=CASE)
    decision = decide_category(request, category, LAW, facts)
    assert (decision.outcome, decision.reason_codes) == (outcome, reasons)
    assert "no_recipient_authority" in REASON_CODES


def test_a_catalogue_that_names_no_exception_keeps_only_the_fixed_floor() -> None:
    """A policy version from before issue 11 (no sector exceptions) replays as it was decided, but for housing and
    schools, which never receive criminal data."""
    legacy = replace(LAW, sectors={})
    assert not legacy.recipient_authority_declared and LAW.recipient_authority_declared
    shelter = ask("shelter", "risk_assessment", "vt", "care_coordination")
    assert decide_category(shelter, "risk_assessment", legacy, IN_CASE).outcome == PERMIT
    housing = ask("housing", "probation_supervision", "vt", "care_coordination")
    assert decide_category(housing, "probation_supervision", legacy, IN_CASE).reason_codes == ["no_recipient_authority"]


# --- 7. Consent by statute -----------------------------------------------------------------------------------

CONSENT_CASES = [
    # (id, category, holder, consents, outcome, reasons)
    (
        "criminal data on an ordinary consent: refused",
        "probation_supervision",
        "vt",
        (consent(),),
        DENY,
        ["no_consent"],
    ),
    (
        "criminal data on an explicit consent: permitted",
        "probation_supervision",
        "vt",
        (consent(explicit=True),),
        PERMIT,
        [],
    ),
    (
        "police data: consent is no basis whatever it says",
        "police_incidents",
        "police",
        (consent(explicit=True),),
        DENY,
        ["condition_not_met"],
    ),
]


@pytest.mark.parametrize(
    ("category", "holder", "consents", "outcome", "reasons"),
    [pytest.param(*row[1:], id=row[0]) for row in CONSENT_CASES],
)
def test_consent_by_statute(
    category: str, holder: str, consents: tuple[ConsentFact, ...], outcome: str, reasons: list[str]
) -> None:
    """UAVG art. 32: criminal data on consent only when explicit; Wpg and Wjsg data rest on the statute only."""
    request = ask("gemeente", category, holder, "care_coordination")
    decision = decide_category(request, category, LAW, SubjectFacts(consents=consents))
    assert (decision.outcome, decision.reason_codes) == (outcome, reasons)
    if reasons == ["no_consent"]:
        assert "explicit consent" in decision.reasons[0].message


# --- Emergency review and no oracle ------------------------------------------------------------------------


def test_every_permitted_or_pending_category_of_an_emergency_request_is_reviewed() -> None:
    request = DecisionRequest(
        requester="police",
        categories=("risk_assessment", "school_attendance"),
        providers={"risk_assessment": "vt", "school_attendance": "school"},
        purpose="criminal_law",
        on=TODAY,
        case_reference=CASE,
        emergency=True,
        has_justification=True,
    )
    pending, denied = decide(request, LAW, IN_CASE)
    assert (pending.outcome, pending.emergency_access, pending.urgent) == (PENDING, True, True)
    assert (denied.outcome, denied.emergency_access, denied.urgent) == (DENY, False, False)


LAW_REQUESTS = [
    VT_POLICE,
    replace(VT_POLICE, emergency=True, has_justification=True),
    VITAL,
    ask("gi", "case_status", "vt", "ots_execution", case_reference=CASE),
    ask("housing", "probation_supervision", "vt", "care_coordination"),
    ask("gemeente", "probation_supervision", "vt", "care_coordination"),
]


@pytest.mark.parametrize("request_", LAW_REQUESTS)
def test_the_law_facts_default_to_what_an_unknown_person_gets(request_: DecisionRequest) -> None:
    """The facts that depend on who the person is have defaults equal to the unknown person's, so a requester
    outside the named case (who gets the defaults) cannot tell a known person from an unknown one."""
    unknown = SubjectFacts.unknown()
    assert (unknown.child_supervision_orders, unknown.can_consent, unknown.preauthorisations) == ((), True, ())
    assert decide(request_, LAW, unknown) == decide(request_, LAW, SubjectFacts())
