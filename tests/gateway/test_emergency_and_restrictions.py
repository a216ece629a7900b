"""Emergency access waits for review (scenario 10); restrictions are set and lifted through audited actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from audit.models import AuditEntry
from consent.models import Organisation, Person, Restriction
from consent.restrictions import RestrictionError, restriction_lift, restriction_review_due, restriction_set
from gateway.models import EmergencyReview
from gateway.reviews import ReviewError, emergency_review_settle

MARK = "999990019"
EMERGENCY = {
    "subject": {"bsn": MARK},
    "categories": ["risk_assessment"],
    "purpose": "acute_danger",
    "emergency": True,
    "justification": "Mark was seen outside the shelter with a weapon; act now.",
}


def test_scenario_10_emergency_access_waits_for_a_verdict(partner: Any) -> None:
    body = partner("slachtofferhulp").ask(**EMERGENCY).json()
    review = EmergencyReview.objects.get(request_id=body["id"])
    assert review.status == "open" and review.organisation.slug == "slachtofferhulp"
    assert review.due_at > review.created_at
    with pytest.raises(ReviewError):
        emergency_review_settle(review=review, verdict="justified", note=" ", reviewer="privacy")
    settled = emergency_review_settle(
        review=review, verdict="justified", note="Acute threat, police informed.", reviewer="privacy"
    )
    assert settled.status == "justified"
    entry = AuditEntry.objects.filter(kind="review").latest("index")
    assert entry.reference == body["id"] and entry.outcome == "justified" and entry.user == "privacy"
    assert "police informed" not in entry.leaf
    with pytest.raises(ReviewError):
        emergency_review_settle(review=review, verdict="not_justified", note="changed my mind", reviewer="privacy")


def test_no_review_for_ordinary_requests(partner: Any) -> None:
    partner("veilig-thuis-rr").ask(
        subject={"bsn": MARK},
        categories=["police_incidents"],
        purpose="vt_safety_assessment",
        case_reference="CHGK-RR-2026-0001",
    )
    assert EmergencyReview.objects.count() == 0


def ask_address(partner: Any) -> dict[str, Any]:
    return (
        partner("politie-rotterdam")
        .ask(
            subject={"bsn": MARK},
            categories=["address"],
            purpose="zvh_case_meeting",
            case_reference="CHGK-RR-2026-0001",
        )
        .json()
    )


def test_a_shielded_address_set_and_lifted_through_audited_actions(partner: Any) -> None:
    assert ask_address(partner)["status"] == "released"
    vt = Organisation.objects.get(slug="veilig-thuis-rr")
    restriction = restriction_set(
        person=Person.objects.get(bsn=MARK),
        kind="shielded_address",
        set_by=vt,
        set_by_user="vt-017",
        reason="Moved to a protected address after threats.",
        allowed_organisations=["veilig-thuis-rr"],
        review_date=dt.date(2027, 6, 1),
    )
    assert set(restriction.categories.values_list("code", flat=True)) == {"address", "shelter_stay"}
    denied = ask_address(partner)
    assert denied["status"] == "denied"
    assert [r["code"] for r in denied["decisions"][0]["reasons"]] == ["restricted"]  # police shares the case
    restriction_lift(restriction=restriction, by_user="vt-017", by_organisation=vt)
    assert ask_address(partner)["status"] == "released"
    outcomes = list(
        AuditEntry.objects.filter(kind="restriction", reference=f"restriction:{restriction.pk}")
        .order_by("index")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["set", "lifted"]
    assert MARK not in "".join(AuditEntry.objects.filter(kind="restriction").values_list("leaf", flat=True))


def test_withholding_needs_a_ground_and_a_review_date(db: Any) -> None:
    vt = Organisation.objects.get(slug="veilig-thuis-rr")
    with pytest.raises(RestrictionError):
        restriction_set(
            person=Person.objects.get(bsn=MARK),
            kind="withheld_from_subject",
            set_by=vt,
            set_by_user="x",
            reason="Investigation ongoing.",
        )


def test_restrictions_past_their_review_date_are_flagged_once(db: Any) -> None:
    Restriction.objects.filter(active=True).update(review_date=dt.date(2026, 1, 1))
    flagged = restriction_review_due(today=dt.date(2026, 11, 24))
    assert flagged == Restriction.objects.filter(active=True).count() > 0
    assert restriction_review_due(today=dt.date(2026, 11, 24)) == 0
    assert AuditEntry.objects.filter(kind="restriction", outcome="review_overdue").count() == flagged
