"""The consent API end to end (api.md, "Consents"; scenarios 3 and 4): real tokens, real HTTP, the demo world.

A consent is recorded by an organisation whose sector may record consent and that has standing: ggz-rijnmond
(mental health care) holds health_summary and takes part in case 0002. gemeente-rotterdam then asks for
health_summary for care_coordination, which the sharing rules ``avg92-*-to-municipality`` allow only on explicit
consent (AVG art. 9(2)(a)). A consent recorded by an organisation waits for the family's confirmation in the
portal: until then it counts for the data of the organisation that recorded it (ggz-rijnmond), and another holder
(huisarts-kralingen) decides itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry, AuditHead
from audit.pseudonym import subject_pseudonym
from consent.models import Consent
from consent.tasks import consent_expire

SANNE, MARK, DAAN, FATIMA, YOUSSEF, NOOR, ADAM = (
    "999990007",
    "999990019",
    "999990020",
    "999990044",
    "999990056",
    "999990068",
    "999990081",
)
UNKNOWN = "999990111"  # a valid BSN the gateway does not know
EVERY_BSN = (SANNE, MARK, DAAN, FATIMA, YOUSSEF, NOOR, ADAM, UNKNOWN)
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"
EVIDENCE = "Consent form signed during the home visit of this week (test)."
PASSWORD = "veilig-delen-demo"
TRAIL_START: list[int] = [0]


@pytest.fixture(autouse=True)
def _trail_start(db: Any) -> None:
    """Entries written before the test (the seeded consent's) are not the test's."""
    TRAIL_START[0] = AuditHead.objects.get(pk=1).size


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> str:
    return (today() + dt.timedelta(days=n)).isoformat()


def consent_body(**changes: Any) -> dict[str, Any]:
    """Youssef's own explicit consent: health_summary to gemeente-rotterdam for care coordination in case 0002."""
    body: dict[str, Any] = {
        "subject": {"bsn": YOUSSEF},
        "given_by": [{"bsn": YOUSSEF, "capacity": "self"}],
        "explicit": True,
        "purposes": ["care_coordination"],
        "recipients": ["gemeente-rotterdam"],
        "categories": ["health_summary"],
        "case_reference": CASE_2,
        "valid_from": days(0),
        "valid_until": days(180),
        "evidence": EVIDENCE,
    }
    body.update(changes)
    return body


def record(recorder: Any, **changes: Any) -> dict[str, Any]:
    response = recorder.post("/api/v1/consents", consent_body(**changes))
    assert response.status_code == 201, response.content
    return response.json()


def search(who: Any, bsn: str) -> Any:
    return who.post("/api/v1/consents/search", {"subject": {"bsn": bsn}})


def portal_client(username: str) -> Client:
    client = Client()
    response = client.post("/portal/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def confirm_in_portal(username: str, consent_id: int) -> None:
    response = portal_client(username).post(f"/portal/consents/{consent_id}/confirm/", {"answer": "yes"})
    assert response.status_code == 302, response.content[:300]


def ask_health(asker: Any, bsn: str, case: str | None = CASE_2) -> dict[str, Any]:
    """gemeente-rotterdam asks ggz-rijnmond for health_summary for care coordination; the one decision."""
    body: dict[str, Any] = {
        "subject": {"bsn": bsn},
        "categories": ["health_summary"],
        "purpose": "care_coordination",
        "providers": {"health_summary": "ggz-rijnmond"},
    }
    if case:
        body["case_reference"] = case
    response = asker.ask(**body)
    assert response.status_code == 200, response.content
    (decision,) = response.json()["decisions"]
    return {**decision, "_body": response.json()}


def check_health(asker: Any, bsn: str, holder: str, case: str | None = CASE_2) -> dict[str, Any]:
    """The same asked of another holder, as a dry run (nothing fetched): the one decision."""
    body: dict[str, Any] = {
        "subject": {"bsn": bsn},
        "categories": ["health_summary"],
        "purpose": "care_coordination",
        "providers": {"health_summary": holder},
        "case_reference": case,
    }
    response = asker.post("/api/v1/decisions", body)
    assert response.status_code == 200, response.content
    (decision,) = response.json()["decisions"]
    return dict(decision)


def reasons(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


def consent_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(kind="consent", index__gte=TRAIL_START[0]).order_by("index"))


def assert_without_bsns(entries: list[AuditEntry]) -> None:
    for entry in entries:
        for bsn in EVERY_BSN:
            assert bsn not in entry.leaf
        assert EVIDENCE not in entry.leaf


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:veilig-delen:problem:")
    return body


def fields(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in body.get("errors", [])}


@pytest.fixture
def ggz(partner: Any) -> Any:
    return partner("ggz-rijnmond")


@pytest.fixture
def gemeente(partner: Any) -> Any:
    return partner("gemeente-rotterdam")


# --- Recording --------------------------------------------------------------------------------------------


def test_an_adults_own_consent_waits_for_him_and_counts_at_once_only_for_the_recorders_data(
    ggz: Any, gemeente: Any
) -> None:
    assert reasons(ask_health(gemeente, YOUSSEF)) == ["no_consent"]
    body = record(ggz, recipients=["gemeente-rotterdam", "sector:youth_care"])
    assert body["status"] == "awaiting_confirmation"
    assert body["subject"] == {"bsn": YOUSSEF}
    assert [(g["bsn"], g["capacity"], g["confirmed"]) for g in body["given_by"]] == [(YOUSSEF, "self", False)]
    assert "missing" not in body
    assert body["recorded_by"] == "ggz-rijnmond"
    assert body["recipients"] == ["gemeente-rotterdam", "sector:youth_care"]
    assert body["case_reference"] == CASE_2 and body["explicit"] is True
    assert body["withdrawn_at"] is None and body["withdrawal_reason"] is None

    # ggz-rijnmond recorded it: its own record is its confirmation for its own data.
    decision = ask_health(gemeente, YOUSSEF)
    assert decision["outcome"] == "permit"
    assert decision["legal_basis"]["code"] == "AVG_9_2_A"
    assert decision["consent"] == body["id"]
    # Another holder decides itself until Youssef confirms.
    elsewhere = check_health(gemeente, YOUSSEF, "huisarts-kralingen")
    assert (elsewhere["outcome"], elsewhere["consent"]) == ("pending", body["id"])

    confirm_in_portal("youssef", body["id"])
    assert check_health(gemeente, YOUSSEF, "huisarts-kralingen")["outcome"] == "permit"
    listed = search(ggz, YOUSSEF).json()["results"]
    assert [(c["status"], [g["confirmed"] for g in c["given_by"]]) for c in listed] == [("active", [True])]

    recorded, confirmed = consent_entries()
    assert recorded.outcome == "recorded" and recorded.reference == f"consent:{body['id']}"
    assert recorded.organisation == "ggz-rijnmond" and recorded.subject == subject_pseudonym(YOUSSEF)
    assert recorded.case_reference == CASE_2
    assert recorded.detail["status"] == "awaiting_confirmation" and recorded.detail["givers"] == ["self"]
    assert recorded.detail["standing"] == "holder" and recorded.detail["facts"] == "consistent"
    assert recorded.detail["categories"] == ["health_summary"] and recorded.detail["purposes"] == ["care_coordination"]
    assert recorded.detail["recipients"] == ["gemeente-rotterdam", "sector:youth_care"]
    assert recorded.detail["age_rules"] == [
        {"regime": "medical", "band": "16_plus", "consent_needed": "child", "version": 1}
    ]
    assert confirmed.outcome == "confirmed" and confirmed.user == "portal:youssef"
    assert confirmed.detail["status"] == "active" and confirmed.detail["capacity"] == "self"
    assert_without_bsns([recorded, confirmed])


def test_a_childs_consent_counts_elsewhere_only_once_the_confirmations_suffice_bw_7_457_with_7_465(
    ggz: Any, gemeente: Any, settings: Any
) -> None:
    """Daan is 14 (issue 11, item 7): for medical data he consents alone by default (GATEWAY_CONSENT_12_15_OWN;
    BW 7:457 with 7:465). With the setting off, the child and the parents with custody consent, but his father
    Mark, the suspect in case 0001 in which Daan has a role, is never asked and holds no veto: Daan's and Sanne's
    confirmations suffice. The answers never say so."""
    givers = [
        {"bsn": DAAN, "capacity": "self"},
        {"bsn": SANNE, "capacity": "parent_with_custody"},
        {"bsn": MARK, "capacity": "parent_with_custody"},
    ]
    body = record(ggz, subject={"bsn": DAAN}, given_by=givers, case_reference=None)
    assert body["status"] == "awaiting_confirmation"
    assert ask_health(gemeente, DAAN, case=None)["outcome"] == "permit"  # ggz's own record, claims consistent
    assert check_health(gemeente, DAAN, "huisarts-kralingen", case=None)["outcome"] == "pending"

    assert portal_client("mark").get(f"/portal/consents/{body['id']}/confirm/").status_code == 404
    confirm_in_portal("daan", body["id"])
    listed = search(ggz, DAAN).json()["results"][0]
    assert listed["status"] == "active"
    assert [(g["bsn"], g["confirmed"]) for g in listed["given_by"]] == [(DAAN, True), (SANNE, False), (MARK, False)]
    assert check_health(gemeente, DAAN, "huisarts-kralingen", case=None)["outcome"] == "permit"

    entries = consent_entries()
    assert [e.outcome for e in entries] == ["recorded", "confirmed"]
    assert entries[-1].detail["confirmations_suffice"] is True
    assert entries[-1].detail["own_consent_12_15"] == ["medical", "youth_care"]
    assert_without_bsns(entries)

    # The setting off: the parents too, but never Mark; Sanne's confirmation with Daan's suffices.
    settings.GATEWAY_CONSENT_12_15_OWN = frozenset()
    other = record(ggz, subject={"bsn": DAAN}, given_by=givers, case_reference=None, valid_from=days(1))
    confirm_in_portal("daan", other["id"])
    assert Consent.objects.get(pk=other["id"]).status == "awaiting_confirmation"
    confirm_in_portal("sanne", other["id"])
    assert Consent.objects.get(pk=other["id"]).status == "active"


def test_one_parent_suffices_only_when_configured(ggz: Any, gemeente: Any, settings: Any) -> None:
    """Adam is 7: by default both parents with custody consent; a consent naming one counts for nobody, not even
    for the recorder's own data. GATEWAY_CONSENT_ALL_CUSTODIANS off: one is enough. The answer is the same."""
    one_parent = {"subject": {"bsn": ADAM}, "given_by": [{"bsn": FATIMA, "capacity": "parent_with_custody"}]}
    body = record(ggz, **one_parent)
    assert body["status"] == "awaiting_confirmation"
    assert reasons(ask_health(gemeente, ADAM)) == ["consent_incomplete"]
    settings.GATEWAY_CONSENT_ALL_CUSTODIANS = False
    assert record(ggz, **one_parent)["status"] == "awaiting_confirmation"
    assert ask_health(gemeente, ADAM)["outcome"] == "permit"


def test_a_16_year_old_consents_alone_and_the_parents_cannot_for_her(ggz: Any, gemeente: Any) -> None:
    """Noor is 17: her own consent suffices; her parents' consent without hers counts for nobody."""
    parents = [{"bsn": FATIMA, "capacity": "parent_with_custody"}, {"bsn": YOUSSEF, "capacity": "parent_with_custody"}]
    body = record(ggz, subject={"bsn": NOOR}, given_by=parents)
    assert body["status"] == "awaiting_confirmation"
    assert reasons(ask_health(gemeente, NOOR)) == ["consent_incomplete"]
    own = record(ggz, subject={"bsn": NOOR}, given_by=[{"bsn": NOOR, "capacity": "self"}])
    assert own["status"] == "awaiting_confirmation"
    decision = ask_health(gemeente, NOOR)
    assert decision["outcome"] == "permit" and decision["consent"] == own["id"]


def test_explicit_consent_is_required_for_health_data(ggz: Any) -> None:
    body = problem(ggz.post("/api/v1/consents", consent_body(explicit=False)), 400)
    assert ("explicit", "explicit_required") in fields(body)
    assert not Consent.objects.filter(subject_bsn=YOUSSEF).exists()
    assert consent_entries() == []
    # school attendance is normal data under a basis asking plain consent (AVG_6_1_A): not explicit is fine
    # (ggz-rijnmond does not hold it: its standing is case 0002, in which Youssef has a role)
    assert record(ggz, explicit=False, categories=["school_attendance"])["explicit"] is False


# --- Scenario 4 -------------------------------------------------------------------------------------------


def test_scenario_4_withdrawal_works_for_the_future_only(ggz: Any, gemeente: Any) -> None:
    """Scenario 3 releases health_summary about Fatima on AVG_9_2_A citing her consent (recorded by ggz-rijnmond,
    confirmed by her in the portal); ggz-rijnmond (the recorder) then withdraws that consent through the API;
    the same request is denied consent_withdrawn, and the earlier disclosure's audit entry is still there."""
    released = ask_health(gemeente, FATIMA)
    assert released["outcome"] == "permit" and released["legal_basis"]["code"] == "AVG_9_2_A"
    consent_id = released["consent"]
    disclosure = released["_body"]["audit"]
    assert released["_body"]["data"]["health_summary"]

    listed = search(ggz, FATIMA).json()["results"]
    assert [(c["id"], c["status"]) for c in listed] == [(consent_id, "active")]
    response = ggz.post(f"/api/v1/consents/{consent_id}/withdraw", {"reason": "Fatima no longer wants this shared."})
    assert response.status_code == 200, response.content
    withdrawn = response.json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_at"]
    assert withdrawn["withdrawal_reason"] == "Fatima no longer wants this shared."

    denied = ask_health(gemeente, FATIMA)
    assert denied["outcome"] == "deny" and reasons(denied) == ["consent_withdrawn"]
    assert denied["_body"]["data"] == {}

    earlier = AuditEntry.objects.get(index=disclosure["index"])
    assert earlier.leaf_hash == disclosure["leaf_hash"] and earlier.outcome == "released"
    assert earlier.decisions[0]["consent"] == consent_id and earlier.decisions[0]["payload_sha256"]

    (entry,) = consent_entries()
    assert entry.outcome == "withdrawn" and entry.reference == f"consent:{consent_id}"
    assert entry.detail["withdrawn_by"] == "recorder" and entry.detail["status"] == "withdrawn"
    assert "no longer wants" not in entry.leaf
    assert_without_bsns([entry])


def test_the_seeded_consent_has_its_entries(db: Any) -> None:
    """Fatima's consent of the demo world went through the actions: recorded by the holder, confirmed by her."""
    consent = Consent.objects.get(subject_bsn=FATIMA)
    entries = AuditEntry.objects.filter(kind="consent", reference=f"consent:{consent.pk}").order_by("index")
    assert [(e.outcome, e.organisation, e.user) for e in entries] == [
        ("recorded", "ggz-rijnmond", None),
        ("confirmed", None, "portal:fatima"),
    ]
    assert consent.status == "active"


def test_withdrawing_twice_is_a_conflict(ggz: Any) -> None:
    consent_id = record(ggz)["id"]
    path = f"/api/v1/consents/{consent_id}/withdraw"
    assert ggz.post(path, {"reason": "Changed her mind."}).status_code == 200
    assert problem(ggz.post(path, {"reason": "Again."}), 409)["code"] == "already_withdrawn"
    givers = {"given_by": [{"bsn": FATIMA, "capacity": "parent_with_custody"}]}
    assert problem(ggz.post(f"/api/v1/consents/{consent_id}/givers", givers), 409)["code"] == "consent_withdrawn"
    assert [e.outcome for e in consent_entries()] == ["recorded", "withdrawn"]


def test_a_recipient_may_withdraw_but_only_the_recorder_adds_givers(ggz: Any, gemeente: Any, partner: Any) -> None:
    consent_id = record(ggz, subject={"bsn": ADAM}, given_by=[{"bsn": FATIMA, "capacity": "parent_with_custody"}])["id"]
    more = {"given_by": [{"bsn": YOUSSEF, "capacity": "parent_with_custody"}]}
    assert problem(gemeente.post(f"/api/v1/consents/{consent_id}/givers", more), 404)["code"] == "not_found"
    outsider = partner("veilig-thuis-rr")
    assert problem(outsider.post(f"/api/v1/consents/{consent_id}/givers", more), 404)["code"] == "not_found"
    reason = {"reason": "Told us so."}
    assert problem(outsider.post(f"/api/v1/consents/{consent_id}/withdraw", reason), 404)["code"] == "not_found"
    added = ggz.post(f"/api/v1/consents/{consent_id}/givers", more)
    assert added.status_code == 200, added.content
    assert added.json()["status"] == "awaiting_confirmation"
    assert [(g["bsn"], g["confirmed"]) for g in added.json()["given_by"]] == [(FATIMA, False), (YOUSSEF, False)]
    response = gemeente.post(f"/api/v1/consents/{consent_id}/withdraw", reason)
    assert response.status_code == 200, response.content
    entries = consent_entries()
    assert [e.outcome for e in entries] == ["recorded", "givers_added", "withdrawn"]
    assert entries[-1].organisation == "gemeente-rotterdam" and entries[-1].detail["withdrawn_by"] == "recipient"
    assert Consent.objects.get(pk=consent_id).status == "withdrawn"


# --- What a consent covers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "case"),
    [
        pytest.param({"purposes": ["zvh_case_meeting"]}, CASE_2, id="another purpose"),
        pytest.param({"recipients": ["gemeente-schiedam"]}, CASE_2, id="another recipient"),
        pytest.param({"recipients": ["sector:youth_care"]}, CASE_2, id="another sector"),
        pytest.param({"categories": ["school_attendance"]}, CASE_2, id="another category"),
        pytest.param({"valid_from": days(1)}, CASE_2, id="not yet valid"),
        pytest.param({}, None, id="the request names no case"),
    ],
)
def test_a_consent_permits_only_what_it_names(ggz: Any, gemeente: Any, changes: dict[str, Any], case: str) -> None:
    record(ggz, **changes)
    decision = ask_health(gemeente, YOUSSEF, case=case)
    assert decision["outcome"] == "deny" and reasons(decision) == ["no_consent"]


def test_a_recipient_sector_covers_its_organisations(ggz: Any, gemeente: Any) -> None:
    consent_id = record(ggz, recipients=["sector:municipality"])["id"]
    decision = ask_health(gemeente, YOUSSEF)
    assert decision["outcome"] == "permit" and decision["consent"] == consent_id


# --- Expiry -----------------------------------------------------------------------------------------------


def test_expiry_at_decision_time_and_by_the_task(ggz: Any, gemeente: Any) -> None:
    consent_id = record(ggz, valid_until=days(0))["id"]
    assert ask_health(gemeente, YOUSSEF)["outcome"] == "permit"  # the last day still counts
    # Time passes: the consent's period now lies behind us.
    Consent.objects.filter(pk=consent_id).update(
        valid_from=today() - dt.timedelta(days=30), valid_until=today() - dt.timedelta(days=1)
    )
    assert reasons(ask_health(gemeente, YOUSSEF)) == ["consent_expired"]  # before the task has run

    assert consent_expire() == 1
    assert Consent.objects.get(pk=consent_id).status == "expired"
    assert reasons(ask_health(gemeente, YOUSSEF)) == ["consent_expired"]
    assert consent_expire() == 0
    entries = consent_entries()
    assert [e.outcome for e in entries] == ["recorded", "expired"]
    assert entries[-1].user == "system:consent_expire" and entries[-1].detail["status"] == "expired"
    assert_without_bsns(entries)

    assert problem(ggz.post(f"/api/v1/consents/{consent_id}/withdraw", {"reason": "Late."}), 409)["code"] == (
        "consent_expired"
    )
    listed = search(ggz, YOUSSEF).json()["results"]
    assert [(c["id"], c["status"]) for c in listed] == [(consent_id, "expired")]


# --- Searching --------------------------------------------------------------------------------------------


def test_the_search_shows_the_recorder_and_the_recipients_only(ggz: Any, gemeente: Any, partner: Any) -> None:
    consent_id = record(ggz, recipients=["gemeente-rotterdam", "sector:youth_care"])["id"]

    def listed(who: Any, bsn: str = YOUSSEF) -> list[int]:
        response = search(who, bsn)
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["results"]]

    assert listed(ggz) == [consent_id]
    assert listed(gemeente) == [consent_id]
    assert listed(partner("jeugdhulp-rijnmond")) == [consent_id]  # youth_care, named as a sector
    assert listed(partner("veilig-thuis-rr")) == []
    assert listed(partner("zvh-rr")) == []
    assert listed(partner("veilig-thuis-rr"), FATIMA) == []
    assert listed(ggz, UNKNOWN) == []  # unknown and "no consents" look the same
    body = search(ggz, YOUSSEF).json()["results"][0]
    assert set(body) == {
        "id",
        "status",
        "subject",
        "given_by",
        "explicit",
        "purposes",
        "recipients",
        "categories",
        "case_reference",
        "valid_from",
        "valid_until",
        "evidence",
        "recorded_by",
        "recorded_at",
        "withdrawn_at",
        "withdrawal_reason",
    }
    assert len(consent_entries()) == 1  # reading changes nothing and writes no consent entry


