"""The scenarios of shared/spec/scenarios.md, end to end through HTTP with real tokens on the demo world.

Each test reads like its row in the scenario table: who asks what, the expected decision, and why.
"""

from __future__ import annotations

from typing import Any

from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym

SANNE, MARK, DAAN, LOTTE = "999990007", "999990019", "999990020", "999990032"
FATIMA, ADAM = "999990044", "999990081"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"


def only(body: dict[str, Any]) -> dict[str, Any]:
    (decision,) = body["decisions"]
    return decision


def codes(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


def test_1_police_information_to_veilig_thuis_in_the_case(partner: Any) -> None:
    """veilig-thuis-rr asks police_incidents and house_ban about Mark → released on a Wpg basis."""
    response = partner("veilig-thuis-rr").ask(
        subject={"bsn": MARK},
        categories=["police_incidents", "house_ban"],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "released"
    for decision in body["decisions"]:
        assert decision["outcome"] == "permit"
        assert decision["provider"] == "politie-rotterdam"
        assert decision["legal_basis"]["code"].startswith("WPG_")
        assert decision["rule"]
    assert body["data"]["police_incidents"]  # the holder's reference data, minimised
    assert body["data"]["house_ban"]
    entry = AuditEntry.objects.get(index=body["audit"]["index"])
    assert entry.kind == "request" and entry.outcome == "released"
    assert entry.subject == subject_pseudonym(MARK)
    assert MARK not in entry.leaf
    assert "summary" not in entry.leaf or all(
        d["payload_sha256"] for d in entry.decisions
    )  # field names and a hash, never the data
    assert all(len(d["payload_sha256"]) == 64 for d in entry.decisions)


def test_2_a_reporting_right_waits_for_the_holder(partner: Any) -> None:
    """veilig-thuis-rr asks school_attendance about Lotte from school-regenboog → 202 pending (Wmo 5.2.6)."""
    response = partner("veilig-thuis-rr").ask(
        subject={"bsn": LOTTE},
        categories=["school_attendance"],
        purpose="vt_safety_assessment",
        providers={"school_attendance": "school-regenboog"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    decision = only(body)
    assert decision["outcome"] == "pending"
    assert decision["legal_basis"]["code"] == "WMO_5_2_6"
    assert body["data"] == {}


def test_3_explicit_consent_releases_health_data(partner: Any) -> None:
    """gemeente-rotterdam asks health_summary about Fatima → released on AVG_9_2_A, citing her consent."""
    body = (
        partner("gemeente-rotterdam")
        .ask(
            subject={"bsn": FATIMA},
            categories=["health_summary"],
            purpose="care_coordination",
            case_reference=CASE_2,
            providers={"health_summary": "ggz-rijnmond"},
        )
        .json()
    )
    decision = only(body)
    assert body["status"] == "released"
    assert decision["legal_basis"]["code"] == "AVG_9_2_A"
    assert isinstance(decision["consent"], int)
    assert body["data"]["health_summary"]


def test_5_police_is_on_the_shielded_address_allow_list(partner: Any) -> None:
    """politie-rotterdam asks address about Sanne, zvh_case_meeting, case 0001 → released (WGS)."""
    body = (
        partner("politie-rotterdam")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()
    )
    assert body["status"] == "released"
    assert only(body)["legal_basis"]["code"] == "WGS"
    assert body["data"]["address"]


def test_6_a_case_partner_learns_the_address_is_restricted(partner: Any) -> None:
    """zvh-rr asks address about Sanne in case 0001 → denied, restricted (it takes part, so it may know)."""
    body = (
        partner("zvh-rr")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()
    )
    assert body["status"] == "denied"
    assert codes(only(body)) == ["restricted"]
    assert body["data"] == {}


def test_7_no_oracle_for_an_outsider(partner: Any) -> None:
    """woonstad-maasstad asks Sanne's address → denied exactly as for a person without a shielded address it
    has no case with, and exactly as for a person the gateway does not know."""
    woonstad = partner("woonstad-maasstad")

    def decisions(bsn: str) -> list[dict[str, Any]]:
        response = woonstad.ask(subject={"bsn": bsn}, categories=["address"], purpose="zvh_case_meeting")
        assert response.status_code == 200
        return response.json()["decisions"]

    sanne = decisions(SANNE)
    assert codes(sanne[0]) == ["no_rule"]
    assert sanne == decisions(FATIMA)  # known, no shielded address, no case with woonstad
    assert sanne == decisions("999990111")  # a valid BSN the gateway does not know


def test_8_supervision_order_releases_school_attendance(partner: Any) -> None:
    """jeugdbescherming-rr asks school_attendance about Adam, ots_execution → released, JW_7_3_11_4."""
    body = (
        partner("jeugdbescherming-rr")
        .ask(
            subject={"bsn": ADAM},
            categories=["school_attendance"],
            purpose="ots_execution",
            providers={"school_attendance": "school-regenboog"},
        )
        .json()
    )
    assert body["status"] == "released"
    assert only(body)["legal_basis"]["code"] == "JW_7_3_11_4"
    assert body["data"]["school_attendance"]


def test_9_no_supervision_order_no_release(partner: Any) -> None:
    """The same about Daan → denied, condition_not_met (no supervision order on Daan)."""
    body = (
        partner("jeugdbescherming-rr")
        .ask(
            subject={"bsn": DAAN},
            categories=["school_attendance"],
            purpose="ots_execution",
            providers={"school_attendance": "school-regenboog"},
        )
        .json()
    )
    assert body["status"] == "denied"
    assert codes(only(body)) == ["condition_not_met"]


def test_10_emergency_access_with_a_justification(partner: Any) -> None:
    """slachtofferhulp asks risk_assessment about Mark, acute_danger, emergency with justification → released
    as emergency access under vital interest, and marked so in the trail."""
    body = (
        partner("slachtofferhulp")
        .ask(
            subject={"bsn": MARK},
            categories=["risk_assessment"],
            purpose="acute_danger",
            emergency=True,
            justification="Sanne called: Mark is outside the shelter with a knife, police are on their way.",
        )
        .json()
    )
    assert body["status"] == "released"
    decision = only(body)
    assert decision["emergency_access"] is True
    assert decision["legal_basis"]["code"] == "AVG_6_1_D"
    entry = AuditEntry.objects.get(index=body["audit"]["index"])
    assert entry.emergency is True
    assert entry.decisions[0]["emergency_access"] is True


def test_11_emergency_without_justification_is_refused_and_audited(partner: Any) -> None:
    """The same without a justification → 400 problem on field justification; nothing released; audited."""
    response = partner("slachtofferhulp").ask(
        subject={"bsn": MARK}, categories=["risk_assessment"], purpose="acute_danger", emergency=True
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "justification" in [e["field"] for e in response.json()["errors"]]
    assert AuditEntry.objects.filter(kind="request").count() == 0
    rejected = AuditEntry.objects.get(kind="rejected")
    assert rejected.organisation == "slachtofferhulp"


def test_a_dry_run_decides_without_releasing_and_is_audited(partner: Any) -> None:
    response = partner("veilig-thuis-rr").post(
        "/api/v1/decisions",
        {
            "subject": {"bsn": MARK},
            "categories": ["police_incidents"],
            "purpose": "vt_safety_assessment",
            "case_reference": CASE_1,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert only(body)["outcome"] == "permit"
    entry = AuditEntry.objects.get(index=body["audit"]["index"])
    assert entry.kind == "check"
    assert entry.decisions[0]["fields"] is None


def test_12_a_suspect_sees_his_own_entries_once_cleared_and_never_the_victims_side(partner: Any) -> None:
    """Mark logs in to the portal → sees what was shared about himself once the holder (or Veilig Thuis) cleared it,
    until then counted and dated; never who on the victim's side asked, nor an emergency about her safety; nothing
    about Sanne, Daan or Lotte (Wmo 2015 art. 5.3.1; UAVG art. 41(1)(i))."""
    import datetime as dt
    import re

    from django.utils import timezone

    from consent.models import Person
    from tests.portal.test_portal import portal_client

    vt = partner("veilig-thuis-rr")
    by_vt = vt.ask(
        subject={"bsn": MARK},
        categories=["police_incidents", "house_ban"],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
    ).json()["id"]
    emergency = partner("slachtofferhulp").ask(
        subject={"bsn": MARK},
        categories=["risk_assessment"],
        purpose="acute_danger",
        emergency=True,
        justification="Sanne reported that Mark was seen near her workplace tonight; safety plan needed now.",
    )
    by_victim_support = emergency.json()["id"]
    if emergency.status_code == 202:  # Veilig Thuis weighs it as the holder (scenario 10)
        holder = partner("veilig-thuis-rr", "provider")
        for item in holder.get("/api/v1/holder/pending").json()["results"]:
            holder.post(f"/api/v1/holder/pending/{item['id']}", {"decision": "approve"})
    about_sanne = (
        partner("politie-rotterdam")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()["id"]
    )

    mark = portal_client("mark")
    own = f"/portal/person/{Person.objects.get(bsn=MARK).pk}/"

    def page(path: str) -> str:
        response = mark.get(path)
        assert response.status_code == 200
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))

    waiting = page(own)
    assert by_vt not in waiting and by_victim_support not in waiting
    informed_on = timezone.localdate() + dt.timedelta(days=28)
    assert "2 onderdelen" in waiting and informed_on.strftime("%Y") in waiting  # how many and until when

    # The police's incidents: only the police's review clears them (Wpg art. 25-27, issue 11); Veilig Thuis clears
    # the rest as the party in his case.
    for clearer, request_id in (("politie-rotterdam", by_vt), ("veilig-thuis-rr", by_victim_support)):
        response = partner(clearer, "provider").post(f"/api/v1/holder/notices/{request_id}", {"action": "clear"})
        assert response.status_code == 200
    shown = page(own)
    assert by_vt in mark.get(own).content.decode() and by_victim_support in mark.get(own).content.decode()
    assert "Veilig Thuis Rotterdam Rijnmond vroeg om informatie" in shown
    assert "Een organisatie in het netwerk vroeg om informatie" in shown
    detail = page(f"{own}entry/{by_victim_support}/")
    for text in (shown, detail):
        for word in ("Slachtofferhulp", "Noodsituatie", "acuut", "Acuut", "Sanne", "Daan", "Lotte"):
            assert word not in text
    assert about_sanne not in mark.get(own).content.decode()
    for bsn in (SANNE, DAAN, LOTTE):
        assert mark.get(f"/portal/person/{Person.objects.get(bsn=bsn).pk}/").status_code == 404
    assert mark.get(f"{own}entry/{about_sanne}/").status_code == 404
