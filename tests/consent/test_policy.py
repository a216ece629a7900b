"""The decision as a table of cases (consent/policy.py): one row per rule of domain.md and api.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from consent.policy import (
    BasisView,
    CategoryView,
    ConsentFact,
    DecisionRequest,
    OrganisationView,
    Policy,
    RestrictionFact,
    RuleView,
    SubjectFacts,
    decide,
    decide_category,
    overall_status,
)

TODAY = dt.date(2026, 11, 24)

POLICY = Policy(
    version=7,
    organisations={
        "vt": OrganisationView("vt", "veilig_thuis"),
        "police": OrganisationView("police", "police"),
        "zvh": OrganisationView("zvh", "safety_house"),
        "housing": OrganisationView("housing", "housing"),
        "gemeente": OrganisationView("gemeente", "municipality"),
        "gemeente-b": OrganisationView("gemeente-b", "municipality"),
        "ggz": OrganisationView("ggz", "mental_health"),
        "gi": OrganisationView("gi", "certified_institution"),
        "school": OrganisationView("school", "education"),
        "victim": OrganisationView("victim", "victim_support"),
    },
    categories={
        code: CategoryView(code, "normal", "avg", (("a", "string"),))
        for code in ("police_incidents", "address", "health_summary", "school_attendance", "risk_assessment")
    },
    purposes=frozenset(
        {"vt_safety_assessment", "zvh_case_meeting", "care_coordination", "ots_execution", "acute_danger"}
    ),
    bases={
        "WPG_20": BasisView("WPG_20", "public_task", "Wpg art. 20"),
        "WGS": BasisView("WGS", "public_task", "WGS"),
        "AVG_9_2_A": BasisView(
            "AVG_9_2_A",
            "explicit_consent",
            "AVG art. 9(2)(a)",
            requires_consent=True,
            requires_explicit_consent=True,
        ),
        "JW_7_3_11_4": BasisView("JW_7_3_11_4", "disclosure_duty", "Jeugdwet art. 7.3.11 lid 4"),
        "WMO_5_2_6": BasisView("WMO_5_2_6", "disclosure_right", "Wmo 2015 art. 5.2.6", holder_decides=True),
        "WMO_4_1_1_2E": BasisView("WMO_4_1_1_2E", "public_task", "Wmo 4.1.1 lid 2 sub e", justification_required=True),
        "AVG_6_1_D": BasisView(
            "AVG_6_1_D",
            "vital_interest",
            "AVG art. 6(1)(d)",
            emergency_only=True,
            justification_required=True,
        ),
    },
    rules=(
        RuleView(
            "police-vt",
            3,
            "WPG_20",
            frozenset({"police_incidents"}),
            frozenset({"vt_safety_assessment"}),
            provider_sector="police",
            recipient_sector="veilig_thuis",
            requires_case_participation=True,
        ),
        RuleView(
            "gemeente-zvh-address",
            1,
            "WGS",
            frozenset({"address"}),
            frozenset({"zvh_case_meeting"}),
            provider_sector="municipality",
            recipient_sector="safety_house",
            requires_case_participation=True,
        ),
        RuleView(
            "gemeente-police-address",
            1,
            "WGS",
            frozenset({"address"}),
            frozenset({"zvh_case_meeting"}),
            provider_sector="municipality",
            recipient_sector="police",
            requires_case_participation=True,
        ),
        RuleView(
            "ggz-gemeente-health",
            2,
            "AVG_9_2_A",
            frozenset({"health_summary"}),
            frozenset({"care_coordination"}),
            provider_sector="mental_health",
            recipient_sector="municipality",
        ),
        RuleView(
            "school-gi-ots",
            1,
            "JW_7_3_11_4",
            frozenset({"school_attendance"}),
            frozenset({"ots_execution"}),
            provider_sector="education",
            recipient_sector="certified_institution",
            requires_supervision_order=True,
        ),
        RuleView(
            "school-vt-meldrecht",
            1,
            "WMO_5_2_6",
            frozenset({"school_attendance"}),
            frozenset({"vt_safety_assessment"}),
            provider_sector="education",
            recipient_sector="veilig_thuis",
        ),
        RuleView(
            "vt-victim-emergency",
            1,
            "AVG_6_1_D",
            frozenset({"risk_assessment"}),
            frozenset({"acute_danger"}),
            provider_sector="veilig_thuis",
            recipient_sector="victim_support",
            emergency_only=True,
        ),
        RuleView(
            "expired-rule",
            1,
            "WPG_20",
            frozenset({"police_incidents"}),
            frozenset({"vt_safety_assessment"}),
            provider_sector="police",
            recipient_organisation="gemeente",
            valid_until=dt.date(2025, 12, 31),
        ),
    ),
)


def consent(**overrides: object) -> ConsentFact:
    base = ConsentFact(
        id=41,
        status="active",
        explicit=True,
        purposes=frozenset({"care_coordination"}),
        categories=frozenset({"health_summary"}),
        recipient_organisations=frozenset({"gemeente"}),
        recipient_sectors=frozenset(),
        case_reference="C-2",
        valid_from=dt.date(2026, 1, 1),
        valid_until=dt.date(2027, 5, 31),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


SHIELDED = RestrictionFact(
    id=5,
    kind="shielded_address",
    categories=frozenset({"address"}),
    allowed_organisations=frozenset({"police", "vt"}),
    allowed_sectors=frozenset(),
)
IN_CASE = SubjectFacts(in_named_case=True, shares_active_case=True)


def ask(requester: str, category: str, provider: str, purpose: str, **kw: object) -> DecisionRequest:
    return DecisionRequest(
        requester=requester,
        categories=(category,),
        providers={category: provider},
        purpose=purpose,
        on=TODAY,
        **kw,  # type: ignore[arg-type]
    )


CASES = [
    # (name, request, facts, outcome, rule, basis, consent, reason codes)
    (
        "police to VT in a shared case",
        ask("vt", "police_incidents", "police", "vt_safety_assessment", case_reference="C-1"),
        IN_CASE,
        "permit",
        "police-vt",
        "WPG_20",
        None,
        [],
    ),
    (
        "police to VT without the case",
        ask("vt", "police_incidents", "police", "vt_safety_assessment"),
        SubjectFacts(),
        "deny",
        None,
        None,
        None,
        ["not_case_participant"],
    ),
    (
        "no rule for housing",
        ask("housing", "police_incidents", "police", "vt_safety_assessment"),
        IN_CASE,
        "deny",
        None,
        None,
        None,
        ["no_rule"],
    ),
    (
        "purpose outside the rule",
        ask("vt", "police_incidents", "police", "care_coordination"),
        IN_CASE,
        "deny",
        None,
        None,
        None,
        ["purpose_not_allowed"],
    ),
    (
        "rule past its validity",
        ask("gemeente", "police_incidents", "police", "vt_safety_assessment"),
        IN_CASE,
        "deny",
        None,
        None,
        None,
        ["no_rule"],
    ),
    (
        "explicit consent covers it",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(),)),
        "permit",
        "ggz-gemeente-health",
        "AVG_9_2_A",
        41,
        [],
    ),
    (
        "consent withdrawn",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(status="withdrawn"),)),
        "deny",
        None,
        None,
        None,
        ["consent_withdrawn"],
    ),
    (
        "consent past its end",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(valid_until=dt.date(2026, 6, 30)),)),
        "deny",
        None,
        None,
        None,
        ["consent_expired"],
    ),
    (
        "consent incomplete",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(status="incomplete"),)),
        "deny",
        None,
        None,
        None,
        ["consent_incomplete"],
    ),
    (
        "consent not explicit where explicit is needed",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(explicit=False),)),
        "deny",
        None,
        None,
        None,
        ["no_consent"],
    ),
    (
        "consent for another recipient",
        ask("gemeente-b", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(),)),
        "deny",
        None,
        None,
        None,
        ["no_consent"],
    ),
    (
        "consent to a sector",
        ask("gemeente-b", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(
            consents=(consent(recipient_organisations=frozenset(), recipient_sectors=frozenset({"municipality"})),)
        ),
        "permit",
        "ggz-gemeente-health",
        "AVG_9_2_A",
        41,
        [],
    ),
    (
        "consent bound to another case",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-9"),
        SubjectFacts(consents=(consent(),)),
        "deny",
        None,
        None,
        None,
        ["no_consent"],
    ),
    (
        "consent for another purpose",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(purposes=frozenset({"zvh_case_meeting"})),)),
        "deny",
        None,
        None,
        None,
        ["no_consent"],
    ),
    (
        "consent not yet valid",
        ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2"),
        SubjectFacts(consents=(consent(valid_from=dt.date(2027, 1, 1)),)),
        "deny",
        None,
        None,
        None,
        ["no_consent"],
    ),
    (
        "active supervision order",
        ask("gi", "school_attendance", "school", "ots_execution"),
        SubjectFacts(supervision_orders=(("gi", dt.date(2025, 9, 1), dt.date(2027, 6, 30)),)),
        "permit",
        "school-gi-ots",
        "JW_7_3_11_4",
        None,
        [],
    ),
    (
        "no supervision order",
        ask("gi", "school_attendance", "school", "ots_execution"),
        SubjectFacts(),
        "deny",
        None,
        None,
        None,
        ["condition_not_met"],
    ),
    (
        "order by another GI",
        ask("gi", "school_attendance", "school", "ots_execution"),
        SubjectFacts(supervision_orders=(("other-gi", dt.date(2025, 9, 1), None),)),
        "deny",
        None,
        None,
        None,
        ["condition_not_met"],
    ),
    (
        "order ended",
        ask("gi", "school_attendance", "school", "ots_execution"),
        SubjectFacts(supervision_orders=(("gi", dt.date(2024, 1, 1), dt.date(2025, 1, 1)),)),
        "deny",
        None,
        None,
        None,
        ["condition_not_met"],
    ),
    (
        "reporting right leaves it to the holder",
        ask("vt", "school_attendance", "school", "vt_safety_assessment"),
        SubjectFacts(),
        "pending",
        "school-vt-meldrecht",
        "WMO_5_2_6",
        None,
        [],
    ),
    (
        "shielded address to an allowed organisation",
        ask("police", "address", "gemeente", "zvh_case_meeting", case_reference="C-1"),
        replace(IN_CASE, restrictions=(SHIELDED,)),
        "permit",
        "gemeente-police-address",
        "WGS",
        None,
        [],
    ),
    (
        "shielded address to a case partner that may know",
        ask("zvh", "address", "gemeente", "zvh_case_meeting", case_reference="C-1"),
        replace(IN_CASE, restrictions=(SHIELDED,)),
        "deny",
        None,
        None,
        None,
        ["restricted"],
    ),
    (
        "emergency with justification",
        ask("victim", "risk_assessment", "vt", "acute_danger", emergency=True, has_justification=True),
        SubjectFacts(),
        "permit",
        "vt-victim-emergency",
        "AVG_6_1_D",
        None,
        [],
    ),
    (
        "emergency rule without emergency",
        ask("victim", "risk_assessment", "vt", "acute_danger", has_justification=True),
        SubjectFacts(),
        "deny",
        None,
        None,
        None,
        ["condition_not_met"],
    ),
    (
        "nobody holds the category",
        ask("vt", "police_incidents", None, "vt_safety_assessment"),  # type: ignore[arg-type]
        IN_CASE,
        "deny",
        None,
        None,
        None,
        ["no_rule"],
    ),
]


@pytest.mark.parametrize(
    ("request_", "facts", "outcome", "rule", "basis", "consent_id", "reasons"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decision_table(request_, facts, outcome, rule, basis, consent_id, reasons) -> None:
    (decision,) = decide(request_, POLICY, facts)
    assert decision.outcome == outcome
    assert decision.rule == rule
    assert decision.legal_basis == basis
    assert decision.consent == consent_id
    assert decision.reason_codes == reasons
    if outcome in ("permit", "pending"):
        assert decision.rule_version is not None
    assert all(r.message for r in decision.reasons)


def test_categories_are_decided_separately() -> None:
    request = DecisionRequest(
        requester="vt",
        categories=("police_incidents", "health_summary", "school_attendance"),
        providers={"police_incidents": "police", "health_summary": "ggz", "school_attendance": "school"},
        purpose="vt_safety_assessment",
        on=TODAY,
        case_reference="C-1",
    )
    outcomes = [d.outcome for d in decide(request, POLICY, IN_CASE)]
    assert outcomes == ["permit", "deny", "pending"]
    assert overall_status(outcomes) == "pending"


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (["permit", "permit"], "released"),
        (["permit", "deny"], "partial"),
        (["permit", "error"], "partial"),
        (["deny", "error"], "denied"),
        (["permit", "pending"], "pending"),
    ],
)
def test_overall_status(outcomes: list[str], status: str) -> None:
    assert overall_status(outcomes) == status


def test_emergency_flag_marks_only_emergency_access() -> None:
    request = ask("victim", "risk_assessment", "vt", "acute_danger", emergency=True, has_justification=True)
    assert decide_category(request, "risk_assessment", POLICY, SubjectFacts()).emergency_access is True
    ordinary = ask(
        "vt",
        "police_incidents",
        "police",
        "vt_safety_assessment",
        case_reference="C-1",
        emergency=True,
        has_justification=True,
    )
    assert decide_category(ordinary, "police_incidents", POLICY, IN_CASE).emergency_access is False


# --- No oracle ------------------------------------------------------------------------------------------------

NO_ORACLE_REQUESTS = [
    ask("housing", "address", "gemeente", "zvh_case_meeting"),
    ask("zvh", "address", "gemeente", "zvh_case_meeting", case_reference="C-1"),
    ask("gemeente", "health_summary", "ggz", "care_coordination"),
    ask("gi", "school_attendance", "school", "ots_execution"),
    ask("vt", "police_incidents", "police", "vt_safety_assessment", case_reference="C-1"),
    ask("victim", "risk_assessment", "vt", "acute_danger"),
]


@pytest.mark.parametrize("request_", NO_ORACLE_REQUESTS)
def test_unknown_person_is_decided_like_a_known_person_without_facts(request_: DecisionRequest) -> None:
    """api.md: for an unknown person the decisions are exactly those for a known person without consent,
    data or case participation."""
    assert decide(request_, POLICY, SubjectFacts.unknown()) == decide(request_, POLICY, SubjectFacts())


def test_shielded_address_is_invisible_to_a_requester_who_may_not_know() -> None:
    """Scenario 7's rule: without a shared case, a restriction must look exactly like having no rule."""
    policy = replace(
        POLICY,
        rules=(
            *POLICY.rules,
            RuleView(
                "gemeente-housing-address",
                1,
                "WGS",
                frozenset({"address"}),
                frozenset({"zvh_case_meeting"}),
                provider_sector="municipality",
                recipient_sector="housing",
            ),
        ),
    )
    request = ask("housing", "address", "gemeente", "zvh_case_meeting")
    shielded = decide(request, policy, SubjectFacts(restrictions=(SHIELDED,)))
    no_rule_for_anyone = decide(ask("housing", "address", "gemeente", "zvh_case_meeting"), POLICY, SubjectFacts())
    assert shielded == no_rule_for_anyone
    assert shielded[0].reason_codes == ["no_rule"]