def test_every_search_writes_a_view_entry_without_the_bsn(ggz: Any) -> None:
    """Item 6: a read of personal data through the API is audited, before the answer leaves."""
    consent_id = record(ggz)["id"]
    for bsn, found in ((YOUSSEF, [consent_id]), (UNKNOWN, [])):
        assert search(ggz, bsn).status_code == 200
        entry = AuditEntry.objects.filter(kind="api_view").latest("index")
        assert (entry.outcome, entry.organisation) == ("consents", "ggz-rijnmond")
        assert entry.subject == subject_pseudonym(bsn)
        assert entry.detail == {"consents": found}
        assert bsn not in entry.leaf


# --- Refusals ---------------------------------------------------------------------------------------------


def test_a_token_without_the_consents_scope_is_403(partner: Any) -> None:
    narrow = partner("ggz-rijnmond", scope="requests")
    assert problem(narrow.post("/api/v1/consents", consent_body()), 403)["code"] == "insufficient_scope"
    assert problem(search(narrow, YOUSSEF), 403)["code"] == "insufficient_scope"
    police = partner("politie-rotterdam")  # the police sector may not record consent: no consents scope at all
    assert problem(police.post("/api/v1/consents", consent_body()), 403)["code"] == "insufficient_scope"
    assert not Consent.objects.filter(subject_bsn=YOUSSEF).exists()


