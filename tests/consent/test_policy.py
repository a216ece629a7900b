"""The decision as a table of cases (consent/policy.py): one row per rule of domain.md and api.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.policy import (
    BasisView,
    CategoryDecision,
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


def test_every_permitted_category_of_an_emergency_request_is_marked_for_review() -> None:
    """Issue 11: every emergency access is reviewed, also one an ordinary rule permits; a denial is no access."""
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
    assert decide_category(ordinary, "police_incidents", POLICY, IN_CASE).emergency_access is True
    assert decide_category(
        replace(ordinary, emergency=False), "police_incidents", POLICY, IN_CASE
    ).emergency_access is (False)
    denied = decide_category(ordinary, "police_incidents", POLICY, SubjectFacts())
    assert (denied.outcome, denied.emergency_access) == ("deny", False)


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


HOUSING_ADDRESS = replace(
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
        RuleView(
            "gemeente-vt-address-meldrecht",
            1,
            "WMO_5_2_6",
            frozenset({"address"}),
            frozenset({"vt_safety_assessment"}),
            provider_sector="municipality",
            recipient_sector="veilig_thuis",
        ),
    ),
)


@pytest.mark.parametrize(
    ("request_", "outcome"),
    [
        (ask("housing", "address", "gemeente", "zvh_case_meeting"), "permit"),
        (ask("vt", "address", "gemeente", "vt_safety_assessment"), "pending"),
        (ask("housing", "address", "gemeente", "care_coordination"), "deny"),
    ],
    ids=["a rule would permit", "a rule would defer to the holder", "no rule for the purpose"],
)
def test_a_restriction_the_requester_may_not_know_looks_exactly_like_an_unknown_person(
    request_: DecisionRequest, outcome: str
) -> None:
    """Issue 'leaks' item 1: the shielded person gets what an unknown person gets, never a telling ``no_rule``,
    and the decision says it is shielded, so nothing is released for it."""
    policy = HOUSING_ADDRESS
    police_only = replace(SHIELDED, allowed_organisations=frozenset({"police"}))
    (shielded,) = decide(request_, policy, SubjectFacts(restrictions=(police_only,)))
    (unknown,) = decide(request_, policy, SubjectFacts.unknown())
    assert replace(shielded, shielded=False) == unknown
    assert shielded.outcome == outcome
    assert shielded.shielded is True
    assert shielded.releases is False
    recorded = shielded.as_recorded()
    assert (recorded.outcome, recorded.reason_codes) == ("deny", ["restricted"])


def test_restrictions_come_before_the_rules_for_a_requester_that_may_know() -> None:
    """A case partner that may know of the restriction is told ``restricted`` even where a rule would defer to
    the holder or where no rule exists: the holder is never asked to weigh what the restriction forbids."""
    police_only = replace(SHIELDED, allowed_organisations=frozenset({"police"}))
    facts = SubjectFacts(in_named_case=True, shares_active_case=True, restrictions=(police_only,))
    for request_, without_restriction in (
        (ask("vt", "address", "gemeente", "vt_safety_assessment", case_reference="C-1"), ["pending", []]),
        (
            ask("housing", "address", "gemeente", "care_coordination", case_reference="C-1"),
            ["deny", ["purpose_not_allowed"]],
        ),
    ):
        (free,) = decide(request_, HOUSING_ADDRESS, replace(facts, restrictions=()))
        assert [free.outcome, free.reason_codes] == without_restriction
        (denied,) = decide(request_, HOUSING_ADDRESS, facts)
        assert (denied.outcome, denied.reason_codes, denied.shielded) == ("deny", ["restricted"], False)


RISK = CategoryView(
    "risk_assessment", "special_art9", "avg", (("level", "string"), ("summary", "string")), whereabouts=("summary",)
)
VT_RISK_TO_POLICE = RuleView(
    "vt-police-risk",
    1,
    "WPG_20",
    frozenset({"risk_assessment"}),
    frozenset({"vt_safety_assessment"}),
    provider_sector="veilig_thuis",
    recipient_sector="police",
)
WHEREABOUTS_POLICY = replace(
    POLICY,
    categories={**POLICY.categories, "risk_assessment": RISK},
    rules=(*POLICY.rules, VT_RISK_TO_POLICE),
)
SHIELDED_FOR_ZVH_ONLY = replace(SHIELDED, allowed_organisations=frozenset({"zvh"}))


def test_a_shielded_address_withholds_the_whereabouts_inside_other_categories() -> None:
    """Item 5: a shielded address also withholds the fields of other categories that may reveal where the person
    stays, from a requester outside the shielding that may know of it; anyone else gets the shielded face."""
    request_ = ask("police", "risk_assessment", "vt", "vt_safety_assessment")
    may_know = SubjectFacts(shares_active_case=True, restrictions=(SHIELDED_FOR_ZVH_ONLY,))
    (redacted,) = decide(request_, WHEREABOUTS_POLICY, may_know)
    assert (redacted.outcome, redacted.redact, redacted.reason_codes) == ("permit", ("summary",), ["restricted"])
    assert redacted.releases is True

    (hidden,) = decide(request_, WHEREABOUTS_POLICY, SubjectFacts(restrictions=(SHIELDED_FOR_ZVH_ONLY,)))
    (unknown,) = decide(request_, WHEREABOUTS_POLICY, SubjectFacts.unknown())
    assert replace(hidden, shielded=False) == unknown and hidden.shielded and not hidden.releases

    (inside,) = decide(request_, WHEREABOUTS_POLICY, replace(may_know, restrictions=(SHIELDED,)))
    assert (inside.outcome, inside.redact, inside.reasons) == ("permit", (), ())


def test_an_unconfirmed_consent_leaves_the_decision_to_the_holder() -> None:
    """Item 2: a consent recorded on someone's word counts only once confirmed by the person; until then the
    holder decides (its approval is its confirmation), except for data the recording organisation holds."""
    request_ = ask("gemeente", "health_summary", "ggz", "care_coordination", case_reference="C-2")
    (waiting,) = decide(request_, POLICY, SubjectFacts(consents=(consent(status="awaiting_confirmation"),)))
    assert (waiting.outcome, waiting.consent, waiting.rule) == ("pending", 41, "ggz-gemeente-health")
    holders_own = consent(status="awaiting_confirmation", recorded_by="ggz")
    (own,) = decide(request_, POLICY, SubjectFacts(consents=(holders_own,)))
    assert (own.outcome, own.consent) == ("permit", 41)
    contradicted = replace(holders_own, givers_contradicted=True)
    (refused,) = decide(request_, POLICY, SubjectFacts(consents=(contradicted,)))
    assert (refused.outcome, refused.reason_codes) == ("deny", ["consent_incomplete"])
    (confirmed,) = decide(request_, POLICY, SubjectFacts(consents=(consent(status="active", recorded_by="x"),)))
    assert confirmed.outcome == "permit"


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


# --- The general guard: no restriction oracle, for any request and any facts --------------------------------

ORGS = sorted(WHEREABOUTS_POLICY.organisations)
CATEGORIES = sorted(WHEREABOUTS_POLICY.categories)
PURPOSES = sorted(WHEREABOUTS_POLICY.purposes)

restrictions_st = st.builds(
    RestrictionFact,
    id=st.integers(1, 9),
    kind=st.sampled_from(["shielded_address", "reporter_confidential", "no_contact_order"]),
    categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=3),
    allowed_organisations=st.frozensets(st.sampled_from(ORGS), max_size=3),
    allowed_sectors=st.frozensets(st.sampled_from(["police", "veilig_thuis", "safety_house"]), max_size=2),
)
consents_st = st.builds(
    consent,
    status=st.sampled_from(["active", "awaiting_confirmation", "incomplete", "withdrawn", "expired"]),
    recorded_by=st.sampled_from([None, *ORGS]),
    givers_contradicted=st.booleans(),
    recipient_organisations=st.frozensets(st.sampled_from(ORGS), max_size=2),
)
requests_st = st.builds(
    lambda requester, category, provider, purpose, case, emergency, justified: ask(
        requester,
        category,
        provider,
        purpose,
        case_reference=case,
        emergency=emergency,
        has_justification=justified,
    ),
    st.sampled_from(ORGS),
    st.sampled_from(CATEGORIES),
    st.sampled_from(ORGS),
    st.sampled_from(PURPOSES),
    st.sampled_from([None, "C-1", "C-2"]),
    st.booleans(),
    st.booleans(),
)


def _public(decision: CategoryDecision) -> tuple[object, ...]:
    """What the requester is shown of a decision."""
    return (
        decision.outcome,
        decision.rule,
        decision.rule_version,
        decision.legal_basis,
        decision.consent,
        decision.reason_codes,
        decision.emergency_access,
        decision.redact,
    )


@settings(max_examples=400, deadline=None)
@given(
    request_=requests_st,
    restrictions=st.lists(restrictions_st, min_size=1, max_size=3),
    consents=st.lists(consents_st, max_size=2),
    orders=st.lists(
        st.tuples(st.sampled_from(ORGS), st.just(dt.date(2025, 1, 1)), st.sampled_from([None, TODAY])), max_size=1
    ),
)
def test_property_no_requester_outside_a_case_can_tell_a_restriction_from_an_unknown_person(
    request_: DecisionRequest,
    restrictions: list[RestrictionFact],
    consents: list[ConsentFact],
    orders: list[tuple[str, dt.date, dt.date | None]],
) -> None:
    """For a requester that takes part in no active case with the person, whatever the restrictions, consents
    and orders: what it is shown equals what it would be shown without any restriction (and so equals an
    unknown person with the same consents), and a category a restriction covers never releases."""
    facts = SubjectFacts(consents=tuple(consents), supervision_orders=tuple(orders), restrictions=tuple(restrictions))
    for shown, free in zip(
        decide(request_, WHEREABOUTS_POLICY, facts),
        decide(request_, WHEREABOUTS_POLICY, replace(facts, restrictions=())),
        strict=True,
    ):
        assert _public(shown) == _public(free)
        if shown.shielded:
            assert not shown.releases and shown.as_recorded().reason_codes == ["restricted"]
    assert decide(request_, WHEREABOUTS_POLICY, SubjectFacts.unknown(tuple(consents))) == decide(
        request_, WHEREABOUTS_POLICY, SubjectFacts(consents=tuple(consents))
    )


@settings(max_examples=400, deadline=None)
@given(request_=requests_st, restrictions=st.lists(restrictions_st, min_size=1, max_size=3), in_case=st.booleans())
def test_property_a_covered_category_is_never_released_whole(
    request_: DecisionRequest, restrictions: list[RestrictionFact], in_case: bool
) -> None:
    """Whoever asks: a category that a restriction names is released only to the organisations and sectors it
    allows, and a category with whereabouts fields is released to others only with those fields withheld."""
    facts = SubjectFacts(in_named_case=in_case, shares_active_case=True, restrictions=tuple(restrictions))
    (decision,) = decide(request_, WHEREABOUTS_POLICY, facts)
    category = request_.categories[0]
    sector = WHEREABOUTS_POLICY.sector_of(request_.requester)
    outside = [
        r for r in restrictions if request_.requester not in r.allowed_organisations and sector not in r.allowed_sectors
    ]
    if any(category in r.categories for r in outside):
        assert (decision.outcome, decision.reason_codes) == ("deny", ["restricted"])
    elif decision.releases and any(r.kind == "shielded_address" for r in outside):
        assert set(decision.redact) >= set(WHEREABOUTS_POLICY.categories[category].whereabouts)
