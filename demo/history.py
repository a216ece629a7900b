"""A short, realistic history for the demo (demo-world.md, "History"), made through the live request flow.

Every request here goes through :func:`gateway.request_flow.information_request_submit`, the same action the API
calls, so the audit entries are written exactly as for a partner's request; nothing writes audit rows itself.
"""

from __future__ import annotations

from typing import Any

from consent.models import Organisation
from consent.selectors import policy_current
from gateway import request_flow
from gateway.api.serializers import InformationRequestInSerializer
from gateway.callers import Caller
from gateway.models import InformationRequest

SANNE, MARK, LOTTE, FATIMA, ADAM = "999990007", "999990019", "999990032", "999990044", "999990081"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"

HISTORY: list[tuple[str, str, dict[str, Any]]] = [
    # (requester, acting professional, request body)
    (
        "veilig-thuis-rr",
        "vt-medewerker-017",
        {
            "subject": {"bsn": MARK},
            "categories": ["police_incidents", "house_ban"],
            "purpose": "vt_safety_assessment",
            "case_reference": CASE_1,
        },
    ),
    (
        "politie-rotterdam",
        "agent-4471",
        {
            "subject": {"bsn": SANNE},
            "categories": ["address"],
            "purpose": "zvh_case_meeting",
            "case_reference": CASE_1,
        },
    ),
    (
        "zvh-rr",
        "procesregisseur-03",
        {
            "subject": {"bsn": SANNE},
            "categories": ["address", "victim_support"],
            "purpose": "zvh_case_meeting",
            "case_reference": CASE_1,
        },
    ),
    (
        "gemeente-rotterdam",
        "wijkteam-kralingen-12",
        {
            "subject": {"bsn": FATIMA},
            "categories": ["health_summary"],
            "purpose": "care_coordination",
            "case_reference": CASE_2,
            "providers": {"health_summary": "ggz-rijnmond"},
        },
    ),
    (
        "jeugdbescherming-rr",
        "jeugdbeschermer-208",
        {
            "subject": {"bsn": ADAM},
            "categories": ["school_attendance"],
            "purpose": "ots_execution",
            "providers": {"school_attendance": "school-regenboog"},
        },
    ),
    (
        "woonstad-maasstad",
        "",
        {
            "subject": {"bsn": SANNE},
            "categories": ["address"],
            "purpose": "zvh_case_meeting",
        },
    ),
    (
        "veilig-thuis-rr",
        "vt-medewerker-017",
        {
            "subject": {"bsn": LOTTE},
            "categories": ["school_attendance"],
            "purpose": "vt_safety_assessment",
            "providers": {"school_attendance": "school-regenboog"},
        },
    ),
    (
        "slachtofferhulp",
        "sh-casemanager-9",
        {
            "subject": {"bsn": MARK},
            "categories": ["risk_assessment"],
            "purpose": "acute_danger",
            "emergency": True,
            "justification": "Sanne reported that Mark was seen near her workplace tonight; safety plan needed now.",
        },
    ),
]


def seed_history() -> int:
    """Make the demo's history once (skipped when requests exist already). Returns the number of requests."""
    if InformationRequest.objects.exists():
        return 0
    made = 0
    for slug, acting_user, body in HISTORY:
        organisation = Organisation.objects.select_related("sector").get(slug=slug)
        caller = Caller(
            organisation=organisation,
            client_id=slug,
            scopes=frozenset({"requests"}),
            acting_user=acting_user or None,
        )
        policy = policy_current()
        serializer = InformationRequestInSerializer(data=body, context={"policy": policy})
        serializer.is_valid(raise_exception=True)
        request_flow.information_request_submit(
            caller=caller, payload=serializer.validated_data, policy=policy, idempotency_key=None
        )
        made += 1
    _withhold_one_disclosure_about_sanne()
    _police_clear_their_answer_about_mark()
    return made


def _withhold_one_disclosure_about_sanne() -> None:
    """demo-world.md: one disclosure about Sanne is withheld from her until a review date (the police's request
    for her address, while the safety assessment runs)."""
    from consent.models import Restriction
    from consent.restrictions import restriction_withhold_request

    restriction = Restriction.objects.filter(
        person__bsn=SANNE, kind="withheld_from_subject", active=True, request_reference=""
    ).first()
    police_request = InformationRequest.objects.filter(
        organisation__slug="politie-rotterdam", subject_bsn=SANNE, decisions__category="address"
    ).first()
    if restriction is not None and police_request is not None:
        restriction_withhold_request(restriction=restriction, request_id=police_request.id, by_user="system:seed_demo")


def _police_clear_their_answer_about_mark() -> None:
    """Scenario 12: Mark sees what was shared about him once the holder cleared it. The police clear Veilig
    Thuis' question about their incidents (the victim's side's questions stay held until their informing day)."""
    from audit.ledger import Actor
    from gateway.notices import notice_clear

    police = Organisation.objects.get(slug="politie-rotterdam")
    question = InformationRequest.objects.filter(
        organisation__slug="veilig-thuis-rr", subject_bsn=MARK, decisions__category="police_incidents"
    ).first()
    if question is not None:
        notice_clear(
            organisation=police,
            actor=Actor(organisation=police.slug, user="system:seed_demo"),
            request_id=question.id,
        )
