"""The contract test: real responses against the generated OpenAPI description (``tests/gateway/contract.py``).

Every API response any test gets is checked as it arrives (the session fixture in ``tests/conftest.py``); these
tests show that the check is on and that it catches what it is for: a member the serializer does not define, a
status the operation does not document, an error that is not problem details.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.problems import PROBLEM_CONTENT_TYPE
from tests.gateway.contract import CAPTURE, ContractViolation, openapi, violations

MARK = "999990019"
ASK = {
    "subject": {"bsn": MARK},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def test_every_documented_response_has_a_schema_and_every_error_is_problem_details(db: Any) -> None:
    problem_ref = "#/components/schemas/Problem"
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                where = f"{method.upper()} {path} {status}"
                content = response.get("content")
                assert content, f"{where} has no schema"
                if int(status) >= 400:
                    assert list(content) == [PROBLEM_CONTENT_TYPE], where
                    assert content[PROBLEM_CONTENT_TYPE]["schema"] == {"$ref": problem_ref}, where
                else:
                    assert all(media["schema"] for media in content.values()), where
            assert {"401", "403", "429"} <= set(operation["responses"]), f"{method.upper()} {path}"


def test_real_responses_are_checked_as_they_arrive(partner: Any) -> None:
    before = CAPTURE.checked
    vt = partner("veilig-thuis-rr")
    released = vt.ask(**ASK)
    assert released.status_code == 200
    assert vt.get(f"/api/v1/requests/{released.json()['id']}").status_code == 200
    assert vt.get("/api/v1/requests").status_code == 200
    assert vt.post("/api/v1/decisions", ASK).status_code == 200
    assert vt.ask(**{**ASK, "purpose": "no_such_purpose"}).status_code == 400
    assert CAPTURE.checked == before + 5
    assert {200, 400} <= CAPTURE.seen[("POST", "/api/v1/requests")]


def test_a_member_the_serializer_does_not_define_breaks_the_contract(partner: Any, monkeypatch: Any) -> None:
    """A view that answers with a member of its own, next to the serializer, fails the test that calls it."""
    from gateway.api import views

    vt = partner("veilig-thuis-rr")
    request_id = vt.ask(**ASK).json()["id"]
    original = views.request_json
    monkeypatch.setattr(views, "request_json", lambda stored: {**original(stored), "subject_bsn": stored.subject_bsn})
    with pytest.raises(ContractViolation, match="subject_bsn"):
        vt.get(f"/api/v1/requests/{request_id}")


def test_the_check_refuses_what_the_description_does_not_allow(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    response = vt.post("/api/v1/decisions", ASK)
    body = response.content
    assert violations("POST", "/api/v1/decisions", 200, "application/json", body) == []
    # a status the operation does not document
    assert "status not documented" in violations("POST", "/api/v1/decisions", 418, PROBLEM_CONTENT_TYPE, b"{}")[0]
    # an error that is not problem details
    assert violations("POST", "/api/v1/decisions", 400, "application/json", b"{}")
    # a documented member missing, or of the wrong type
    assert violations("POST", "/api/v1/decisions", 200, "application/json", b'{"decisions": []}')
    assert violations("POST", "/api/v1/decisions", 200, "application/json", b'{"decisions": 1, "audit": {}}')
    # not a described operation: not checked here (health probes, the schema itself)
    assert violations("GET", "/healthz", 200, "application/json", b"{}") == []
