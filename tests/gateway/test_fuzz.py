"""What the hostile-request run (issue 13, item 4; ``scripts/fuzz``) found, each as a test of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/disclosures"])
@pytest.mark.parametrize("limit", ["true", "abc", "-1", "0", "000", "1.5", "٣", " 5", "5,6", ""])
def test_a_limit_that_is_no_page_size_is_refused_not_read_as_the_default(
    partner: Callable[..., Any], path: str, limit: str
) -> None:
    """Found: ``limit=true`` answered 200 with the default page of 50, as DRF reads any bad value."""
    response = partner("veilig-thuis-rr").get(path, data={"limit": limit})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "limit", "code": "invalid", "message": "A whole number from 1 to 200."}
    ]


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/disclosures"])
@pytest.mark.parametrize("limit", ["1", "0001", "200", "201", "9" * 5000])
def test_a_page_size_from_1_up_is_taken(partner: Callable[..., Any], path: str, limit: str) -> None:
    assert partner("veilig-thuis-rr").get(path, data={"limit": limit}).status_code == 200


def test_the_page_is_as_long_as_limit_says_and_at_most_200(partner: Callable[..., Any]) -> None:
    client = partner("veilig-thuis-rr")
    ask = {
        "subject": {"bsn": "999990019"},
        "categories": ["police_incidents"],
        "purpose": "vt_safety_assessment",
        "case_reference": "CHGK-RR-2026-0001",
    }
    for _ in range(3):
        assert client.ask(**ask).status_code in (200, 202)
    total = len(client.get("/api/v1/requests", data={"limit": "9" * 5000}).json()["results"])
    assert 3 <= total <= 200
    assert len(client.get("/api/v1/requests", data={"limit": "2"}).json()["results"]) == 2
    assert len(client.get("/api/v1/requests").json()["results"]) == min(total, 50)
