"""The family portal: scenarios 12 to 14 of scenarios.md, consents, lockout, audit and notifications."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym
from consent.models import Consent, Organisation, Person
from consent.restrictions import restriction_set
from portal.models import ConsentRequest
from portal.notifications import notify_new_entry

SANNE, MARK, DAAN, LOTTE = "999990007", "999990019", "999990020", "999990032"
FATIMA, NOOR, ADAM = "999990044", "999990068", "999990081"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"
PASSWORD = "veilig-delen-demo"


def portal_client(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    response = client.post("/portal/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def person_url(bsn: str) -> str:
    return f"/portal/person/{Person.objects.get(bsn=bsn).pk}/"


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def history(partner: Any) -> dict[str, str]:
    """Requests about the family, made through the API as partners do."""
    ids = {}
    ids["mark_police"] = (
        partner("veilig-thuis-rr")
        .ask(
            subject={"bsn": MARK},
            categories=["police_incidents"],
            purpose="vt_safety_assessment",
            case_reference=CASE_1,
        )
        .json()["id"]
    )
    ids["sanne_address"] = (
        partner("politie-rotterdam")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()["id"]
    )
    ids["sanne_support"] = (
        partner("zvh-rr")
        .ask(subject={"bsn": SANNE}, categories=["victim_support"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()["id"]
    )
    ids["lotte_school"] = (
        partner("veilig-thuis-rr")
        .ask(
            subject={"bsn": LOTTE},
            categories=["school_attendance"],
            purpose="vt_safety_assessment",
            providers={"school_attendance": "school-regenboog"},
        )
        .json()["id"]
    )
    ids["fatima_health"] = (
        partner("gemeente-rotterdam")
        .ask(
            subject={"bsn": FATIMA},
            categories=["health_summary"],
            purpose="care_coordination",
            case_reference=CASE_2,
            providers={"health_summary": "ggz-rijnmond"},
        )
        .json()["id"]
    )
    ids["adam_school"] = (
        partner("jeugdbescherming-rr")
        .ask(
            subject={"bsn": ADAM},
            categories=["school_attendance"],
            purpose="ots_execution",
            providers={"school_attendance": "school-regenboog"},
        )
        .json()["id"]
    )
    ids["noor_identity"] = (
        partner("veilig-thuis-rr")
        .ask(subject={"bsn": NOOR}, categories=["identity"], purpose="vt_safety_assessment")
        .json()["id"]
    )
    return ids


def test_scenario_12_a_suspect_sees_only_himself(history: dict[str, str], partner: Any) -> None:
    mark = portal_client("mark")
    home = mark.get("/portal/")
    assert home.status_code == 200
    assert person_url(MARK) in home.content.decode()
    for other in (SANNE, DAAN, LOTTE):
        assert person_url(other) not in home.content.decode()
        assert mark.get(person_url(other)).status_code == 404  # not even by URL
    assert history["mark_police"] not in mark.get(person_url(MARK)).content.decode()  # until it is cleared
    # Police data: only the police's review clears it (Wpg art. 25-27, issue 11), not Veilig Thuis in his case.
    url = f"/api/v1/holder/notices/{history['mark_police']}"
    assert partner("veilig-thuis-rr", "provider").post(url, {"action": "clear"}).status_code == 404
    cleared = partner("politie-rotterdam", "provider").post(url, {"action": "clear"})
    assert cleared.status_code == 200
    own = mark.get(person_url(MARK))
    assert history["mark_police"] in own.content.decode()
    assert history["sanne_address"] not in own.content.decode()
    assert mark.get(f"{person_url(SANNE)}entry/{history['sanne_address']}/").status_code == 404
    assert mark.get(f"{person_url(MARK)}entry/{history['lotte_school']}/").status_code == 404


def test_scenario_13_the_victim_sees_herself_and_her_children_and_one_withheld_entry(
    history: dict[str, str],
) -> None:
    restriction_set(
        person=Person.objects.get(bsn=SANNE),
        kind="withheld_from_subject",
        set_by=Organisation.objects.get(slug="veilig-thuis-rr"),
        set_by_user="vt-017",
        reason="Safety assessment running.",
        legal_ground="UAVG art. 41(1)(i)",
        review_date=dt.date(2027, 3, 1),
        categories=[],
    ).__class__.objects.filter(kind="withheld_from_subject").update(request_reference=history["sanne_address"])
    sanne = portal_client("sanne")
    home = sanne.get("/portal/").content.decode()
    for bsn in (SANNE, DAAN, LOTTE):
        assert person_url(bsn) in home
    own = sanne.get(person_url(SANNE))
    page = own.content.decode()
    assert history["sanne_support"] in page
    assert history["sanne_address"] not in page  # withheld: not shown, not linked
    assert "1 maart 2027" in text(own)  # how many and until when, nothing that identifies it
    assert sanne.get(f"{person_url(SANNE)}entry/{history['sanne_address']}/").status_code == 404
    lotte = sanne.get(person_url(LOTTE))
    assert history["lotte_school"] in lotte.content.decode()
    detail = sanne.get(f"{person_url(SANNE)}entry/{history['sanne_support']}/")
    assert detail.status_code == 200
    body = text(detail)
    assert "Zorg- en Veiligheidshuis Rotterdam Rijnmond" in body  # who asked
    assert "Slachtofferhulp Nederland" in body  # who held it
    assert "WGS" in body or "samenwerkingsverbanden" in body  # the basis, explained


def test_scenario_14_a_parent_sees_the_young_child_not_the_16_year_old(history: dict[str, str], partner: Any) -> None:
    fatima = portal_client("fatima")
    home = fatima.get("/portal/").content.decode()
    assert person_url(FATIMA) in home and person_url(ADAM) in home
    assert person_url(NOOR) not in home
    assert fatima.get(person_url(NOOR)).status_code == 404
    # Case 0002 is a child-abuse case in which Veilig Thuis takes part and Fatima is no victim (issue 11, item 8):
    # she sees Adam's entry once Veilig Thuis cleared it, not before.
    assert history["adam_school"] not in fatima.get(person_url(ADAM)).content.decode()
    url = f"/api/v1/holder/notices/{history['adam_school']}"
    assert partner("veilig-thuis-rr", "provider").post(url, {"action": "clear"}).status_code == 200
    assert history["adam_school"] in fatima.get(person_url(ADAM)).content.decode()
    noor = portal_client("noor")
    assert history["noor_identity"] in noor.get(person_url(NOOR)).content.decode()


def test_every_view_of_entries_is_audited(history: dict[str, str]) -> None:
    sanne = portal_client("sanne")
    before = AuditEntry.objects.filter(kind="portal_view").count()
    sanne.get(person_url(LOTTE))
    sanne.get(f"{person_url(LOTTE)}entry/{history['lotte_school']}/")
    views = list(AuditEntry.objects.filter(kind="portal_view").order_by("index"))[before:]
    assert [v.outcome for v in views] == ["timeline", "entry"]
    assert all(v.user == "sanne" and v.subject == subject_pseudonym(LOTTE) for v in views)
    assert views[1].reference == history["lotte_school"]
    assert LOTTE not in views[0].leaf


def test_withdraw_a_consent_with_one_confirmation(db: Any) -> None:
    consent = Consent.objects.get(subject_bsn=FATIMA, status="active")
    fatima = portal_client("fatima")
    listing = fatima.get("/portal/consents/")
    assert f"/portal/consents/{consent.pk}/withdraw/" in listing.content.decode()
    confirm = fatima.get(f"/portal/consents/{consent.pk}/withdraw/")
    assert confirm.status_code == 200
    consent.refresh_from_db()
    assert consent.status == "active"  # looking at the question changes nothing
    done = fatima.post(f"/portal/consents/{consent.pk}/withdraw/", {"reason": "Ik wil dit niet meer."})
    assert done.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"
    entry = AuditEntry.objects.filter(kind="consent", outcome="withdrawn").latest("index")
    assert entry.user == "portal:fatima"
    assert portal_client("mark").get(f"/portal/consents/{consent.pk}/withdraw/").status_code == 404


def test_give_consent_where_a_partner_asked_with_the_age_rules(db: Any) -> None:
    request = ConsentRequest.objects.get(subject__bsn=ADAM)
    fatima = portal_client("fatima")
    assert f"/portal/consent-requests/{request.pk}/" in fatima.get("/portal/consents/").content.decode()
    assert fatima.post(f"/portal/consent-requests/{request.pk}/").status_code == 302
    request.refresh_from_db()
    assert request.status == "given" and request.consent is not None
    assert request.consent.status == "awaiting_confirmation"  # Adam is 7: both parents with custody must consent
    assert portal_client("noor").get(f"/portal/consent-requests/{request.pk}/").status_code == 404
    youssef = portal_client("youssef")
    assert youssef.post(f"/portal/consents/{request.consent.pk}/confirm/", {"answer": "yes"}).status_code == 302
    request.consent.refresh_from_db()
    assert request.consent.status == "active"


def test_lockout_after_repeated_failures(db: Any) -> None:
    client = Client()
    for _ in range(4):
        assert client.post("/portal/login/", {"username": "sanne", "password": "wrong"}).status_code == 200
    assert client.post("/portal/login/", {"username": "sanne", "password": "wrong"}).status_code == 429  # fifth
    locked = client.post("/portal/login/", {"username": "sanne", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password, for the cool-off time
    assert "/portal/person/" not in locked.content.decode()
    assert "15" in locked.content.decode()  # says how long


def test_pages_carry_a_strict_csp_and_switch_language(db: Any) -> None:
    client = portal_client("sanne")
    page = client.get("/portal/")
    assert page["Content-Security-Policy"].startswith("default-src 'self'")
    assert 'lang="nl"' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    english = client.get("/portal/")
    assert 'lang="en"' in english.content.decode()
    assert "Log out" in text(english)


def test_notifications_say_only_that_there_is_news(history: dict[str, str], settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    assert notify_new_entry(history["lotte_school"]) == 1  # Sanne may see Lotte; Mark may not
    (message,) = mail.outbox
    assert message.to == [Person.objects.get(bsn=SANNE).portal_account.user.email]
    assert "school" not in message.body.lower() and "Lotte" not in message.body
    mail.outbox.clear()
    assert notify_new_entry(history["mark_police"]) == 0  # Mark, a suspect: not before he may see it
    assert mail.outbox == []


def test_no_notification_for_a_withheld_entry(history: dict[str, str], settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    restriction = restriction_set(
        person=Person.objects.get(bsn=SANNE),
        kind="withheld_from_subject",
        set_by=Organisation.objects.get(slug="veilig-thuis-rr"),
        set_by_user="vt-017",
        reason="Safety.",
        legal_ground="UAVG art. 41(1)(i)",
        review_date=dt.date(2027, 3, 1),
        categories=["address"],
    )
    assert restriction.pk
    mail.outbox.clear()
    assert notify_new_entry(history["sanne_address"]) == 0
    assert mail.outbox == []


def test_the_family_sees_the_truth_where_the_requester_was_shown_an_unknown_person(partner: Any) -> None:
    """Veilig Thuis Haaglanden is shown 'pending' for Sanne's shelter stay (what an unknown person gets); Sanne
    sees that it was not shared because of the protection on her address."""
    haaglanden = partner("veilig-thuis-haaglanden")
    asked = haaglanden.ask(subject={"bsn": SANNE}, categories=["shelter_stay"], purpose="report_to_vt").json()
    assert asked["decisions"][0]["outcome"] == "pending"
    sanne = portal_client("sanne")
    page = sanne.get(f"{person_url(SANNE)}entry/{asked['id']}/")
    assert page.status_code == 200
    shown = text(page)
    assert "Niet gedeeld" in shown and "Wachten op een besluit" not in shown
