"""Case-level pre-authorisations by a holder (issue 11, mechanism 1), end to end through HTTP: grant, list,
withdraw; no oracle for a case the holder takes no part in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry

pytest.importorskip("consent.preauthorisations")  # the audited actions (helper DECISION's part of issue 11)

CASE = "CHGK-RR-2026-0001"  # led by veilig-thuis-rr
GRANT = {
    "case_reference": CASE,
    "recipient_sector": "police",
    "categories": ["risk_assessment"],
    "purposes": ["acute_danger"],
    "weighing": "Hoog risico op escalatie; politie moet het risicobeeld kennen om de veiligheid te borgen.",
}


def grant_body() -> dict[str, Any]:
    return {**GRANT, "valid_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat()}


def test_veilig_thuis_grants_lists_and_withdraws_a_preauthorisation(partner: Any) -> None:
    vt = partner("veilig-thuis-rr", scope="provider")
    granted = vt.post("/api/v1/holder/preauthorisations", grant_body())
    assert granted.status_code == 201, granted.content
    body = granted.json()
    assert body["status"] == "active" and body["case_reference"] == CASE and body["recipient_sector"] == "police"
    entry = AuditEntry.objects.filter(kind="preauthorisation").latest("index")
    assert "risicobeeld" not in entry.leaf
    listed = vt.get("/api/v1/holder/preauthorisations").json()["results"]
    assert [p["id"] for p in listed] == [body["id"]]
    withdrawn = vt.post(f"/api/v1/holder/preauthorisations/{body['id']}/withdraw", {})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert vt.get("/api/v1/holder/preauthorisations").json()["results"] == []
    assert vt.post(f"/api/v1/holder/preauthorisations/{body['id']}/withdraw", {}).status_code == 409


def test_a_case_the_holder_takes_no_part_in_is_the_same_404_as_an_unknown_one(partner: Any) -> None:
    school = partner("huisarts-kralingen", scope="provider")
    foreign = school.post("/api/v1/holder/preauthorisations", grant_body())
    unknown = school.post("/api/v1/holder/preauthorisations", {**grant_body(), "case_reference": "NO-SUCH-CASE"})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    vt = partner("veilig-thuis-rr", scope="provider")
    own = vt.post("/api/v1/holder/preauthorisations", grant_body()).json()
    assert school.post(f"/api/v1/holder/preauthorisations/{own['id']}/withdraw", {}).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient_organisation": "politie-rotterdam"}, "recipient_organisation"),  # two recipients
        ({"categories": ["no_such_category"]}, "categories[0]"),
        ({"purposes": ["curiosity"]}, "purposes[0]"),
        ({"weighing": "te kort"}, "weighing"),
    ],
)
def test_malformed_grants_are_problems(partner: Any, change: dict[str, Any], field: str) -> None:
    response = partner("veilig-thuis-rr", scope="provider").post(
        "/api/v1/holder/preauthorisations", {**grant_body(), **change}
    )
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
