"""Push disclosures (issue 11, mechanism 4): a holder shares on its own initiative; the same policy decides, the
trail records it, the recipient hears of it and reads it, the subject's portal shows it. End to end through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from consent.models import Organisation, Person
from gateway.models import InformationRequest, WebhookDelivery, WebhookEndpoint
from portal.selectors import timeline

LOTTE = "999990032"
PUSH = {
    "recipient": "veilig-thuis-rr",
    "subject": {"bsn": LOTTE},
    "category": "school_attendance",
    "purpose": "vt_safety_assessment",
    "justification": "Zorgen over verzuim en signalen van onveiligheid thuis.",
    "data": {"school_year": "2026-2027", "absences_unauthorised": 7, "concerns": "Komt vaak moe en stil op school."},
}


def sender(partner: Any) -> Any:
    return partner("school-regenboog", scope="provider")


def test_a_school_reports_to_veilig_thuis_on_its_own_initiative_wmo_5_2_6(partner: Any) -> None:
    WebhookEndpoint.objects.create(
        organisation=Organisation.objects.get(slug="veilig-thuis-rr"),
        url="https://hooks.vt.example/vd",
        secret_env="VD_WEBHOOK_SECRET_VT",
    )
    sent = sender(partner).post("/api/v1/disclosures", PUSH)
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert body["status"] == "released" and body["recipient"] == "veilig-thuis-rr"
    assert body["decision"]["outcome"] == "permit"  # the push is the holder's judgement: nothing waits
    assert body["decision"]["legal_basis"]["code"] == "WMO_5_2_6"

    stored = InformationRequest.objects.get(pk=body["id"])
    assert stored.pushed_by.slug == "school-regenboog" and stored.organisation.slug == "veilig-thuis-rr"
    entry = AuditEntry.objects.get(kind="disclosure")
    assert (entry.index, entry.leaf_hash) == (body["audit"]["index"], body["audit"]["leaf_hash"])
    assert entry.organisation == "school-regenboog" and entry.detail["recipient"] == "veilig-thuis-rr"
    assert sorted(entry.decisions[0]["fields"]) == ["absences_unauthorised", "concerns", "school_year"]
    assert len(entry.decisions[0]["payload_sha256"]) == 64 and "moe en stil" not in entry.leaf

    hook = WebhookDelivery.objects.get(event="disclosure.received")
    assert hook.organisation.slug == "veilig-thuis-rr" and hook.payload["disclosure_id"] == body["id"]
    assert LOTTE not in str(hook.payload)

    vt = partner("veilig-thuis-rr")
    (received,) = vt.get("/api/v1/disclosures").json()["results"]
    assert received["id"] == body["id"] and received["sender"] == "school-regenboog"
    assert received["subject"] == {"bsn": LOTTE}
    assert received["data"] == PUSH["data"]
    read = AuditEntry.objects.filter(kind="api_view").latest("index")
    assert read.outcome == "disclosures_list" and read.detail["with_data"] == [body["id"]]
    # a push is not one of the recipient's own requests, and no sender reads it back
    assert vt.get("/api/v1/requests").json()["results"] == []
    assert vt.get(f"/api/v1/requests/{body['id']}").status_code == 404
    assert partner("school-regenboog").get("/api/v1/disclosures").json()["results"] == []

    shown = timeline(Person.objects.get(bsn=LOTTE))
    assert body["id"] in [e.id for e in shown.entries]  # the portal shows it like any disclosure


def test_a_push_no_rule_allows_is_denied_recorded_and_never_reaches_the_recipient(partner: Any) -> None:
    sent = sender(partner).post("/api/v1/disclosures", {**PUSH, "recipient": "maascollege-kralingen"})
    assert sent.status_code == 201, sent.content
    assert sent.json()["status"] == "denied"
    assert sent.json()["decision"]["reasons"][0]["code"] == "no_rule"
    assert AuditEntry.objects.get(kind="disclosure").outcome == "denied"
    assert not WebhookDelivery.objects.filter(event="disclosure.received").exists()
    assert partner("maascollege-kralingen").get("/api/v1/disclosures").json()["results"] == []


def test_an_idempotent_retry_records_one_disclosure(partner: Any) -> None:
    school = sender(partner)
    first = school.post("/api/v1/disclosures", PUSH, headers={"Idempotency-Key": "push-1"})
    again = school.post("/api/v1/disclosures", PUSH, headers={"Idempotency-Key": "push-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert AuditEntry.objects.filter(kind="disclosure").count() == 1
    other = school.post(
        "/api/v1/disclosures", {**PUSH, "purpose": "report_to_vt"}, headers={"Idempotency-Key": "push-1"}
    )
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": "nobody-here"}, "recipient"),
        ({"recipient": "school-regenboog"}, "recipient"),
        ({"category": "no_such_category"}, "category"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"data": {}}, "data"),
        ({"data": {"diagnosis": "x"}}, "data.diagnosis"),
        ({"data": {"absences_unauthorised": "seven"}}, "data.absences_unauthorised"),
        ({"justification": "kort"}, "justification"),
        ({"subject": {"bsn": "123456789"}}, "subject.bsn"),
        ({"extra": 1}, "extra"),
    ],
)
def test_malformed_pushes_are_problems_and_record_nothing(partner: Any, change: dict[str, Any], field: str) -> None:
    response = sender(partner).post("/api/v1/disclosures", {**PUSH, **change})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not InformationRequest.objects.exists()
    assert not AuditEntry.objects.filter(kind="disclosure").exists()


def test_each_side_needs_its_scope(partner: Any) -> None:
    assert partner("school-regenboog", scope="requests").post("/api/v1/disclosures", PUSH).status_code == 403
    assert partner("veilig-thuis-rr", scope="provider").get("/api/v1/disclosures").status_code == 403
