"""Restrictions are no oracle, and a holder's approval decides again (issue "leaks", items 1, 4 and 5).

A restriction that the requester may not know of (it works on no active case with the person) must give exactly
what an unknown person gets, and still release nothing; a requester that may know is told ``restricted``; a
shielded address also withholds the fields of other categories that could reveal where the person stays.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from consent.models import DataCategory, LegalBasis, Person, Purpose, Sector, SharingRule
from consent.restrictions import restriction_set
from gateway.models import PendingItem
from gateway.pending import holder_expire_due
from tests.emergency import released_after_weighing

SANNE, MARK, DAAN, LOTTE, NOOR = "999990007", "999990019", "999990020", "999990032", "999990068"
UNKNOWN = "999999990"  # valid BSN (eleven test), nobody in the demo world
JUSTIFICATION = "Risico-inschatting nodig voor het toezicht op de verdachte (demo)."


def public(decision: dict[str, Any]) -> tuple[Any, ...]:
    return (
        decision["outcome"],
        decision["rule"],
        decision["legal_basis"],
        decision["consent"],
        [r["code"] for r in decision["reasons"]],
        decision["emergency_access"],
    )


def shelter_question(bsn: str) -> dict[str, Any]:
    return {"subject": {"bsn": bsn}, "categories": ["shelter_stay"], "purpose": "report_to_vt"}


@pytest.mark.parametrize("endpoint", ["/api/v1/decisions", "/api/v1/requests"])
def test_a_shelter_stay_looks_the_same_for_shielded_unshielded_and_unknown_persons(partner: Any, endpoint: str) -> None:
    """The finding: Veilig Thuis Haaglanden got ``no_rule`` for Sanne, Lotte and Daan but ``pending`` for Mark
    and for an unknown BSN, which told it who is shielded."""
    haaglanden = partner("veilig-thuis-haaglanden")
    answers = {bsn: haaglanden.post(endpoint, shelter_question(bsn)) for bsn in (SANNE, LOTTE, DAAN, MARK, UNKNOWN)}
    expected = answers[UNKNOWN]
    for bsn, response in answers.items():
        assert response.status_code == expected.status_code, bsn
        assert [public(d) for d in response.json()["decisions"]] == [public(d) for d in expected.json()["decisions"]], (
            bsn
        )
        assert set(response.json()) == set(expected.json())
    assert expected.json()["decisions"][0]["outcome"] == "pending"
    truth = AuditEntry.objects.filter(kind__in=["check", "request"]).order_by("-index")[4]  # Sanne's
    assert truth.decisions[0]["outcome"] == "deny"
    assert truth.decisions[0]["reasons"] == ["restricted"]
    assert truth.decisions[0]["shown"]["outcome"] == "pending"


def test_a_shielded_pending_item_never_reaches_the_holder_and_expires_like_any(partner: Any) -> None:
    haaglanden = partner("veilig-thuis-haaglanden")
    shielded = haaglanden.ask(**shelter_question(SANNE)).json()
    unshielded = haaglanden.ask(**shelter_question(MARK)).json()
    shelter = partner("vrouwenopvang-rijnmond", scope="provider")
    listed = {item["request_id"] for item in shelter.get("/api/v1/holder/pending").json()["results"]}
    assert unshielded["id"] in listed and shielded["id"] not in listed
    sealed = PendingItem.objects.get(request_id=shielded["id"])
    refused = shelter.post(f"/api/v1/holder/pending/{sealed.id}", {"decision": "approve"})
    assert refused.status_code == 404

    later = timezone.now() + dt.timedelta(hours=73)
    assert holder_expire_due(now=later) >= 2
    both = [haaglanden.get(f"/api/v1/requests/{r['id']}").json() for r in (shielded, unshielded)]
    shown_shielded, shown_unshielded = (public(b["decisions"][0]) for b in both)
    assert shown_shielded == shown_unshielded
    assert both[0]["decisions"][0]["reasons"][0]["code"] == "holder_declined"
    entry = AuditEntry.objects.filter(kind="holder_decision", reference=shielded["id"]).get()
    assert entry.decisions[0]["reasons"] == ["restricted"] and entry.decisions[0]["shielded"] is True


@pytest.fixture
def housing_may_ask_addresses(db: Any) -> None:
    """A careless rule a real catalogue could hold: housing receives addresses without any case."""
    with transaction.atomic():
        rule = SharingRule.objects.create(
            code="test-municipality-to-housing-address",
            provider_sector=Sector.objects.get(code="municipality"),
            recipient_sector=Sector.objects.get(code="housing"),
            legal_basis=LegalBasis.objects.get(code="WGS"),
        )
        rule.categories.set(DataCategory.objects.filter(code="address"))
        rule.purposes.set(Purpose.objects.filter(code="zvh_case_meeting"))


def test_where_a_rule_would_permit_the_shielded_address_is_released_as_nothing(
    partner: Any, housing_may_ask_addresses: None
) -> None:
    """Even a rule that permits cannot release a shielded address, and the answer is the one for a person the
    holder has nothing about: the requester cannot tell shielded from unknown."""
    housing = partner("woonstad-maasstad")
    question = {"categories": ["address"], "purpose": "zvh_case_meeting"}
    answers = {bsn: housing.ask(subject={"bsn": bsn}, **question) for bsn in (SANNE, MARK, UNKNOWN)}
    for bsn in (SANNE, UNKNOWN):
        body = answers[bsn].json()
        assert answers[bsn].status_code == 200
        assert (body["status"], body["data"]) == ("released", {"address": None}), bsn
        assert public(body["decisions"][0]) == public(answers[MARK].json()["decisions"][0])
    assert answers[MARK].json()["data"]["address"]["street"]  # the rule works for an unshielded person
    assert "Opvang" not in json.dumps(answers[SANNE].json()) and "opvang" not in json.dumps(answers[SANNE].json())
    entry = AuditEntry.objects.get(reference=answers[SANNE].json()["id"], kind="request")
    assert entry.decisions[0]["outcome"] == "deny" and entry.decisions[0]["fields"] is None


def risk_question(bsn: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject": {"bsn": bsn},
        "categories": ["risk_assessment", "safety_conditions"],
        "justification": JUSTIFICATION,
        **extra,
    }


def test_the_shelter_is_withheld_inside_the_risk_picture_for_a_case_partner_outside_the_shielding(
    partner: Any,
) -> None:
    """Probation works on case 0001 but is outside Sanne's shielding: it gets her risk assessment and safety
    conditions without the fields that say she is in a shelter, and is told so (once Veilig Thuis has weighed it:
    Wmo 2015 art. 4.1.1 lid 2 sub e)."""
    asked = risk_question(SANNE, purpose="probation", case_reference="CHGK-RR-2026-0001")
    body = released_after_weighing(partner, "reclassering-rr", **asked).json()
    assert body["status"] == "released", body
    assert "summary" not in body["data"]["risk_assessment"] and body["data"]["risk_assessment"]["risk_level"]
    assert "conditions" not in body["data"]["safety_conditions"]
    assert "opvang" not in json.dumps(body).lower()
    assert {r["code"] for d in body["decisions"] for r in d["reasons"]} == {"restricted"}
    entry = AuditEntry.objects.get(reference=body["id"], kind="request")
    assert entry.decisions[0]["withheld_fields"] == ["summary"]  # decided at the request, released on approval
    released = [
        d
        for e in AuditEntry.objects.filter(kind="holder_decision", index__gt=entry.index)
        for d in e.decisions
        if d["category"] == "risk_assessment"
    ]
    assert released and all("summary" not in d["fields"] for d in released)

    mark = released_after_weighing(partner, "reclassering-rr", **{**asked, "subject": {"bsn": MARK}}).json()
    assert mark["data"]["risk_assessment"]["summary"]  # no shielding on Mark: nothing withheld


def test_the_risk_picture_of_a_shielded_person_goes_as_nothing_to_a_requester_outside_any_case(
    partner: Any,
) -> None:
    """The Child Protection Board works on no case with Sanne: a visible gap would tell it about the shielding,
    so it gets what it would get for an unknown person: both wait for Veilig Thuis' weighing (Wmo 2015 art. 4.1.1
    lid 2 sub e), with nothing released."""
    rvdk = partner("rvdk-rotterdam")
    answers = {bsn: rvdk.ask(**risk_question(bsn, purpose="rvdk_investigation")) for bsn in (SANNE, UNKNOWN)}
    assert answers[SANNE].status_code == answers[UNKNOWN].status_code == 202
    assert answers[SANNE].json()["data"] == answers[UNKNOWN].json()["data"] == {}
    assert [public(d) for d in answers[SANNE].json()["decisions"]] == [
        public(d) for d in answers[UNKNOWN].json()["decisions"]
    ]
    mark = released_after_weighing(partner, "rvdk-rotterdam", **risk_question(MARK, purpose="rvdk_investigation"))
    assert mark.json()["data"]["risk_assessment"]["summary"]


# --- Item 4: a holder's approval decides again -------------------------------------------------------------

SCHOOL_QUESTION = {"categories": ["school_attendance"], "purpose": "vt_safety_assessment"}


def _item_for(request_id: str) -> PendingItem:
    return PendingItem.objects.select_related("decision").get(request_id=request_id)


def test_a_restriction_set_while_the_item_waited_wins_over_the_holders_approval(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    asked = vt.ask(subject={"bsn": LOTTE}, providers={"school_attendance": "school-regenboog"}, **SCHOOL_QUESTION)
    assert asked.status_code == 202
    restriction_set(
        person=Person.objects.get(bsn=LOTTE),
        kind="shielded_address",
        set_by=vt_org(),
        set_by_user="vt:test",
        reason="De school mag niet weten waar zij nu verblijft (test).",
        categories=["school_attendance"],
        allowed_organisations=["politie-rotterdam"],
    )
    school = partner("school-regenboog", scope="provider")
    settled = school.post(f"/api/v1/holder/pending/{_item_for(asked.json()['id']).id}", {"decision": "approve"})
    assert settled.status_code == 200 and settled.json()["status"] == "refused"
    polled = vt.get(f"/api/v1/requests/{asked.json()['id']}").json()
    assert polled["status"] == "denied" and polled["data"] is None
    assert [r["code"] for r in polled["decisions"][0]["reasons"]] == ["restricted"]  # VT works on Lotte's case


def test_a_restriction_the_requester_may_not_know_of_turns_an_approval_into_what_an_unknown_person_gets(
    partner: Any,
) -> None:
    haaglanden = partner("veilig-thuis-haaglanden")
    asked = {
        bsn: haaglanden.ask(
            subject={"bsn": bsn}, providers={"school_attendance": "maascollege-kralingen"}, **SCHOOL_QUESTION
        )
        for bsn in (NOOR, UNKNOWN)
    }
    restriction_set(
        person=Person.objects.get(bsn=NOOR),
        kind="shielded_address",
        set_by=vt_org(),
        set_by_user="vt:test",
        reason="Noor verblijft op een geheim adres (test).",
        categories=["school_attendance"],
        allowed_organisations=["politie-rotterdam"],
    )
    school = partner("maascollege-kralingen", scope="provider")
    for bsn, response in asked.items():
        item = _item_for(response.json()["id"])
        settled = school.post(f"/api/v1/holder/pending/{item.id}", {"decision": "approve"})
        assert settled.status_code == 200, (bsn, settled.content)
    noor, unknown = (haaglanden.get(f"/api/v1/requests/{asked[b].json()['id']}").json() for b in (NOOR, UNKNOWN))
    nothing = ("released", {"school_attendance": None})
    assert (noor["status"], noor["data"]) == (unknown["status"], unknown["data"]) == nothing
    assert public(noor["decisions"][0]) == public(unknown["decisions"][0])
    truth = AuditEntry.objects.filter(kind="holder_decision", reference=asked[NOOR].json()["id"]).get()
    assert truth.outcome == "refused" and truth.decisions[0]["reasons"] == ["restricted"]


def vt_org() -> Any:
    from consent.models import Organisation

    return Organisation.objects.get(slug="veilig-thuis-rr")


# --- Item 8: the holder is never asked before the trail says so; item 6: reads through the API -------------


def test_an_intent_entry_precedes_every_question_to_a_holder(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    before = AuditEntry.objects.order_by("-index").values_list("index", flat=True).first()
    body = vt.ask(
        subject={"bsn": MARK},
        categories=["police_incidents", "house_ban"],
        purpose="vt_safety_assessment",
        case_reference="CHGK-RR-2026-0001",
    ).json()
    intent, request = AuditEntry.objects.filter(index__gt=before, reference=body["id"]).order_by("index")
    assert (intent.kind, intent.outcome, request.kind) == ("intent", "asking", "request")
    assert intent.decisions == [
        {"category": "police_incidents", "provider": "politie-rotterdam"},
        {"category": "house_ban", "provider": "politie-rotterdam"},
    ]
    assert intent.subject == request.subject and MARK not in intent.leaf


def test_reading_a_request_again_and_the_pending_list_are_audited(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    asked = vt.ask(subject={"bsn": LOTTE}, providers={"school_attendance": "school-regenboog"}, **SCHOOL_QUESTION)
    school = partner("school-regenboog", scope="provider")
    school.get("/api/v1/holder/pending")
    listing = AuditEntry.objects.filter(kind="api_view", outcome="holder_pending").latest("index")
    assert listing.organisation == "school-regenboog"
    assert _item_for(asked.json()["id"]).id in listing.detail["pending_items"]
    vt.get(f"/api/v1/requests/{asked.json()['id']}")
    read = AuditEntry.objects.filter(kind="api_view", outcome="request").latest("index")
    assert (read.organisation, read.reference) == ("veilig-thuis-rr", asked.json()["id"])
    assert read.subject == AuditEntry.objects.get(kind="request", reference=asked.json()["id"]).subject
    vt.get("/api/v1/requests")
    page = AuditEntry.objects.filter(kind="api_view", outcome="requests_list").latest("index")
    assert asked.json()["id"] in page.detail["requests"]


def test_a_consent_withdrawn_while_the_item_waited_wins_over_the_holders_approval(partner: Any) -> None:
    """A consent the municipality recorded on Noor's word waits for the school (the holder confirms by approving);
    when Noor's consent is withdrawn meanwhile, the approval releases nothing."""
    municipality = partner("gemeente-rotterdam")
    recorded = municipality.post(
        "/api/v1/consents",
        {
            "subject": {"bsn": NOOR},
            "given_by": [{"bsn": NOOR, "capacity": "self"}],
            "explicit": False,
            "purposes": ["care_coordination"],
            "recipients": ["gemeente-rotterdam"],
            "categories": ["school_attendance"],
            "case_reference": "CHGK-RR-2026-0002",
            "valid_from": timezone.localdate().isoformat(),
            "evidence": "Noor zei in het gesprek van vandaag dat de school mag meedenken (test).",
        },
    )
    assert recorded.status_code == 201, recorded.content
    consent_id = recorded.json()["id"]
    asked = municipality.ask(
        subject={"bsn": NOOR},
        categories=["school_attendance"],
        purpose="care_coordination",
        case_reference="CHGK-RR-2026-0002",
        providers={"school_attendance": "maascollege-kralingen"},
    )
    assert asked.status_code == 202 and asked.json()["decisions"][0]["consent"] == consent_id
    school = partner("maascollege-kralingen", scope="provider")
    listed = school.get("/api/v1/holder/pending").json()["results"]
    (item,) = [i for i in listed if i["request_id"] == asked.json()["id"]]
    assert item["consent"]["id"] == consent_id and item["consent"]["recorded_by"] == "gemeente-rotterdam"
    assert item["consent"]["status"] == "awaiting_confirmation"

    withdrawn = municipality.post(f"/api/v1/consents/{consent_id}/withdraw", {"reason": "Noor wil het toch niet."})
    assert withdrawn.status_code == 200, withdrawn.content
    settled = school.post(f"/api/v1/holder/pending/{item['id']}", {"decision": "approve"})
    assert settled.json()["status"] == "refused"
    polled = municipality.get(f"/api/v1/requests/{asked.json()['id']}").json()
    assert polled["data"] is None
    assert [r["code"] for r in polled["decisions"][0]["reasons"]] == ["consent_withdrawn"]
