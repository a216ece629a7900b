"""Emergency reviews are settled in the privacy console only (issue #9, item 7): the admin shows a review and
changes nothing, so a verdict cannot bypass the console's officer scope and second factor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from audit.models import AuditEntry
from gateway.models import EmergencyReview
from tests.admin.clients import verified_admin_client

EMERGENCY = {
    "subject": {"bsn": "999990019"},
    "categories": ["risk_assessment"],
    "purpose": "acute_danger",
    "emergency": True,
    "justification": "Mark was seen outside the shelter with a weapon; act now.",
}


def test_the_admin_shows_an_emergency_review_and_takes_no_verdict(partner: Any) -> None:
    body = partner("slachtofferhulp").ask(**EMERGENCY).json()
    review = EmergencyReview.objects.get(request_id=body["id"])
    client = verified_admin_client(User.objects.get(username="admin"))
    url = f"/admin/gateway/emergencyreview/{review.pk}/change/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "Mark was seen outside" in html
    assert 'name="verdict"' not in html and 'name="_save"' not in html
    reviews_before = AuditEntry.objects.filter(kind="review").count()
    response = client.post(url, {"verdict": "not_justified", "note": "No acute danger: the threat was a week old."})
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.status == "open" and review.reviewer == ""
    assert AuditEntry.objects.filter(kind="review").count() == reviews_before
    assert client.get("/admin/gateway/emergencyreview/add/").status_code == 403
    assert client.post(f"/admin/gateway/emergencyreview/{review.pk}/delete/", {"post": "yes"}).status_code == 403
