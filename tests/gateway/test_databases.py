"""Reads can leave the primary (issue 13, item 6; gateway/databases.py): with a standby that lags, an audited action
(a request decision) sees the primary's current consent and restriction data, while a console page that decides
nothing may read the standby.

The lagging standby is a copy of the committed test database made with ``CREATE DATABASE ... TEMPLATE`` (and made
read-only, as a hot standby is) before a consent is withdrawn and an address shielded on the primary: what a standby
whose replay is behind holds."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from audit.models import AuditHead, VerificationRun
from consent.models import Consent, Organisation, Person, Restriction
from consent.restrictions import restriction_set
from gateway.databases import (
    PIN_COOKIE,
    PRIMARY,
    STANDBY,
    PrimaryRouter,
    StandbyPinMiddleware,
    StandbyReadInAction,
    read_on_standby,
    standby,
)

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a standby of PostgreSQL")

FATIMA, MARK = "999990044", "999990019"
HEALTH = {
    "subject": {"bsn": FATIMA},
    "categories": ["health_summary"],
    "purpose": "care_coordination",
    "case_reference": "CHGK-RR-2026-0002",
    "providers": {"health_summary": "ggz-rijnmond"},
}
ADDRESS = {
    "subject": {"bsn": MARK},
    "categories": ["address"],
    "purpose": "zvh_case_meeting",
    "case_reference": "CHGK-RR-2026-0001",
}


def _admin() -> psycopg.Connection[Any]:
    primary = connections[PRIMARY].settings_dict
    return psycopg.connect(
        host=primary["HOST"] or "127.0.0.1",
        port=primary["PORT"] or 5432,
        user=primary["USER"],
        password=primary["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _all_databases() -> list[dict[str, Any]]:
    """The settings' DATABASES and the connection handler's (one dict unless a test replaced the setting)."""
    return list({id(d): d for d in (connections.settings, django_settings.DATABASES)}.values())


def _standby_close() -> None:
    connections[STANDBY].close()
    del connections[STANDBY]  # the next use connects anew, with the settings as they are then


@pytest.fixture(scope="module", autouse=True)
def standby_alias(django_db_setup: Any) -> Iterator[str]:
    """The alias ``replica`` for this module's tests, named before their database fixtures check which aliases a
    test may use. A mirror of ``default`` to the test runner: it neither creates nor flushes it."""
    primary = connections[PRIMARY].settings_dict
    name = f"{primary['NAME']}_standby"
    for databases in _all_databases():
        databases[STANDBY] = {**primary, "NAME": name, "TEST": {**primary["TEST"], "MIRROR": PRIMARY}}
    yield name
    _standby_close()
    for databases in _all_databases():
        databases.pop(STANDBY, None)
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


uses_standby = pytest.mark.django_db(transaction=True, databases=[PRIMARY, STANDBY])


@pytest.fixture
def lagging_standby(committed_world: Any, standby_alias: str) -> str:
    """A read-only copy of the committed primary as it is now, where the alias ``replica`` points."""
    primary = connections[PRIMARY].settings_dict["NAME"]
    connections.close_all()  # CREATE DATABASE ... TEMPLATE needs the template without sessions
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{standby_alias}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{standby_alias}" TEMPLATE "{primary}"')
        admin.execute(f'ALTER DATABASE "{standby_alias}" SET default_transaction_read_only = on')
    return standby_alias


def officer() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="privacy"))
    return client


@uses_standby
def test_an_audited_action_reads_the_primary_while_a_console_page_reads_the_lagging_standby(
    lagging_standby: str, partner: Any, settings: Any
) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    gemeente, ggz, police = partner("gemeente-rotterdam"), partner("ggz-rijnmond"), partner("politie-rotterdam")
    standby_size = AuditHead.objects.using(STANDBY).get(pk=1).size

    # On the primary only: Fatima's consent withdrawn, Mark's address shielded. The standby has not replayed them.
    (consent,) = Consent.objects.filter(subject_bsn=FATIMA, status="active", categories__code="health_summary")
    withdrawn = ggz.post(f"/api/v1/consents/{consent.pk}/withdraw", {"reason": "She no longer wants this."})
    assert withdrawn.status_code == 200, withdrawn.content
    restriction = restriction_set(
        person=Person.objects.get(bsn=MARK),
        kind="shielded_address",
        set_by=Organisation.objects.get(slug="veilig-thuis-rr"),
        set_by_user="vt-017",
        reason="Moved to a protected address after threats.",
        allowed_organisations=["veilig-thuis-rr"],
        review_date=dt.date(2027, 6, 1),
    )
    assert Consent.objects.using(STANDBY).get(pk=consent.pk).status == "active"
    assert not Restriction.objects.using(STANDBY).filter(pk=restriction.pk).exists()

    # The audited actions decide on the primary's data, and send the standby not one query.
    with CaptureQueriesContext(connections[STANDBY]) as on_standby:
        health = gemeente.ask(**HEALTH).json()
        address = police.ask(**ADDRESS).json()
    assert on_standby.captured_queries == []
    assert health["status"] == "denied" and health["data"] == {}
    assert [r["code"] for r in health["decisions"][0]["reasons"]] == ["consent_withdrawn"]
    assert address["status"] == "denied" and address["data"] == {}
    assert [r["code"] for r in address["decisions"][0]["reasons"]] == ["restricted"]

    # A console page that decides nothing reads the standby: the trail's size there is the older one.
    console = officer()
    with CaptureQueriesContext(connections[STANDBY]) as on_standby:
        page = console.get("/privacy/verification/")
    assert page.status_code == 200 and on_standby.captured_queries
    primary_size = AuditHead.objects.get(pk=1).size
    assert page.context["trail_size"] == standby_size < primary_size

    # After this browser changes something it reads the primary (its own change shows), for a while.
    started = console.post("/privacy/verification/start/")
    assert started.status_code == 302 and PIN_COOKIE in started.cookies
    run = console.get(started["Location"])
    assert run.status_code == 200 and run.context["run"].pk == VerificationRun.objects.get().pk
    with CaptureQueriesContext(connections[STANDBY]) as on_standby:
        pinned = console.get("/privacy/verification/")
    assert pinned.context["trail_size"] == AuditHead.objects.get(pk=1).size and not on_standby.captured_queries
    # Another officer, who changed nothing, still gets the standby, where the run does not exist yet: its page falls
    # back to the primary for it.
    other = officer()
    assert other.get(started["Location"]).context["run"].pk == run.context["run"].pk
    assert other.get("/privacy/verification/").context["trail_size"] == standby_size


@uses_standby
def test_inside_an_action_nothing_reads_the_standby(lagging_standby: str) -> None:
    assert standby() == STANDBY
    with transaction.atomic():
        assert standby() == PRIMARY  # every audited action runs in a transaction on the primary
        with pytest.raises(StandbyReadInAction):
            VerificationRun.objects.using(STANDBY).count()  # even a read marked for the standby by hand
    marked = AuditHead.objects.using(standby()).filter(pk=1)  # marked before the action, evaluated inside it
    with transaction.atomic(), pytest.raises(StandbyReadInAction):
        list(marked)
    row = AuditHead.objects.using(STANDBY).get(pk=1)
    router = PrimaryRouter()
    assert router.db_for_write(AuditHead, instance=row) == PRIMARY  # saved on the primary, wherever it was read
    assert router.db_for_read(AuditHead, instance=row) == STANDBY  # its related rows: the same (older) view
    with transaction.atomic():
        assert router.db_for_read(AuditHead, instance=row) == PRIMARY  # but not inside an action


@uses_standby
def test_a_standby_that_cannot_be_reached_costs_the_primary_a_read(
    committed_world: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _standby_close()
    monkeypatch.setitem(connections.settings[STANDBY], "NAME", "vd_no_such_standby")
    try:
        assert standby() == STANDBY
        assert read_on_standby(lambda db: (db, AuditHead.objects.using(db).get(pk=1).size)) == (
            PRIMARY,
            AuditHead.objects.get(pk=1).size,
        )
        settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
        assert officer().get("/privacy/verification/").status_code == 200
    finally:
        _standby_close()


def test_without_a_standby_everything_reads_the_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database needed: the alias is looked up, never connected to."""
    for databases in _all_databases():
        monkeypatch.delitem(databases, STANDBY)
    assert standby() == PRIMARY
    seen: list[str] = []

    def page(request: Any) -> HttpResponse:
        seen.append(standby())
        return HttpResponse()

    response = StandbyPinMiddleware(page)(RequestFactory().post("/privacy/verification/start/"))
    assert seen == [PRIMARY] and PIN_COOKIE not in response.cookies  # no standby, no pinning


def test_a_browser_that_wrote_reads_the_primary_for_a_while(settings: Any) -> None:
    settings.GATEWAY_STANDBY_PIN_SECONDS = 30
    seen: list[str] = []

    def page(request: Any) -> HttpResponse:
        seen.append(standby())
        return HttpResponse()

    pin = StandbyPinMiddleware(page)
    wrote = pin(RequestFactory().post("/privacy/reviews/1/"))
    cookie = wrote.cookies[PIN_COOKIE]
    assert seen == [PRIMARY] and cookie["max-age"] == 30 and cookie["httponly"]
    assert 25 < float(cookie.value) - time.time() <= 30
    factory = RequestFactory()
    factory.cookies[PIN_COOKIE] = cookie.value
    pin(factory.get("/privacy/reviews/"))
    pin(RequestFactory().get("/privacy/reviews/"))  # another browser, or this one after the time
    assert seen == [PRIMARY, PRIMARY, STANDBY]
    assert PIN_COOKIE not in pin(RequestFactory().post("/api/v1/requests")).cookies  # the API reads no marked query
