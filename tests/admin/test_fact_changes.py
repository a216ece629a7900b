"""Every change to the facts about families and to the accounts that see them is audited (issue #9, item 6).

Today's leak: an administrator changed Mark's role in case 0001 from suspect to legal representative and nothing
was written, while his portal then showed his children's timelines. Each change in the admin (a form, an inline,
a delete, a bulk delete) now goes through an action of ``consent.family``, ``audit.officers`` or
``portal.accounts`` that writes one ``fact_change`` entry in its transaction, or nothing changes at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from audit import facts
from audit.ledger import AuditWriteError
from audit.models import AuditEntry, AuditHead, OfficerProfile
from audit.officers import officer_profile_delete, officer_profile_save
from audit.pseudonym import subject_pseudonym
from consent import family
from consent.models import Case, CasePerson, Measure, Organisation, Person, Relation
from portal.accounts import portal_account_delete, portal_account_save
from portal.models import PortalAccount
from tests.admin.clients import verified_admin_client
from tests.admin.forms import form_data, inline_prefix

MARK, SANNE, DAAN, LOTTE, FATIMA = "999990019", "999990007", "999990020", "999990032", "999990044"
CASE_1 = "CHGK-RR-2026-0001"


@pytest.fixture
def admin_client(db: Any) -> Any:
    return verified_admin_client(User.objects.get(username="admin"))


def changes_since(start: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(index__gte=start, kind="fact_change").order_by("index"))


def head() -> int:
    return AuditHead.objects.get(pk=1).size


def mark_in_case_1() -> CasePerson:
    return CasePerson.objects.get(case__reference=CASE_1, person__bsn=MARK)


def personal_values() -> list[str]:
    """What must never be in a fact_change entry: the demo world's BSNs, names and dates of birth."""
    values: list[str] = []
    for person in Person.objects.all():
        values += [person.bsn, person.given_name, person.family_name, person.date_of_birth.isoformat()]
    return values


def assert_no_personal_values(entries: list[AuditEntry]) -> None:
    forbidden = personal_values()
    for entry in entries:
        for value in forbidden:
            assert value not in entry.leaf, (entry.index, value)


# --- The leak of the issue -----------------------------------------------------------------------------------


def test_changing_marks_role_in_the_admin_is_recorded(admin_client: Any) -> None:
    url = f"/admin/consent/case/{Case.objects.get(reference=CASE_1).pk}/change/"
    role = mark_in_case_1()
    prefix = inline_prefix(admin_client, url, "caseperson")
    data = form_data(admin_client, url)
    (index,) = [
        k.split("-")[1]
        for k, v in data.items()
        if k.startswith(f"{prefix}-") and k.endswith("-id") and str(v) == str(role.pk)
    ]
    data[f"{prefix}-{index}-role"] = "legal_representative"
    start = head()

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert mark_in_case_1().role == "legal_representative"
    (entry,) = changes_since(start)
    assert (entry.kind, entry.outcome, entry.user) == ("fact_change", "update", "admin")
    assert entry.subject == subject_pseudonym(MARK) and entry.case_reference == CASE_1
    assert entry.reference == f"case_role:{role.pk}"
    assert entry.detail == {
        "model": "consent.caseperson",
        "key": str(role.pk),
        "fields": ["role"],
        "role": "legal_representative",
        "previous_role": "suspect",
    }
    assert_no_personal_values([entry])


def test_an_unchanged_case_form_writes_nothing_and_saves_nothing(admin_client: Any) -> None:
    url = f"/admin/consent/case/{Case.objects.get(reference=CASE_1).pk}/change/"
    data = form_data(admin_client, url)
    start = head()
    assert admin_client.post(url, data).status_code == 302
    assert changes_since(start) == []


def test_case_phase_and_participants_are_recorded_by_code(admin_client: Any) -> None:
    case = Case.objects.get(reference=CASE_1)
    url = f"/admin/consent/case/{case.pk}/change/"
    school = Organisation.objects.get(slug="school-regenboog")
    police = Organisation.objects.get(slug="politie-rotterdam")
    participants = [str(pk) for pk in case.participants.exclude(pk=police.pk).values_list("pk", flat=True)]
    data = form_data(admin_client, url, phase="closed", participants=[*participants, str(school.pk)])
    start = head()
    assert admin_client.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.phase == "closed" and case.participants.filter(pk=school.pk).exists()
    (entry,) = changes_since(start)
    assert entry.reference == f"case:{CASE_1}" and entry.case_reference == CASE_1 and entry.subject is None
    assert entry.detail["fields"] == ["participants", "phase"]
    assert (entry.detail["phase"], entry.detail["previous_phase"]) == ("closed", "safety_assessment")
    assert entry.detail["participants_added"] == ["school-regenboog"]
    assert entry.detail["participants_removed"] == ["politie-rotterdam"]