LONG = "x" * 2001
MALFORMED: list[Any] = [
    pytest.param({"extra": 1}, ("extra", "unknown_field"), id="unknown member"),
    pytest.param(
        {"given_by": [{"bsn": YOUSSEF, "capacity": "self", "note": "x"}]},
        ("given_by[0].note", "unknown_field"),
        id="unknown member of a giver",
    ),
    pytest.param(
        {"given_by": [{"bsn": YOUSSEF, "capacity": "self"}, {"bsn": FATIMA, "capacity": "aunt"}]},
        ("given_by[1].capacity", "unknown_value"),
        id="unknown capacity",
    ),
    pytest.param(
        {"given_by": [{"bsn": YOUSSEF, "capacity": 1}]},
        ("given_by[0].capacity", "unknown_value"),
        id="capacity a number",
    ),
    pytest.param(
        {"given_by": [{"bsn": "123456789", "capacity": "self"}]},
        ("given_by[0].bsn", "invalid_bsn"),
        id="giver BSN fails eleven test",
    ),
    pytest.param({"given_by": [{"bsn": YOUSSEF}]}, ("given_by[0].capacity", "required"), id="giver without capacity"),
    pytest.param({"given_by": []}, ("given_by", "required"), id="no givers"),
    pytest.param({"given_by": {"bsn": YOUSSEF}}, ("given_by", "invalid_type"), id="givers not a list"),
    pytest.param({"given_by": [{"bsn": YOUSSEF, "capacity": "self"}] * 21}, ("given_by", "too_long"), id="21 givers"),
    pytest.param(
        {"given_by": [{"bsn": YOUSSEF, "capacity": "self"}, {"bsn": YOUSSEF, "capacity": "self"}]},
        ("given_by[1].bsn", "duplicate_giver"),
        id="a giver twice",
    ),
    pytest.param(
        {"given_by": [{"bsn": YOUSSEF, "capacity": "parent_with_custody"}]},
        ("given_by[0]", "subject_not_representative"),
        id="not his own parent",
    ),
    pytest.param(
        {"given_by": [{"bsn": FATIMA, "capacity": "self"}]},
        ("given_by[0]", "self_not_subject"),
        id="self is someone else",
    ),
    pytest.param({"subject": {"bsn": "999990045"}}, ("subject.bsn", "invalid_bsn"), id="subject fails eleven test"),
    pytest.param({"subject": {"bsn": 999990056}}, ("subject.bsn", "invalid"), id="subject bsn a number"),
    pytest.param({"subject": YOUSSEF}, ("subject", "invalid"), id="subject not an object"),
    pytest.param({"subject": None}, ("subject", "required"), id="subject null"),
    pytest.param({"purposes": ["nope"]}, ("purposes[0]", "unknown_purpose"), id="unknown purpose"),
    pytest.param({"purposes": []}, ("purposes", "too_short"), id="no purposes"),
    pytest.param(
        {"categories": ["health_summary", "nope"]}, ("categories[1]", "unknown_category"), id="unknown category"
    ),
    pytest.param(
        {"categories": ["health_summary", "health_summary"]}, ("categories[1]", "duplicate"), id="category twice"
    ),
    pytest.param({"categories": ["health_summary"] * 21}, ("categories", "too_long"), id="21 categories"),
    pytest.param({"categories": "health_summary"}, ("categories", "invalid_type"), id="categories a string"),
    pytest.param({"categories": [7]}, ("categories[0]", "invalid"), id="category a number"),
    pytest.param({"recipients": ["nope"]}, ("recipients[0]", "unknown_organisation"), id="unknown organisation"),
    pytest.param({"recipients": ["sector:nope"]}, ("recipients[0]", "unknown_sector"), id="unknown sector"),
    pytest.param(
        {"recipients": ["gemeente-rotterdam", "gemeente-rotterdam"]},
        ("recipients[1]", "duplicate"),
        id="recipient twice",
    ),
    pytest.param({"explicit": "yes"}, ("explicit", "invalid"), id="explicit a string"),
    pytest.param({"explicit": None}, ("explicit", "required"), id="explicit null"),
    pytest.param({"valid_from": "2026-13-01"}, ("valid_from", "invalid"), id="no such month"),
    pytest.param({"valid_from": "2026-11-24T10:00:00"}, ("valid_from", "invalid"), id="a timestamp"),
    pytest.param({"valid_from": 20261124}, ("valid_from", "invalid"), id="a number"),
    pytest.param(
        {"valid_from": days(10), "valid_until": days(5)}, ("valid_until", "before_valid_from"), id="until before from"
    ),
    pytest.param(
        {"valid_from": days(-10), "valid_until": days(-5)}, ("valid_until", "in_the_past"), id="period in the past"
    ),
    pytest.param({"evidence": ""}, ("evidence", "required"), id="no evidence"),
    pytest.param({"evidence": "   "}, ("evidence", "required"), id="blank evidence"),
    pytest.param({"evidence": LONG}, ("evidence", "too_long"), id="evidence too long"),
    pytest.param({"case_reference": "CHGK-XX-0000-0000"}, ("case_reference", "unknown_case"), id="unknown case"),
    pytest.param({"case_reference": CASE_1}, ("case_reference", "unknown_case"), id="a case ggz is not in"),
    pytest.param({"case_reference": 2}, ("case_reference", "invalid"), id="case a number"),
]


