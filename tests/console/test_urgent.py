"""The console's urgent lane (/privacy/urgent/): open urgent holder items, escalated first, in the officer's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry, OfficerProfile
from consent.models import Organisation
from gateway.models import PendingItem
from gateway.pending import urgent_escalate_due

LOTTE = "999990032"
URGENT = {
    "subject": {"bsn": LOTTE},
    "categories": ["school_attendance"],
    "purpose": "vt_safety_assessment",
    "providers": {"school_attendance": "school-regenboog"},
    "emergency": True,
    "justification": "Acuut gevaar: kind vanavond niet thuisgekomen.",
}


@pytest.fixture(autouse=True)
def demo_mode(settings: Any, db: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False


def officer(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_urgent_page_lists_open_urgent_items_escalated_first_and_records_the_view(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    first = vt.ask(**URGENT).json()["id"]
    second = vt.ask(**URGENT).json()["id"]
    PendingItem.objects.filter(request_id=second).update(escalate_at=timezone.now() - dt.timedelta(minutes=1))
    assert urgent_escalate_due() == 1
    page = officer("privacy").get("/privacy/urgent/")
    assert page.status_code == 200
    html = page.content.decode()
    assert first in html and second in html
    assert html.index(second) < html.index(first)  # escalated first
    assert "Escalated" in html and LOTTE not in html
    assert 'href="/privacy/urgent/"' in html  # in the console's navigation
    view = AuditEntry.objects.filter(kind="console_view").latest("index")
    assert view.outcome == "urgent" and view.detail["results"] == 2


def test_a_settled_item_leaves_the_page_and_a_scoped_officer_sees_only_its_own(partner: Any) -> None:
    created = partner("veilig-thuis-rr").ask(**URGENT)
    assert created.status_code == 202, created.content
    request_id = created.json()["id"]
    police = User.objects.create_user("privacy-police")
    OfficerProfile.objects.create(user=police, organisation=Organisation.objects.get(slug="politie-rotterdam"))
    assert request_id in officer("privacy").get("/privacy/urgent/").content.decode()
    assert request_id in officer("privacy-vt").get("/privacy/urgent/").content.decode()  # its own request
    assert request_id not in officer("privacy-police").get("/privacy/urgent/").content.decode()
    PendingItem.objects.update(status="declined")
    assert request_id not in officer("privacy").get("/privacy/urgent/").content.decode()


def test_the_page_needs_an_officer(client: Client, db: Any) -> None:
    assert client.get("/privacy/urgent/").status_code == 302
