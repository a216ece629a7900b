"""The urgent lane and the holder's recorded weighing (issue 11, mechanism 1), end to end through HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry, AuditFacet
from consent.models import LegalBasis, Organisation
from gateway.models import PendingItem, WebhookDelivery, WebhookEndpoint
from gateway.pending import urgent_escalate_due
from tests.conftest import wait_for

LOTTE = "999990032"
ASK_SCHOOL = {
    "subject": {"bsn": LOTTE},
    "categories": ["school_attendance"],
    "purpose": "vt_safety_assessment",
    "providers": {"school_attendance": "school-regenboog"},
}
URGENT = {**ASK_SCHOOL, "emergency": True, "justification": "Acuut gevaar: kind vanavond niet thuisgekomen."}
WEIGHING = "Het belang van het kind weegt zwaarder dan de geheimhouding: acute zorg, proportioneel gedeeld."


def school(partner: Any) -> Any:
    return partner("school-regenboog", scope="provider")


def test_an_emergency_item_is_urgent_listed_first_and_expires_sooner(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    assert vt.ask(**ASK_SCHOOL).status_code == 202
    urgent = vt.ask(**URGENT)
    assert urgent.status_code == 202, urgent.content
    listed = school(partner).get("/api/v1/holder/pending").json()["results"]
    assert [item["urgent"] for item in listed] == [True, False]  # urgent first, although it came later
    assert listed[0]["request_id"] == urgent.json()["id"]
    assert listed[0]["escalated_at"] is None
    item = PendingItem.objects.get(urgent=True)
    ordinary = PendingItem.objects.get(urgent=False)
    assert item.expires_at - item.created_at == dt.timedelta(hours=settings.GATEWAY_URGENT_EXPIRY_HOURS)
    assert item.escalate_at - item.created_at == dt.timedelta(minutes=settings.GATEWAY_URGENT_ESCALATE_MINUTES)
    assert ordinary.expires_at - ordinary.created_at == dt.timedelta(hours=settings.GATEWAY_HOLDER_PENDING_HOURS)
    assert ordinary.escalate_at is None


def test_an_open_urgent_item_is_escalated_once_audited_and_announced_to_the_holder(partner: Any) -> None:
    WebhookEndpoint.objects.create(
        organisation=Organisation.objects.get(slug="school-regenboog"),
        url="https://hooks.school.example/vd",
        secret_env="VD_WEBHOOK_SECRET_SCHOOL",
    )
    created = partner("veilig-thuis-rr").ask(**URGENT).json()
    assert urgent_escalate_due() == 0  # not due yet
    PendingItem.objects.update(escalate_at=timezone.now() - dt.timedelta(minutes=1))
    assert urgent_escalate_due() == 1
    assert urgent_escalate_due() == 0  # once
    item = PendingItem.objects.get()
    assert item.escalated_at is not None and item.status == "pending"
    entry = AuditEntry.objects.get(kind="urgent_escalation")
    assert entry.reference == created["id"] and entry.outcome == "escalated"
    assert entry.detail["pending_item"] == item.id
    assert AuditFacet.objects.filter(entry=entry, key="holder", value="school-regenboog").exists()
    assert LOTTE not in entry.leaf
    hook = WebhookDelivery.objects.get(event="pending.escalated")
    assert hook.organisation.slug == "school-regenboog"
    assert hook.payload["pending_item"] == item.id and hook.payload["request_id"] == created["id"]
    assert LOTTE not in str(hook.payload)
    (listed,) = school(partner).get("/api/v1/holder/pending").json()["results"]
    assert listed["escalated_at"] is not None


def test_a_settled_or_expired_urgent_item_is_not_escalated(partner: Any) -> None:
    partner("veilig-thuis-rr").ask(**URGENT)
    item_id = PendingItem.objects.get().id
    assert school(partner).post(f"/api/v1/holder/pending/{item_id}", {"decision": "decline"}).status_code == 200
    PendingItem.objects.update(escalate_at=timezone.now() - dt.timedelta(minutes=1))
    assert urgent_escalate_due() == 0
    assert not AuditEntry.objects.filter(kind="urgent_escalation").exists()


def weighing_required(flag: bool = True) -> None:
    LegalBasis.objects.filter(code="WMO_5_2_6").update(weighing_required=flag)


def test_an_approval_under_a_weighing_basis_needs_the_weighing(partner: Any) -> None:
    weighing_required()
    vt = partner("veilig-thuis-rr")
    created = vt.ask(**ASK_SCHOOL).json()
    holder = school(partner)
    (listed,) = holder.get("/api/v1/holder/pending").json()["results"]
    assert listed["weighing_required"] is True
    refused = holder.post(f"/api/v1/holder/pending/{listed['id']}", {"decision": "approve", "note": "ok"})
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "weighing_required"
    assert [e["field"] for e in refused.json()["errors"]] == ["weighing"]
    assert PendingItem.objects.get().status == "pending"
    short = holder.post(f"/api/v1/holder/pending/{listed['id']}", {"decision": "approve", "weighing": "te kort"})
    assert short.status_code == 400 and short.json()["errors"][0]["field"] == "weighing"

    approved = holder.post(f"/api/v1/holder/pending/{listed['id']}", {"decision": "approve", "weighing": WEIGHING})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert PendingItem.objects.get().weighing == WEIGHING
    entry = AuditEntry.objects.filter(kind="holder_decision").latest("index")
    assert entry.detail["weighing_sha256"] == hashlib.sha256(WEIGHING.encode()).hexdigest()
    assert "belang van het kind" not in entry.leaf  # the text stays with the item
    assert vt.get(f"/api/v1/requests/{created['id']}").json()["status"] == "released"


def test_without_a_weighing_basis_the_approval_needs_none_and_a_decline_never(partner: Any) -> None:
    weighing_required(False)
    partner("veilig-thuis-rr").ask(**ASK_SCHOOL)
    holder = school(partner)
    (listed,) = holder.get("/api/v1/holder/pending").json()["results"]
    assert listed["weighing_required"] is False
    assert holder.post(f"/api/v1/holder/pending/{listed['id']}", {"decision": "approve"}).status_code == 200
    weighing_required()
    partner("veilig-thuis-rr").ask(**ASK_SCHOOL)
    item = PendingItem.objects.get(status="pending")
    assert holder.post(f"/api/v1/holder/pending/{item.id}", {"decision": "decline"}).status_code == 200


def test_beat_and_a_worker_escalate_an_urgent_item(celery_worker: Any, partner: Any) -> None:
    worker = celery_worker(
        beat=True, env={"GATEWAY_URGENT_ESCALATE_MINUTES": "1", "GATEWAY_URGENT_ESCALATE_CHECK_SECONDS": "1"}
    )
    assert partner("veilig-thuis-rr").ask(**URGENT).status_code == 202
    PendingItem.objects.update(escalate_at=timezone.now() - dt.timedelta(seconds=1))
    if not wait_for(lambda: PendingItem.objects.filter(escalated_at__isnull=False).exists(), 60):
        pytest.fail("not escalated within 60 s; worker output:\n" + worker.output())
    assert AuditEntry.objects.filter(kind="urgent_escalation").count() == 1
