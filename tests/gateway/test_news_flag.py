"""The portal's news flag (``InformationRequest.news_pending``, swept by portal/notifications.py): set by the
statement that writes an entry the family may see, a request, a holder's push, a holder's release, and never in a
statement of its own."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from gateway.models import InformationRequest, PendingItem

LOTTE, MARK = "999990032", "999990019"
TABLE = '"gateway_informationrequest"'
ASK_SCHOOL = {
    "subject": {"bsn": LOTTE},
    "categories": ["school_attendance"],
    "purpose": "vt_safety_assessment",
    "providers": {"school_attendance": "school-regenboog"},
}
PUSH = {
    "recipient": "veilig-thuis-rr",
    "subject": {"bsn": LOTTE},
    "category": "school_attendance",
    "purpose": "vt_safety_assessment",
    "justification": "Zorgen over verzuim.",
    "data": {"school_year": "2026-2027", "absences_unauthorised": 7},
}


def writes(queries: CaptureQueriesContext) -> list[str]:
    """The statements that wrote a request row (a request's INSERT may be the first part of a writable CTE that also
    writes its decisions, gateway/inserts.py)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if f"INSERT INTO {TABLE}" in q["sql"] or q["sql"].startswith(f"UPDATE {TABLE}")
    ]


def flagged(request_id: str) -> bool:
    return InformationRequest.objects.values_list("news_pending", flat=True).get(pk=request_id)


def test_a_request_is_flagged_by_its_own_insert(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    for body, status in (
        ({**ASK_SCHOOL}, 202),
        (
            {
                "subject": {"bsn": MARK},
                "categories": ["police_incidents", "house_ban"],
                "purpose": "vt_safety_assessment",
                "case_reference": "CHGK-RR-2026-0001",
            },
            200,
        ),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = vt.ask(**body)
        assert response.status_code == status, response.content
        (insert,) = writes(queries)
        assert f"INSERT INTO {TABLE}" in insert and '"news_pending"' in insert
        assert flagged(response.json()["id"])


def test_a_push_is_flagged_by_its_own_insert(partner: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = partner("school-regenboog", scope="provider").post("/api/v1/disclosures", PUSH)
    assert response.status_code == 201, response.content
    (insert,) = writes(queries)
    assert '"news_pending"' in insert and flagged(response.json()["id"])


def test_a_release_is_flagged_by_the_status_update_and_a_decline_is_not(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    released, declined = (vt.ask(**ASK_SCHOOL).json()["id"] for _ in range(2))
    InformationRequest.objects.update(news_pending=False)  # as the portal's sweep leaves them
    school = partner("school-regenboog", scope="provider")
    for request_id, decision in ((released, "approve"), (declined, "decline")):
        item = PendingItem.objects.get(request_id=request_id)
        with CaptureQueriesContext(connection) as queries:
            answer = school.post(f"/api/v1/holder/pending/{item.id}", {"decision": decision})
        assert answer.status_code == 200, answer.content
        (update,) = writes(queries)  # the status update, no statement of its own
        assert update.startswith(f"UPDATE {TABLE}")
        assert ('"news_pending"' in update) is (decision == "approve")
    assert flagged(released) and not flagged(declined)
