"""What families see, per statute (issue 11, item 8), and the consent side of item 7 end to end.

Tables of cases for the pure rules (portal/access.py, gateway/notices.py), then end to end through the API and
the portal on the demo world: a 14-year-old's medical entry is his own; a child objects from 12; police data waits
for the police's review; a parent in a child-abuse case waits for Veilig Thuis; the console tracks Veilig Thuis'
duty to inform (Wmo 2015 art. 5.3.1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym
from consent.consents import consent_regimes
from consent.models import Consent, DataCategory, Organisation, Person, Purpose, Sector
from gateway.models import InformationRequest
from gateway.notices import DEFERRED, DUE, INFORMED, OVERDUE, NoticeFact, informing_state
from portal.access import (
    CaseFact,
    PersonFact,
    held_for_holder_review,
    held_from_parent,
    objection_counts,
    parent_held,
    parent_sees_entry,
    visible_subjects,
)
from tests.portal.test_portal import portal_client

SANNE, DAAN, LOTTE, FATIMA, ADAM = "999990007", "999990020", "999990032", "999990044", "999990081"
CASE_1 = "CHGK-RR-2026-0001"
OWN = frozenset({"medical", "youth_care"})

# --- Tables of the pure rules --------------------------------------------------------------------------------

PARENT = PersonFact("p", 40)


@pytest.mark.parametrize(
    ("child", "visible"),
    [
        pytest.param(PersonFact("c", 11), True, id="under 12"),
        pytest.param(PersonFact("c", 15), True, id="15"),
        pytest.param(PersonFact("c", 16), False, id="16 and able to judge: own access only"),
        pytest.param(PersonFact("c", 17, able_to_judge=False), True, id="16-plus who cannot judge keeps the parent"),
        pytest.param(PersonFact("c", 12, objects_to_parents=True), False, id="objection at 12 counts"),
        pytest.param(PersonFact("c", 14, objects_to_parents=True), False, id="objection at 14 counts"),
        pytest.param(PersonFact("c", 11, objects_to_parents=True), True, id="own objection under 12 does not"),
        pytest.param(
            PersonFact("c", 14, able_to_judge=False, objects_to_parents=True), True, id="nor when not able to judge"
        ),
        pytest.param(PersonFact("c", 9, blocks_parent=True), False, id="a professional's restriction at any age"),
    ],
)
def test_who_a_parent_sees(child: PersonFact, visible: bool) -> None:
    assert (child.bsn in visible_subjects(viewer=PARENT, wards=[child], cases=[])) is visible
    assert objection_counts(child) is (not visible and not (child.age >= 16 and child.able_to_judge))


@pytest.mark.parametrize(
    ("age", "able", "regimes", "own", "sees"),
    [
        pytest.param(14, True, {"medical"}, OWN, False, id="14, medical (BW 7:457 with 7:465)"),
        pytest.param(14, True, {"youth_care"}, OWN, False, id="14, youth care (Jeugdwet 7.3.11 with 7.3.15)"),
        pytest.param(14, True, {"avg", "medical"}, OWN, False, id="14, one medical category is enough"),
        pytest.param(14, True, {"avg"}, OWN, True, id="14, a school's data (AVG)"),
        pytest.param(14, True, {"vt_municipality"}, OWN, True, id="14, Veilig Thuis / municipality"),
        pytest.param(12, True, {"medical"}, OWN, False, id="12 is in the band"),
        pytest.param(11, True, {"medical"}, OWN, True, id="11: the parents decide"),
        pytest.param(14, False, {"medical"}, OWN, True, id="14 and cannot judge: the parents decide"),
        pytest.param(14, True, {"medical"}, frozenset(), True, id="the setting off"),
        pytest.param(14, True, {"youth_care"}, frozenset({"medical"}), True, id="only medical configured"),
    ],
)
def test_parents_of_a_12_to_15_year_old_do_not_see_the_childs_own_regimes(
    age: int, able: bool, regimes: set[str], own: frozenset[str], sees: bool
) -> None:
    child = PersonFact("c", age, able_to_judge=able)
    assert parent_sees_entry(child=child, entry_regimes=regimes, own_12_15=own) is sees


def abuse_case(
    parent_role: str | None,
    *,
    sectors: frozenset[str] = frozenset({"veilig_thuis"}),
    active: bool = True,
    child_role: str = "child_involved",
) -> CaseFact:
    roles = {"c": frozenset({child_role})}
    if parent_role:
        roles["p"] = frozenset({parent_role})
    return CaseFact("K", roles, active, frozenset(), sectors)


@pytest.mark.parametrize(
    ("case", "held"),
    [
        pytest.param(abuse_case("legal_representative"), True, id="parent as legal representative"),
        pytest.param(abuse_case(None), True, id="parent not in the case"),
        pytest.param(abuse_case(None, child_role="victim"), True, id="child as victim"),
        pytest.param(abuse_case("victim"), False, id="the parent is the victim"),
        pytest.param(abuse_case(None, sectors=frozenset({"municipality"})), False, id="no Veilig Thuis in the case"),
        pytest.param(abuse_case(None, active=False), False, id="closed case"),
        pytest.param(abuse_case(None, child_role="reporter_bystander"), False, id="the child only reported"),
    ],
)
def test_a_parent_in_a_child_abuse_case_is_held_until_veilig_thuis_clears(case: CaseFact, held: bool) -> None:
    assert parent_held(parent="p", child="c", cases=[case]) is held
    day = dt.date(2026, 12, 1)
    assert held_from_parent(parent_held_back=held, notice=NoticeFact(day)) is held
    assert not held_from_parent(parent_held_back=held, notice=NoticeFact(day, True, None, "veilig_thuis"))
    assert held_from_parent(parent_held_back=held, notice=NoticeFact(day, True, None, "education")) is held


@pytest.mark.parametrize(
    ("holders", "cleared_by", "held"),
    [
        pytest.param({"police"}, None, True, id="police data, not reviewed"),
        pytest.param({"prosecution", "municipality"}, None, True, id="prosecution data among others"),
        pytest.param({"police"}, "police", False, id="reviewed by the police"),
        pytest.param({"prosecution"}, "prosecution", False, id="reviewed by the prosecution"),
        pytest.param({"police"}, "veilig_thuis", True, id="cleared by someone else is no review"),
        pytest.param({"municipality"}, None, False, id="no police or prosecution data"),
    ],
)
def test_police_and_prosecution_data_waits_for_the_holders_review(
    holders: set[str], cleared_by: str | None, held: bool
) -> None:
    notice = NoticeFact(dt.date(2026, 1, 1), cleared_by is not None, None, cleared_by)
    assert held_for_holder_review(holder_sectors=holders, notice=notice) is held


@pytest.mark.parametrize(
    ("notice", "today", "state"),
    [
        pytest.param(NoticeFact(dt.date(2026, 1, 1)), dt.date(2026, 1, 29), DUE, id="the 28th day: due"),
        pytest.param(NoticeFact(dt.date(2026, 1, 1)), dt.date(2026, 1, 30), OVERDUE, id="four weeks passed"),
        pytest.param(NoticeFact(dt.date(2026, 1, 1), True), dt.date(2026, 6, 1), INFORMED, id="cleared"),
        pytest.param(
            NoticeFact(dt.date(2026, 1, 1), False, dt.date(2026, 3, 1)), dt.date(2026, 2, 20), DEFERRED, id="deferred"
        ),
        pytest.param(
            NoticeFact(dt.date(2026, 1, 1), False, dt.date(2026, 3, 1)),
            dt.date(2026, 3, 2),
            OVERDUE,
            id="deferral over",
        ),
    ],
)
def test_the_duty_to_inform_within_four_weeks(notice: NoticeFact, today: dt.date, state: str) -> None:
    assert informing_state(notice, inform_days=28, today=today) == state


# --- End to end through the API and the portal -----------------------------------------------------------------


def person_url(bsn: str) -> str:
    return f"/portal/person/{Person.objects.get(bsn=bsn).pk}/"


def vt_asks(partner: Any, bsn: str, category: str, holder: str) -> str:
    response = partner("veilig-thuis-rr").ask(
        subject={"bsn": bsn},
        categories=[category],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
        providers={category: holder},
    )
    assert response.status_code in (200, 202), response.content
    return str(response.json()["id"])


def test_daans_medical_entry_is_his_own_not_his_mothers(partner: Any) -> None:
    """Daan is 14 (BW 7:457 with 7:465): Sanne sees what the municipality gave about him, not what his GP held."""
    medical = vt_asks(partner, DAAN, "health_summary", "huisarts-kralingen")
    household = vt_asks(partner, DAAN, "household", "gemeente-rotterdam")
    sanne = portal_client("sanne").get(person_url(DAAN)).content.decode()
    assert household in sanne and medical not in sanne
    assert "tussen 12 en 16" in sanne  # said for every child of that age, kept or not
    assert portal_client("sanne").get(f"{person_url(DAAN)}entry/{medical}/").status_code == 404
    daan = portal_client("daan").get(person_url(DAAN)).content.decode()
    assert medical in daan and household in daan


def test_daan_objects_to_his_parents_seeing_his_entries_and_withdraws_it(partner: Any) -> None:
    household = vt_asks(partner, DAAN, "household", "gemeente-rotterdam")
    daan = portal_client("daan")
    assert "Mijn ouders mogen dit niet zien" in daan.get(person_url(DAAN)).content.decode()
    assert daan.post("/portal/parent-access/", {"answer": "object"}).status_code == 302
    sanne = portal_client("sanne")
    assert person_url(DAAN) not in sanne.get("/portal/").content.decode()
    assert sanne.get(f"{person_url(DAAN)}entry/{household}/").status_code == 404
    entry = AuditEntry.objects.filter(kind="restriction").latest("index")
    assert (entry.user, entry.outcome, entry.subject) == ("portal:daan", "set", subject_pseudonym(DAAN))
    assert DAAN not in entry.leaf
    assert daan.post("/portal/parent-access/", {"answer": "object"}).status_code == 302  # twice: refused, nothing new
    assert AuditEntry.objects.filter(kind="restriction").latest("index").index == entry.index
    daan.post("/portal/parent-access/", {"answer": "withdraw"})
    assert household in sanne.get(person_url(DAAN)).content.decode()
    assert AuditEntry.objects.filter(kind="restriction").latest("index").outcome == "lifted"


def test_a_child_under_12_cannot_object_herself(partner: Any) -> None:
    """Lotte is 9: no form, and the action refuses (a professional's restriction still can)."""
    from portal import services

    with pytest.raises(services.PortalError):
        services.parent_access_object(viewer=Person.objects.get(bsn=LOTTE), username="lotte")


def test_police_data_about_sanne_appears_after_the_polices_review(partner: Any) -> None:
    """Sanne is no suspect; still, what the police held about her waits for their review (Wpg art. 25-27)."""
    request_id = vt_asks(partner, SANNE, "police_incidents", "politie-rotterdam")
    sanne = portal_client("sanne")
    page = sanne.get(person_url(SANNE)).content.decode()
    assert request_id not in page and "bekijkt" in page  # counted: "the organisation that holds it reviews it"
    url = f"/api/v1/holder/notices/{request_id}"
    assert partner("veilig-thuis-rr", "provider").post(url, {"action": "clear"}).status_code == 404
    assert request_id not in sanne.get(person_url(SANNE)).content.decode()
    assert partner("politie-rotterdam", "provider").post(url, {"action": "clear"}).status_code == 200
    assert request_id in sanne.get(person_url(SANNE)).content.decode()


def test_the_parents_in_the_child_abuse_case_are_not_mailed_about_adam(partner: Any, settings: Any) -> None:
    from django.core import mail

    from portal.notifications import notify_new_entry

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = partner("jeugdbescherming-rr").ask(
        subject={"bsn": ADAM},
        categories=["school_attendance"],
        purpose="ots_execution",
        providers={"school_attendance": "school-regenboog"},
    )
    mail.outbox.clear()
    assert notify_new_entry(response.json()["id"]) == 0 and mail.outbox == []


def officer(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_console_lists_overdue_informing_first(partner: Any, settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False  # the second factor is tested in tests/console
    overdue = vt_asks(partner, SANNE, "household", "gemeente-rotterdam")
    fresh = vt_asks(partner, DAAN, "household", "gemeente-rotterdam")
    InformationRequest.objects.filter(pk=overdue).update(created_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    other = partner("politie-rotterdam").ask(subject={"bsn": SANNE}, categories=["address"], purpose="criminal_law")
    page = officer("privacy-vt").get("/privacy/informing/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index(overdue) < body.index(fresh) and "overdue" in body
    assert other.json()["id"] not in body  # not Veilig Thuis': not tracked
    assert SANNE not in body and "Sanne" not in body
    view = AuditEntry.objects.filter(kind="console_view").latest("index")
    assert (view.user, view.outcome) == ("privacy-vt", "informing")


# --- The consent side of item 7 on PostgreSQL ------------------------------------------------------------------


def test_the_regime_follows_the_holder(db: Any) -> None:
    """A consent for health_summary to the municipality: the holders' regimes (GP, mental health: medical); once
    a holder's sector names its own regime, that one applies too (a consent naming several holders' data needs
    what each regime asks)."""
    consent = Consent.objects.create(
        subject_bsn=DAAN,
        valid_from=dt.date(2026, 12, 1),
        evidence="test",
        recorded_by=Organisation.objects.get(slug="ggz-rijnmond"),
    )
    consent.categories.set(DataCategory.objects.filter(code="health_summary"))
    consent.purposes.set(Purpose.objects.filter(code="care_coordination"))
    consent.recipient_sectors.set(Sector.objects.filter(code="municipality"))
    assert consent_regimes(consent) == {"medical"}
    Sector.objects.filter(code="general_practice").update(consent_regime="avg")
    assert consent_regimes(consent) == {"medical", "avg"}
    school = Consent.objects.create(
        subject_bsn=DAAN, valid_from=dt.date(2026, 12, 1), evidence="t", recorded_by=consent.recorded_by
    )
    school.categories.set(DataCategory.objects.filter(code="school_attendance"))
    school.recipient_sectors.set(Sector.objects.filter(code="municipality"))
    Sector.objects.filter(code="education").update(consent_regime="avg")
    DataCategory.objects.filter(code="school_attendance").update(consent_regime="youth_care")
    assert consent_regimes(school) == {"avg"}  # a school's data: UAVG art. 5, whatever the category says
