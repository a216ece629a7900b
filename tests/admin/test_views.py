"""Admin views of personal data are audited like the console's (issue #9, item 6): every list, form, delete
confirmation and history page over persons, cases, consents, restrictions, requests, pending items, reviews, the
trail, officers and portal accounts writes one ``admin_view`` entry before it is shown, or is not shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models

from audit import admin as audit_admin
from audit.admin import AuditedViewsAdmin
from audit.ledger import AuditWriteError
from audit.models import AuditEntry, AuditHead
from audit.pseudonym import subject_pseudonym
from consent.models import Person
from tests.admin.clients import verified_admin_client
from tests.admin.walk import model_pages
from tests.emergency import released_emergency

MARK, LOTTE = "999990019", "999990032"

#: Every model whose admin pages show personal data, with whether its object page names a person (a pseudonym).
PERSONAL: dict[str, bool] = {
    "consent.person": True,
    "consent.case": False,  # a case is its reference; its persons appear on it by key
    "consent.consent": True,
    "consent.restriction": True,
    "gateway.informationrequest": True,
    "gateway.pendingitem": True,
    "gateway.emergencyreview": True,
    "gateway.builtinrecord": True,
    "audit.auditentry": True,
    "audit.officerprofile": False,
    "portal.portalaccount": True,
    "auth.user": False,  # portal users are family members: names and e-mail addresses
}

#: Every other registered model, and why its pages need no ``admin_view`` entry.
NOT_PERSONAL: dict[str, str] = {
    "consent.sector": "policy catalogue",
    "consent.organisation": "policy catalogue",
    "consent.datacategory": "policy catalogue",
    "consent.purpose": "policy catalogue",
    "consent.legalbasis": "policy catalogue",
    "consent.sharingrule": "policy catalogue",
    "consent.consentagerule": "policy catalogue",
    "consent.policyversion": "snapshots of the policy catalogue",
    "gateway.holderendpoint": "configuration",
    "gateway.webhookendpoint": "configuration",
    "gateway.webhookdelivery": "request ids and statuses, no person",
    "gateway.application": "OAuth clients of organisations",
    "oauth2_provider.accesstoken": "tokens of organisations' clients",
    "oauth2_provider.refreshtoken": "tokens of organisations' clients",
    "oauth2_provider.grant": "tokens of organisations' clients",
    "oauth2_provider.idtoken": "tokens of organisations' clients",
    "otp_totp.totpdevice": "staff authenticators",
    "auth.group": "staff groups",
    "auditlog.logentry": "history of the configuration",
    "axes.accessattempt": "login attempts, kept by django-axes",
    "axes.accesslog": "login attempts, kept by django-axes",
    "axes.accessfailurelog": "login attempts, kept by django-axes",
}


@pytest.fixture
def client(db: Any) -> Any:
    return verified_admin_client(User.objects.get(username="admin"))


@pytest.fixture
def world(partner: Any) -> None:
    """A pending item (a school decides) and an emergency review, so every personal page has an object."""
    vt = partner("veilig-thuis-rr")
    pending = vt.ask(
        subject={"bsn": LOTTE},
        categories=["school_attendance"],
        purpose="vt_safety_assessment",
        providers={"school_attendance": "school-regenboog"},
    )
    assert pending.status_code == 202, pending.content
    released_emergency(  # Veilig Thuis weighs it in the urgent lane (issue 11), then the review waits
        partner,
        "slachtofferhulp",
        subject={"bsn": MARK},
        categories=["risk_assessment"],
        purpose="acute_danger",
        emergency=True,
        justification="Seen outside the shelter; act now.",
    )


def views_since(start: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(index__gte=start, kind="admin_view").order_by("index"))


def head() -> int:
    return AuditHead.objects.get(pk=1).size


def registered() -> dict[str, type[models.Model]]:
    return {model._meta.label_lower: model for model in admin.site._registry}


def test_every_registered_model_is_classified_and_personal_ones_are_audited(db: Any) -> None:
    """The general guard: a model registered later without saying whether its pages show personal data fails."""
    labels = set(registered())
    assert labels - set(PERSONAL) - set(NOT_PERSONAL) == set(), "classify the new admin pages here"
    assert set(PERSONAL) | set(NOT_PERSONAL) >= labels
    for label in PERSONAL:
        assert isinstance(admin.site._registry[registered()[label]], AuditedViewsAdmin), label


@pytest.mark.parametrize("label", sorted(PERSONAL))
def test_each_page_of_personal_data_writes_one_admin_view_first(label: str, client: Any, world: None) -> None:
    model = registered()[label]
    pages = model_pages(model)
    first = model._default_manager.order_by("pk").first()
    assert first is not None
    keys = admin.site._registry[model].view_keys(first)
    for page in pages:
        start = head()
        response = client.get(page)
        if response.status_code == 403:  # an add or delete page of a read-only model: nothing shown
            assert views_since(start) == [], page
            continue
        assert response.status_code == 200, (page, response.status_code)
        (view,) = views_since(start)
        assert view.user == "admin" and view.detail["model"] == label
        outcome = page.rstrip("/").rsplit("/", 1)[-1]
        expected = {"add": "add", "change": "change", "history": "history", "delete": "delete"}.get(outcome, "list")
        assert view.outcome == expected, page
        if expected in ("change", "history", "delete"):
            assert view.reference == keys.reference and view.detail["rows"] == 1
            assert view.subject == keys.subject
            assert (view.subject is not None) == PERSONAL[label] or label == "audit.auditentry"
        if expected == "list":
            assert view.detail["rows"] >= 1
        for person in Person.objects.all():
            assert person.bsn not in view.leaf and person.family_name not in view.leaf


def test_a_list_names_the_pseudonyms_it_shows_and_the_parameters_not_their_values(client: Any) -> None:
    start = head()
    response = client.get("/admin/consent/person/", {"o": "2", "able_to_judge__exact": "1"})
    assert response.status_code == 200
    (view,) = views_since(start)
    shown = list(response.context["cl"].result_list)
    assert view.detail["rows"] == len(shown) > 1
    assert set(view.detail["subjects"]) == {subject_pseudonym(p.bsn) for p in shown}
    assert subject_pseudonym(MARK) in view.detail["subjects"]
    assert view.detail["params"] == ["able_to_judge__exact", "o"]


def test_a_page_that_cannot_be_recorded_is_not_shown(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(draft: Any) -> AuditEntry:
        raise AuditWriteError("the trail is down")

    monkeypatch.setattr(audit_admin, "audit_append", refuse)
    mark = Person.objects.get(bsn=MARK)
    for page in ("/admin/consent/person/", f"/admin/consent/person/{mark.pk}/change/", "/admin/audit/auditentry/"):
        response = client.get(page)
        assert response.status_code == 503, page
        assert mark.family_name.encode() not in response.content and MARK.encode() not in response.content


def test_a_person_is_found_by_a_posted_bsn_and_the_address_holds_only_the_key(client: Any) -> None:
    mark = Person.objects.get(bsn=MARK)
    assert admin.site._registry[Person].search_fields == ()  # no search box: it would put the BSN in the address
    start = head()
    found = client.post("/admin/consent/person/find/", {"bsn": MARK})
    assert found.status_code == 303 and found["Location"] == f"/admin/consent/person/{mark.pk}/change/"
    (view,) = views_since(start)
    assert (view.outcome, view.subject, view.detail["rows"]) == ("find", subject_pseudonym(MARK), 1)
    unknown = client.post("/admin/consent/person/find/", {"bsn": "999990123"})
    assert unknown.status_code == 404 and b"No person with this BSN is known" in unknown.content
    assert views_since(start)[-1].subject == subject_pseudonym("999990123")
    invalid = client.post("/admin/consent/person/find/", {"bsn": "123"})
    assert invalid.status_code == 400 and len(views_since(start)) == 2
    listing = client.get("/admin/consent/person/").content.decode()
    assert 'href="/admin/consent/person/find/"' in listing and 'name="q"' not in listing