@pytest.mark.parametrize(("changes", "error"), MALFORMED)
def test_a_malformed_consent_is_a_400_problem(ggz: Any, changes: dict[str, Any], error: tuple[str, str]) -> None:
    body = problem(ggz.post("/api/v1/consents", consent_body(**changes)), 400)
    assert error in fields(body), body
    assert not Consent.objects.filter(recorded_by__slug="ggz-rijnmond", subject_bsn=YOUSSEF).exists()
    assert consent_entries() == []
    assert AuditEntry.objects.filter(kind="rejected", organisation="ggz-rijnmond").count() == 1


def test_missing_members_are_named(ggz: Any) -> None:
    body = problem(ggz.post("/api/v1/consents", {}), 400)
    assert {f for f, _ in fields(body)} >= {
        "subject",
        "given_by",
        "explicit",
        "purposes",
        "recipients",
        "categories",
        "valid_from",
        "evidence",
    }


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'"text"', "application/json", 400),
        (b'{"explicit": true, "explicit": false}', "application/json", 400),
        (json.dumps(consent_body()).encode(), "text/plain", 415),
        (b'{"evidence": "' + b"x" * 70000 + b'"}', "application/json", 413),
    ],
)
def test_a_malformed_body_is_a_4xx_problem(ggz: Any, raw: bytes, content_type: str, status: int) -> None:
    problem(ggz.client.post("/api/v1/consents", raw, content_type=content_type, **ggz.headers()), status)
    assert consent_entries() == []


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("withdraw", {}, 400, ("reason", "required")),
        ("withdraw", {"reason": ""}, 400, ("reason", "required")),
        ("withdraw", {"reason": 5}, 400, ("reason", "invalid")),
        ("withdraw", {"reason": LONG}, 400, ("reason", "too_long")),
        ("withdraw", {"reason": "ok", "why": "x"}, 400, ("why", "unknown_field")),
        ("givers", {"given_by": []}, 400, ("given_by", "required")),
        ("givers", {"given_by": "x"}, 400, ("given_by", "invalid_type")),
        ("givers", {"given_by": [{"bsn": FATIMA, "capacity": "self"}]}, 400, ("given_by[0]", "self_not_subject")),
        ("givers", {"given_by": [{"bsn": YOUSSEF, "capacity": "self"}]}, 400, ("given_by[0].bsn", "duplicate_giver")),
    ],
)
def test_malformed_withdrawals_and_givers_are_400(
    ggz: Any, path: str, body: dict[str, Any], status: int, error: tuple[str, str]
) -> None:
    consent_id = record(ggz)["id"]
    response = problem(ggz.post(f"/api/v1/consents/{consent_id}/{path}", body), status)
    assert error in fields(response), response
    assert [e.outcome for e in consent_entries()] == ["recorded"]
    assert Consent.objects.get(pk=consent_id).status == "awaiting_confirmation"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/consents/0/withdraw",
        "/api/v1/consents/99999999999999999999999/withdraw",
        "/api/v1/consents/abc/withdraw",
        "/api/v1/consents/-1/givers",
    ],
)
def test_no_such_consent_is_404(ggz: Any, path: str) -> None:
    problem(ggz.post(path, {"reason": "x"}), 404)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, ("subject", "required")),
        ({"subject": {"bsn": "123"}}, ("subject.bsn", "invalid_bsn")),
        ({"subject": {"bsn": YOUSSEF}, "page": "2"}, ("page", "unknown_field")),
        ({"subject": YOUSSEF}, ("subject", "invalid")),
    ],
)
def test_a_bad_search_is_400(ggz: Any, body: dict[str, Any], error: tuple[str, str]) -> None:
    assert error in fields(problem(ggz.post("/api/v1/consents/search", body), 400))
    assert not AuditEntry.objects.filter(kind="api_view", index__gte=TRAIL_START[0]).exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
MEMBERS = st.sampled_from([*consent_body(), "reason", "given_by", "x"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(MEMBERS, JSON, max_size=3), other=JSON)
def test_generated_consent_calls_never_give_a_server_error(ggz: Any, changes: dict[str, Any], other: Any) -> None:
    response = ggz.post("/api/v1/consents", json.dumps(consent_body(**changes)), content_type="application/json")
    assert response.status_code in (201, 400), (changes, response.content)
    seeded = Consent.objects.get(subject_bsn=FATIMA).pk
    for path in ("givers", "withdraw"):
        response = ggz.post(f"/api/v1/consents/{seeded}/{path}", json.dumps(other), content_type="application/json")
        assert response.status_code in (200, 400, 409), (other, response.content)
        if response.status_code != 200:
            assert response["Content-Type"] == "application/problem+json"
