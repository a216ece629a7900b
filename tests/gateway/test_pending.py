"""Holder decisions (api.md, "Holder decisions") and scenario 2 end to end: a reporting right is the holder's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from consent.choices import HolderKind
from gateway.models import HolderEndpoint, PendingItem
from gateway.pending import holder_expire_due

LOTTE = "999990032"
ASK_SCHOOL = {
    "subject": {"bsn": LOTTE},
    "categories": ["school_attendance"],
    "purpose": "vt_safety_assessment",
    "providers": {"school_attendance": "school-regenboog"},
}


def pending_request(partner: Any) -> tuple[Any, dict[str, Any]]:
    vt = partner("veilig-thuis-rr")
    response = vt.ask(**ASK_SCHOOL)
    assert response.status_code == 202
    return vt, response.json()


def test_scenario_2_the_school_approves_and_the_request_is_released(partner: Any) -> None:
    vt, created = pending_request(partner)
    school = partner("school-regenboog", scope="provider")
    (item,) = school.get("/api/v1/holder/pending").json()["results"]
    assert item["request_id"] == created["id"]
    assert item["requester"] == "veilig-thuis-rr"
    assert item["subject"] == {"bsn": LOTTE}
    assert item["legal_basis"]["code"] == "WMO_5_2_6"

    settled = school.post(f"/api/v1/holder/pending/{item['id']}", {"decision": "approve", "note": "Zorgen gedeeld."})
    assert settled.status_code == 200, settled.content
    assert settled.json()["status"] == "approved"
    assert school.get("/api/v1/holder/pending").json()["results"] == []

    polled = vt.get(f"/api/v1/requests/{created['id']}").json()
    assert polled["status"] == "released"
    assert polled["decisions"][0]["outcome"] == "permit"
    assert set(polled["data"]["school_attendance"]) <= {
        "school_year",
        "absences_authorised",
        "absences_unauthorised",
        "last_absence",
        "concerns",
    }
    entry = AuditEntry.objects.filter(kind="holder_decision").latest("index")
    assert entry.organisation == "school-regenboog"
    assert entry.reference == created["id"] and entry.outcome == "approved"
    assert entry.decisions[0]["fields"] and len(entry.decisions[0]["payload_sha256"]) == 64
    assert "Zorgen" not in entry.leaf  # the holder's note stays out of the trail


def test_the_holder_declines(partner: Any) -> None:
    vt, created = pending_request(partner)
    school = partner("school-regenboog", scope="provider")
    item_id = school.get("/api/v1/holder/pending").json()["results"][0]["id"]
    assert school.post(f"/api/v1/holder/pending/{item_id}", {"decision": "decline"}).status_code == 200
    polled = vt.get(f"/api/v1/requests/{created['id']}").json()
    assert polled["status"] == "denied"
    assert [r["code"] for r in polled["decisions"][0]["reasons"]] == ["holder_declined"]
    assert polled["data"] is None
    again = school.post(f"/api/v1/holder/pending/{item_id}", {"decision": "approve"})
    assert again.status_code == 409


def test_only_the_holder_sees_and_settles_its_items(partner: Any) -> None:
    pending_request(partner)
    item_id = PendingItem.objects.get().id
    other = partner("maascollege-kralingen", scope="provider")
    assert other.get("/api/v1/holder/pending").json()["results"] == []
    assert other.post(f"/api/v1/holder/pending/{item_id}", {"decision": "approve"}).status_code == 404
    no_scope = partner("school-regenboog", scope="requests")
    assert no_scope.get("/api/v1/holder/pending").status_code == 403


def test_items_expire_and_the_category_is_denied(partner: Any) -> None:
    vt, created = pending_request(partner)
    PendingItem.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert holder_expire_due() == 1
    assert holder_expire_due() == 0
    item = PendingItem.objects.get()
    assert item.status == "expired"
    polled = vt.get(f"/api/v1/requests/{created['id']}").json()
    assert polled["status"] == "denied"
    assert [r["code"] for r in polled["decisions"][0]["reasons"]] == ["holder_declined"]
    school = partner("school-regenboog", scope="provider")
    assert school.post(f"/api/v1/holder/pending/{item.id}", {"decision": "approve"}).status_code == 409
    assert AuditEntry.objects.filter(kind="holder_decision", outcome="expired").count() == 1


def test_an_unreachable_holder_system_keeps_the_item_pending(partner: Any) -> None:
    pending_request(partner)
    HolderEndpoint.objects.filter(organisation__slug="school-regenboog").update(
        kind=HolderKind.HTTP, url="http://127.0.0.1:9/unreachable", timeout_seconds=0.2
    )
    school = partner("school-regenboog", scope="provider")
    item_id = PendingItem.objects.get().id
    response = school.post(f"/api/v1/holder/pending/{item_id}", {"decision": "approve"})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert PendingItem.objects.get().status == "pending"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"decision": "maybe"}, 400),
        ({}, 400),
        ({"decision": "approve", "extra": 1}, 400),
        ({"decision": 1}, 400),
        ({"decision": "approve", "note": "x" * 2001}, 400),
        ([], 400),
    ],
)
def test_malformed_holder_calls(partner: Any, body: Any, status: int) -> None:
    pending_request(partner)
    school = partner("school-regenboog", scope="provider")
    item_id = PendingItem.objects.get().id
    response = school.post(f"/api/v1/holder/pending/{item_id}", body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert PendingItem.objects.get().status == "pending"
    assert school.post(f"/api/v1/holder/pending/{item_id}", b"{", content_type="application/json").status_code == 400
    assert school.post(f"/api/v1/holder/pending/{item_id}", "x", content_type="text/plain").status_code == 415
    assert school.post("/api/v1/holder/pending/" + "z" * 300, {"decision": "approve"}).status_code == 404
