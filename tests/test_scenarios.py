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


def test_5_police_gets_the_shielded_address_under_its_brp_authorisation_wet_brp_art_3_3(partner: Any) -> None:
    """politie-rotterdam asks address about Sanne, zvh_case_meeting, case 0001 → released under the police's BRP
    authorisation (Wet BRP art. 3.3), not the WGS: the WGS governs provision to and from the Zorg- en
    Veiligheidshuis, not a bilateral flow from the municipality to the police. The police is on the shielded
    address's allow list."""
    body = (
        partner("politie-rotterdam")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()
    )
    assert body["status"] == "released"
    decision = only(body)
    assert decision["legal_basis"]["code"] == "BRP_3_3"
    assert decision["rule"] == "brp-municipality-to-police"
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


WEIGHING = (
    "Acuut gevaar voor Sanne: Mark staat met een mes bij de opvang. Slachtofferhulp heeft het risicobeeld nodig om "
    "het veiligheidsplan nu aan te passen; belang van Sanne weegt zwaarder dan dat van Mark (Wmo 2015 art. 4.1.1 "
    "lid 2 sub e)."
)


def test_10_acute_danger_waits_in_veilig_thuis_urgent_lane_and_is_released_on_wmo_4_1_1_lid_2_sub_e(
    partner: Any,
) -> None:
    """slachtofferhulp asks risk_assessment about Mark, acute_danger, emergency with justification → 202 pending at
    veilig-thuis-rr in the urgent lane (the statute gives Veilig Thuis the judgement; vital interest does not apply
    while Veilig Thuis can weigh); Veilig Thuis approves with its weighing → released on WMO_4_1_1_2E as emergency
    access, marked so in the trail and waiting for the privacy officer's review."""
    from gateway.models import EmergencyReview

    response = partner("slachtofferhulp").ask(
        subject={"bsn": MARK},
        categories=["risk_assessment"],
        purpose="acute_danger",
        emergency=True,
        justification="Sanne called: Mark is outside the shelter with a knife, police are on their way.",
    )
    assert response.status_code == 202, response.content
    created = response.json()
    assert created["status"] == "pending" and created["data"] == {}
    decision = only(created)
    assert decision["outcome"] == "pending"
    assert decision["provider"] == "veilig-thuis-rr"
    assert decision["legal_basis"]["code"] == "WMO_4_1_1_2E"
    assert decision["rule"] == "wmo4112e-vt-to-victim-support-acute"
    assert decision["emergency_access"] is True
    entry = AuditEntry.objects.get(index=created["audit"]["index"])
    assert entry.emergency is True and entry.outcome == "pending"

    vt = partner("veilig-thuis-rr", "provider")
    items = vt.get("/api/v1/holder/pending").json()["results"]
    item = items[0]  # the urgent lane is listed first
    assert item["request_id"] == created["id"]
    assert item["urgent"] is True
    assert item["legal_basis"]["code"] == "WMO_4_1_1_2E"

    # Sub e needs Veilig Thuis' own recorded weighing: an approval without it is refused and changes nothing.
    bare = vt.post(f"/api/v1/holder/pending/{item['id']}", {"decision": "approve"})
    assert bare.status_code == 400
    assert bare["Content-Type"] == "application/problem+json"
    assert "weighing" in [e["field"] for e in bare.json()["errors"]]
    assert vt.get("/api/v1/holder/pending").json()["results"][0]["id"] == item["id"]

    settled = vt.post(f"/api/v1/holder/pending/{item['id']}", {"decision": "approve", "weighing": WEIGHING})
    assert settled.status_code == 200, settled.content
    assert settled.json()["status"] == "approved"

    polled = partner("slachtofferhulp").get(f"/api/v1/requests/{created['id']}").json()
    assert polled["status"] == "released"
    (released,) = polled["decisions"]
    assert released["outcome"] == "permit"
    assert released["legal_basis"]["code"] == "WMO_4_1_1_2E"
    assert released["emergency_access"] is True
    assert polled["data"]["risk_assessment"]
    holder_entry = AuditEntry.objects.filter(kind="holder_decision").latest("index")
    assert holder_entry.organisation == "veilig-thuis-rr" and holder_entry.outcome == "approved"
    assert "Sanne" not in holder_entry.leaf  # the weighing text stays in the row; the trail keeps its hash
    assert EmergencyReview.objects.filter(request_id=created["id"]).exists()  # every emergency access is reviewed


def test_10b_vital_interest_is_no_longer_the_basis_for_veilig_thuis_to_victim_support_avg_art_9_2_c(
    partner: Any,
) -> None:
    """The same request never cites AVG_6_1_D: Veilig Thuis' statute (Wmo 2015 art. 4.1.1 lid 2 sub e) governs, and
    vital interest (AVG art. 6(1)(d), 9(2)(c)) is for a person who cannot consent, not for a holder's weighing."""
    body = (
        partner("slachtofferhulp")
        .ask(
            subject={"bsn": MARK},
            categories=["risk_assessment", "safety_conditions"],
            purpose="acute_danger",
            emergency=True,
            justification="Sanne called: Mark is outside the shelter with a knife, police are on their way.",
        )
        .json()
    )
    assert {d["legal_basis"]["code"] for d in body["decisions"]} == {"WMO_4_1_1_2E"}
    assert {d["outcome"] for d in body["decisions"]} == {"pending"}


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
            approved = holder.post(
                f"/api/v1/holder/pending/{item['id']}", {"decision": "approve", "weighing": WEIGHING}
            )
            assert approved.status_code == 200, approved.content
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