def test_inline_roles_and_measures_are_added_and_deleted_through_actions(admin_client: Any) -> None:
    case = Case.objects.get(reference=CASE_1)
    url = f"/admin/consent/case/{case.pk}/change/"
    roles, measures = inline_prefix(admin_client, url, "caseperson"), inline_prefix(admin_client, url, "measure")
    data = form_data(admin_client, url)
    fatima = Person.objects.get(bsn=FATIMA)
    total = int(data[f"{roles}-TOTAL_FORMS"])
    data.update(
        {
            f"{roles}-TOTAL_FORMS": str(total + 1),
            f"{roles}-{total}-person": str(fatima.pk),
            f"{roles}-{total}-role": "reporter_bystander",
            f"{roles}-{total}-case": str(case.pk),
        }
    )
    daan_role = CasePerson.objects.get(case=case, person__bsn=DAAN)
    (daan_index,) = [
        k.split("-")[1]
        for k, v in data.items()
        if k.startswith(f"{roles}-") and k.endswith("-id") and str(v) == str(daan_role.pk)
    ]
    data[f"{roles}-{daan_index}-DELETE"] = "on"
    measure_total = int(data[f"{measures}-TOTAL_FORMS"])
    data.update(
        {
            f"{measures}-TOTAL_FORMS": str(measure_total + 1),
            f"{measures}-{measure_total}-person": str(fatima.pk),
            f"{measures}-{measure_total}-kind": "house_ban",
            f"{measures}-{measure_total}-organisation": str(Organisation.objects.get(slug="politie-rotterdam").pk),
            f"{measures}-{measure_total}-valid_from": "2026-03-01",
            f"{measures}-{measure_total}-case": str(case.pk),
        }
    )
    start = head()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    entries = changes_since(start)
    assert sorted((e.detail["model"], e.outcome) for e in entries) == [
        ("consent.caseperson", "create"),
        ("consent.caseperson", "delete"),
        ("consent.measure", "create"),
    ]
    deleted = next(e for e in entries if e.outcome == "delete")
    assert deleted.subject == subject_pseudonym(DAAN) and deleted.detail["role"] == "child_involved"
    measure = next(e for e in entries if e.detail["model"] == "consent.measure")
    assert measure.subject == subject_pseudonym(FATIMA) and measure.detail["measure_kind"] == "house_ban"
    assert not CasePerson.objects.filter(pk=daan_role.pk).exists()
    assert_no_personal_values(entries)


def test_a_person_and_a_relation_changed_in_the_admin_are_recorded(admin_client: Any) -> None:
    daan = Person.objects.get(bsn=DAAN)
    url = f"/admin/consent/person/{daan.pk}/change/"
    relations = inline_prefix(admin_client, url, "relation")
    data = form_data(admin_client, url, family_name="Anders", able_to_judge="")
    data.pop("able_to_judge")
    total = int(data[f"{relations}-TOTAL_FORMS"])
    data.update(
        {
            f"{relations}-TOTAL_FORMS": str(total + 1),
            f"{relations}-{total}-other": str(Person.objects.get(bsn=LOTTE).pk),
            f"{relations}-{total}-kind": "housemate",
            f"{relations}-{total}-person": str(daan.pk),
        }
    )
    start = head()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    person_entry, relation_entry = changes_since(start)
    assert person_entry.reference == f"person:{daan.pk}" and person_entry.subject == subject_pseudonym(DAAN)
    assert person_entry.detail["fields"] == ["able_to_judge", "family_name"]
    assert "Anders" not in person_entry.leaf
    assert relation_entry.detail["relation_kind"] == "housemate"
    assert relation_entry.detail["other_subject"] == subject_pseudonym(LOTTE)
    assert relation_entry.outcome == "create"
    assert_no_personal_values([person_entry, relation_entry])