def test_policy_round_trips_through_its_snapshot() -> None:
    snapshot = {
        "organisations": [{"slug": "vt", "sector": "veilig_thuis", "active": True}],
        "categories": [
            {
                "code": "address",
                "sensitivity": "normal",
                "regime": "avg",
                "fields": [{"name": "street", "type": "string"}],
            }
        ],
        "purposes": ["zvh_case_meeting"],
        "legal_bases": [
            {
                "code": "WGS",
                "kind": "public_task",
                "reference": "WGS",
                "requires_consent": False,
                "requires_explicit_consent": False,
                "holder_decides": False,
                "justification_required": False,
                "emergency_only": False,
            }
        ],
        "rules": [
            {
                "code": "r",
                "version": 4,
                "legal_basis": "WGS",
                "categories": ["address"],
                "purposes": ["zvh_case_meeting"],
                "provider_sector": "municipality",
                "provider_organisation": None,
                "recipient_sector": None,
                "recipient_organisation": "vt",
                "requires_case_participation": False,
                "requires_supervision_order": False,
                "emergency_only": False,
                "holder_decides": False,
                "valid_from": "2025-01-01",
                "valid_until": None,
                "active": True,
            }
        ],
    }
    policy = Policy.from_snapshot(3, snapshot)
    assert policy.version == 3
    assert policy.rules[0].valid_from == dt.date(2025, 1, 1)
    assert policy.categories["address"].field_names == ("street",)