# --- The catalogue corrected (issue 11): each statute's flow, with its article ---------------------------------


def test_wjsg_art_39f_criminal_proceedings_wait_for_the_prosecutor_and_records_are_not_the_oms(partner: Any) -> None:
    """veilig-thuis-rr asks criminal_proceedings about Mark in case 0001 → 202 pending at om-rotterdam (the OM weighs
    each provision under Wjsg art. 39f and the Aanwijzing Wjsg); criminal_record is judicial documentation (Wjsg
    chapter 2, Justid), which Veilig Thuis is not named for → no_rule."""
    vt = partner("veilig-thuis-rr")
    response = vt.ask(
        subject={"bsn": MARK},
        categories=["criminal_proceedings"],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
    )
    assert response.status_code == 202
    decision = only(response.json())
    assert (decision["outcome"], decision["provider"]) == ("pending", "om-rotterdam")
    assert decision["legal_basis"]["code"] == "WJSG_39F"

    records = vt.ask(
        subject={"bsn": MARK}, categories=["criminal_record"], purpose="vt_safety_assessment", case_reference=CASE_1
    ).json()
    assert records["status"] == "denied"
    assert codes(only(records)) == ["no_rule"]


def test_wjsg_chapter_2_probation_receives_the_criminal_record_from_justid(partner: Any) -> None:
    """reclassering-rr asks criminal_record about Mark, probation, case 0001 → released by Justid (Wjsg chapter 2)."""
    body = (
        partner("reclassering-rr")
        .ask(subject={"bsn": MARK}, categories=["criminal_record"], purpose="probation", case_reference=CASE_1)
        .json()
    )
    assert body["status"] == "released"
    decision = only(body)
    assert (decision["provider"], decision["legal_basis"]["code"]) == ("justid", "WJSG_CH2")
    assert body["data"]["criminal_record"]


def test_wpg_art_18_with_bpg_4_2_victim_support_gets_the_victims_incidents_not_the_suspects_record(
    partner: Any,
) -> None:
    """slachtofferhulp asks, in case 0001, victim_incidents about Sanne → released (Wpg art. 18 with Bpg art. 4:2),
    the fields without the narrative; police_incidents or house_ban about Mark → no rule."""
    victim_support = partner("slachtofferhulp")
    body = victim_support.ask(
        subject={"bsn": SANNE}, categories=["victim_incidents"], purpose="victim_support", case_reference=CASE_1
    ).json()
    assert body["status"] == "released"
    assert only(body)["legal_basis"]["code"] == "WPG_18"
    assert all(
        set(incident) == {"date", "type", "registration_number"} for incident in body["data"]["victim_incidents"]
    )

    suspect = victim_support.ask(
        subject={"bsn": MARK},
        categories=["police_incidents", "house_ban"],
        purpose="victim_support",
        case_reference=CASE_1,
    ).json()
    assert suspect["status"] == "denied"
    assert [codes(d) for d in suspect["decisions"]] == [["no_rule"], ["no_rule"]]


def test_wpg_art_16_the_mayor_not_the_municipal_team_receives_the_house_ban(partner: Any) -> None:
    """burgemeester-rotterdam asks house_ban about Mark for public_order → released on WPG_16_1C (Wpg art. 16 runs
    towards the mayor; the neighbourhood team has only the police's incidental provision, Wpg art. 19, weighed by
    the police)."""
    mayor = partner("burgemeester-rotterdam").ask(
        subject={"bsn": MARK}, categories=["house_ban"], purpose="public_order"
    )
    assert mayor.status_code == 200
    assert mayor.json()["status"] == "released"
    assert only(mayor.json())["legal_basis"]["code"] == "WPG_16_1C"


def test_wmo_art_5_2_6_every_professional_may_report_youth_care_decides_itself(partner: Any) -> None:
    """veilig-thuis-rr asks professional_signals about Adam from jeugdhulp-rijnmond → 202 pending at the youth care
    provider (meldrecht for every professional, Wmo 2015 art. 5.2.6; the holder decides)."""
    response = partner("veilig-thuis-rr").ask(
        subject={"bsn": ADAM},
        categories=["professional_signals"],
        purpose="vt_investigation",
        providers={"professional_signals": "jeugdhulp-rijnmond"},
    )
    assert response.status_code == 202
    decision = only(response.json())
    assert (decision["outcome"], decision["provider"]) == ("pending", "jeugdhulp-rijnmond")
    assert decision["legal_basis"]["code"] == "WMO_5_2_6"


def test_wmo_art_4_1_1_lid_2_sub_g_the_reporter_asks_for_feedback_and_veilig_thuis_decides(partner: Any) -> None:
    """school-regenboog asks vt_feedback about Sanne → 202 pending at veilig-thuis-rr (only Veilig Thuis knows who
    reported); the category carries the steps taken, never the file's content."""
    from demo import world

    response = partner("school-regenboog").ask(
        subject={"bsn": SANNE}, categories=["vt_feedback"], purpose="report_feedback"
    )
    assert response.status_code == 202
    decision = only(response.json())
    assert (decision["outcome"], decision["provider"]) == ("pending", "veilig-thuis-rr")
    assert decision["legal_basis"]["code"] == "WMO_4_1_1_2G"
    (feedback,) = [c for c in world.CATEGORIES if c.code == "vt_feedback"]
    assert {f.name for f in feedback.fields} == {"steps_taken", "phase", "informed_on"}