def test_a_bulk_delete_goes_through_the_actions_one_entry_each(admin_client: Any) -> None:
    with transaction.atomic():
        made = [
            family.person_save(
                person=Person(bsn=bsn, given_name="Test", family_name="Persoon", date_of_birth=dt.date(1990, 1, 1)),
                by_user="test",
            )
            for bsn in ("999990093", "999990111")
        ]
        family.relation_save(relation=Relation(person=made[0], other=made[1], kind="partner"), by_user="test")
    start = head()
    response = admin_client.post(
        "/admin/consent/person/",
        {"action": "delete_selected", "_selected_action": [str(p.pk) for p in made], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Person.objects.filter(pk__in=[p.pk for p in made]).exists()
    entries = changes_since(start)
    assert sorted((e.detail["model"], e.outcome) for e in entries) == [
        ("consent.person", "delete"),
        ("consent.person", "delete"),
        ("consent.relation", "delete"),
    ]


# --- Fail closed ---------------------------------------------------------------------------------------------


def test_a_change_that_cannot_be_recorded_does_not_happen(admin_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"/admin/consent/case/{Case.objects.get(reference=CASE_1).pk}/change/"
    prefix = inline_prefix(admin_client, url, "caseperson")
    data = form_data(admin_client, url)
    role = mark_in_case_1()
    (index,) = [
        k.split("-")[1]
        for k, v in data.items()
        if k.startswith(f"{prefix}-") and k.endswith("-id") and str(v) == str(role.pk)
    ]
    data[f"{prefix}-{index}-role"] = "legal_representative"

    def refuse(draft: Any) -> AuditEntry:
        raise AuditWriteError("the trail is down")

    monkeypatch.setattr(facts, "audit_append", refuse)
    response = admin_client.post(url, data)
    assert response.status_code == 503
    assert b"could not be recorded in the audit trail" in response.content
    assert mark_in_case_1().role == "suspect"


def test_each_action_refuses_to_change_without_its_entry(monkeypatch: pytest.MonkeyPatch, db: Any) -> None:
    def refuse(draft: Any) -> AuditEntry:
        raise AuditWriteError("the trail is down")

    monkeypatch.setattr(facts, "audit_append", refuse)
    role = mark_in_case_1()
    role.role = "legal_representative"
    with pytest.raises(AuditWriteError):
        family.case_role_save(case_person=role, by_user="test")
    assert mark_in_case_1().role == "suspect"
    account = PortalAccount.objects.get(user__username="mark")
    account.person = Person.objects.get(bsn=LOTTE)
    with pytest.raises(AuditWriteError):
        portal_account_save(account=account, by_user="test")
    assert PortalAccount.objects.get(user__username="mark").person.bsn == MARK


# --- Every action, one entry, no personal values (the general guard) ------------------------------------------


def test_every_action_writes_one_entry_with_codes_and_pseudonyms_only(db: Any) -> None:
    """Each create, change and delete action of each fact model writes exactly one ``fact_change`` entry, with the
    model, the key and the changed field names, and no BSN, name or date of birth of anyone in the world."""
    police = Organisation.objects.get(slug="politie-rotterdam")
    vt = Organisation.objects.get(slug="veilig-thuis-rr")
    fatima = Person.objects.get(bsn=FATIMA)
    user = User.objects.create_user("new-officer", password="a-long-password-1234")

    def once(action: Any) -> AuditEntry:
        start = head()
        with transaction.atomic():
            action()
        (entry,) = changes_since(start)
        return entry

    steps: list[tuple[str, str, Any]] = []
    person = Person(bsn="999990093", given_name="Nieuw", family_name="Mens", date_of_birth=dt.date(2001, 2, 3))
    steps.append(("consent.person", "create", lambda: family.person_save(person=person, by_user="t")))
    steps.append(
        ("consent.person", "update", lambda: family.person_save(person=_set(person, bsn="999990111"), by_user="t"))
    )
    relation = Relation(person=fatima, other=person, kind="partner")
    steps.append(("consent.relation", "create", lambda: family.relation_save(relation=relation, by_user="t")))
    steps.append(
        (
            "consent.relation",
            "update",
            lambda: family.relation_save(relation=_set(relation, kind="ex_partner"), by_user="t"),
        )
    )
    case = Case(reference="CHGK-TEST-0001", type="test", phase="report", lead_organisation=vt)
    steps.append(("consent.case", "create", lambda: family.case_save(case=case, by_user="t", participants=[vt])))
    steps.append(
        ("consent.case", "update", lambda: family.case_save(case=case, by_user="t", participants=[vt, police]))
    )
    role = CasePerson(case=case, person=person, role="victim")
    steps.append(("consent.caseperson", "create", lambda: family.case_role_save(case_person=role, by_user="t")))
    steps.append(
        (
            "consent.caseperson",
            "update",
            lambda: family.case_role_save(case_person=_set(role, role="suspect"), by_user="t"),
        )
    )
    measure = Measure(case=case, person=person, kind="house_ban", organisation=police, valid_from=dt.date(2026, 1, 1))
    steps.append(("consent.measure", "create", lambda: family.measure_save(measure=measure, by_user="t")))
    steps.append(
        (
            "consent.measure",
            "update",
            lambda: family.measure_save(measure=_set(measure, valid_until=dt.date(2026, 2, 1)), by_user="t"),
        )
    )
    steps.append(("consent.measure", "delete", lambda: family.measure_delete(measure=measure, by_user="t")))
    steps.append(("consent.caseperson", "delete", lambda: family.case_role_delete(case_person=role, by_user="t")))
    steps.append(("consent.relation", "delete", lambda: family.relation_delete(relation=relation, by_user="t")))
    profile = OfficerProfile(user=user, organisation=vt)
    steps.append(("audit.officerprofile", "create", lambda: officer_profile_save(profile=profile, by_user="t")))
    steps.append(
        (
            "audit.officerprofile",
            "update",
            lambda: officer_profile_save(profile=_set(profile, organisation=None), by_user="t"),
        )
    )
    steps.append(("audit.officerprofile", "delete", lambda: officer_profile_delete(profile=profile, by_user="t")))
    account = PortalAccount(user=user, person=person)
    steps.append(("portal.portalaccount", "create", lambda: portal_account_save(account=account, by_user="t")))
    steps.append(
        (
            "portal.portalaccount",
            "update",
            lambda: portal_account_save(account=_set(account, email_notifications=False), by_user="t"),
        )
    )
    steps.append(("portal.portalaccount", "delete", lambda: portal_account_delete(account=account, by_user="t")))
    steps.append(("consent.case", "delete", lambda: family.case_delete(case=case, by_user="t")))
    steps.append(("consent.person", "delete", lambda: family.person_delete(person=person, by_user="t")))

    entries = []
    for model, outcome, action in steps:
        entry = once(action)
        assert (entry.detail["model"], entry.outcome, entry.user) == (model, outcome, "t"), (model, outcome)
        assert entry.detail["key"] and entry.reference
        assert outcome == "delete" or entry.detail["fields"], (model, outcome)
        entries.append(entry)
    forbidden = [*personal_values(), "999990093", "999990111", "Nieuw", "Mens", "2001-02-03"]
    for entry in entries:
        for value in forbidden:
            assert value not in entry.leaf, (entry.detail["model"], entry.outcome, value)
    officer = [e for e in entries if e.detail["model"] == "audit.officerprofile"]
    assert officer[1].detail["previous_scope"] == "veilig-thuis-rr" and officer[1].detail["scope"] == "network"
    bsn_change = entries[1]
    assert bsn_change.subject == subject_pseudonym("999990111")
    assert bsn_change.detail["previous_subject"] == subject_pseudonym("999990093")


def _set(obj: Any, **values: Any) -> Any:
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def test_an_update_that_changes_nothing_writes_nothing(db: Any) -> None:
    start = head()
    with transaction.atomic():
        family.case_role_save(case_person=mark_in_case_1(), by_user="t")
        family.person_save(person=Person.objects.get(bsn=MARK), by_user="t")
        family.case_save(
            case=Case.objects.get(reference=CASE_1),
            by_user="t",
            participants=list(Case.objects.get(reference=CASE_1).participants.all()),
        )
    assert changes_since(start) == []


def test_a_person_protected_by_consents_is_not_deleted_and_nothing_is_recorded(db: Any) -> None:
    from django.db.models import ProtectedError

    start = head()
    with pytest.raises(ProtectedError):
        family.person_delete(person=Person.objects.get(bsn=MARK), by_user="t")
    assert Person.objects.filter(bsn=MARK).exists() and mark_in_case_1().role == "suspect"
    assert changes_since(start) == []