def test_a_reporters_identity_never_leaves_veilig_thuis_whatever_a_rule_says() -> None:
    reporter = CategoryView("reporter_identity", "reporter_identity", "avg", (("reporter_name", "string"),))
    careless = RuleView(
        "vt-reporter-to-police",
        1,
        "WPG_20",
        frozenset({"reporter_identity"}),
        frozenset({"vt_safety_assessment"}),
        provider_sector="veilig_thuis",
        recipient_sector="police",
    )
    handover = RuleView(
        "vt-reporter-to-vt",
        1,
        "WPG_20",
        frozenset({"reporter_identity"}),
        frozenset({"vt_safety_assessment"}),
        provider_sector="veilig_thuis",
        recipient_organisation="vt",
    )
    policy = replace(
        POLICY,
        categories={**POLICY.categories, "reporter_identity": reporter},
        rules=(*POLICY.rules, careless, handover),
    )
    (to_police,) = decide(ask("police", "reporter_identity", "vt", "vt_safety_assessment"), policy, SubjectFacts())
    assert to_police.outcome == "deny" and to_police.reason_codes == ["no_rule"]
    (to_vt,) = decide(ask("vt", "reporter_identity", "vt", "vt_safety_assessment"), policy, SubjectFacts())
    assert to_vt.outcome == "permit"
