"""No fork after failover (issue 13, item 3): every signed checkpoint is recorded outside the database
(audit/published.py). A database that comes back older than what was published (an asynchronous standby promoted, an
older backup restored) is simulated by rolling the test's transaction back to a savepoint taken before the last
entries and their checkpoint: the database is then exactly as it was, and only the record outside it remembers. Then
signing refuses, a request answers 503 and releases nothing, /readyz says why and the console raises the alarm; a
normal trail is not affected, and costs no statement more."""

from __future__ import annotations

import json
import os
import uuid
from base64 import b64encode
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from audit import published, tasks
from audit.checkpoints import CheckpointError, checkpoint_create
from audit.models import AuditHead, Checkpoint
from audit.published import PublishedCheckpoint, TrailMismatch, published_read, trail_guard, trail_state
from gateway.models import InformationRequest

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="as CI runs it, on PostgreSQL")

ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents", "house_ban"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


@pytest.fixture(autouse=True)
def signing(settings: Any, gnupg_home: Path) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False


def size() -> int:
    return AuditHead.objects.get(pk=1).size


def ask_twice(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    for _ in range(2):
        assert vt.ask(**ASK).status_code == 200


def signed(expected: int | None = None) -> Checkpoint:
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    assert expected is None or checkpoint.tree_size == expected
    return checkpoint


def record_in(path: Path) -> PublishedCheckpoint:
    return PublishedCheckpoint.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def vt(partner: Any) -> Any:
    """A partner with its token, issued while the trail was whole (a token is audited too)."""
    return partner("veilig-thuis-rr")


@pytest.fixture
def rolled_back(vt: Any, partner: Any, settings: Any) -> Iterator[dict[str, int]]:
    """A checkpoint at ``kept``; then more entries and a checkpoint at ``published``, recorded outside the database;
    then the database back to where it was at ``kept``, as a restored older database has it."""
    ask_twice(partner)
    kept = signed(size()).tree_size
    savepoint = transaction.savepoint()
    ask_twice(partner)
    later = signed(size())
    assert record_in(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE).tree_size == later.tree_size
    transaction.savepoint_rollback(savepoint)
    assert size() == kept and not Checkpoint.objects.filter(tree_size=later.tree_size).exists()
    published.forget()  # a process started after the failover: it knows the record only from the store
    yield {"kept": kept, "published": later.tree_size}


# --- A normal trail ------------------------------------------------------------------------------------------------


def test_every_signed_checkpoint_is_recorded_outside_the_database_before_it_is_given_out(
    partner: Any, settings: Any
) -> None:
    ask_twice(partner)
    first = signed()
    record = record_in(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE)
    assert (record.tree_size, record.root_hash, record.body) == (first.tree_size, first.root_hash, first.body)
    assert record.signature == first.signature and record.origin == settings.GATEWAY_AUDIT_ORIGIN
    ask_twice(partner)
    second = signed()
    assert record_in(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE).tree_size == second.tree_size > first.tree_size
    state = trail_state()
    assert state.ok and state.code == "consistent" and state.published_size == second.tree_size
    ready = Client().get("/readyz")
    assert ready.json()["checks"]["trail"] == {"ok": True, "required": True, "detail": "ok"}
    assert partner("veilig-thuis-rr").ask(**ASK).status_code == 200


def test_a_store_that_lost_the_record_gets_it_again_from_the_next_run(partner: Any, settings: Any) -> None:
    ask_twice(partner)
    checkpoint = signed()
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.unlink()
    assert checkpoint_create() is None  # nothing new to sign: the latest checkpoint is recorded again
    assert record_in(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE).tree_size == checkpoint.tree_size


@pytest.mark.usefixtures("committed_world")
def test_with_a_published_checkpoint_a_request_still_costs_at_most_10_statements(partner: Any, settings: Any) -> None:
    """The check reads the record and the trail once every GATEWAY_TRAIL_CHECK_SECONDS per process (here the first
    request does); every request in between only compares its index with the published size. Committed, as
    tests/gateway/test_query_budget.py counts, so that the policy kept per process is used."""
    ask_twice(partner)
    signed()
    settings.GATEWAY_TRAIL_CHECK_SECONDS = 300
    vt = partner("veilig-thuis-rr")
    published.forget()
    with CaptureQueriesContext(connection) as first:
        assert vt.ask(**ASK).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert vt.ask(**ASK).status_code == 200
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    work = [q["sql"] for q in second.captured_queries if not q["sql"].strip().upper().startswith(control)]
    assert len(work) <= 10, work
    assert len(first.captured_queries) == len(second.captured_queries) + 2  # the head's size and the tree's root


def test_a_record_that_fails_its_hmac_is_ignored_and_stops_nothing(partner: Any, settings: Any) -> None:
    """Someone who can write to a store but lacks SECRET_KEY cannot stop the gateway with an invented size."""
    ask_twice(partner)
    checkpoint = signed()
    forged = json.loads(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.read_text())
    forged["tree_size"] = checkpoint.tree_size + 1000
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.write_text(json.dumps(forged))
    published.forget()
    read = published_read()
    assert read.records == () and "HMAC" in read.problems[0]
    assert trail_state().ok
    assert partner("veilig-thuis-rr").ask(**ASK).status_code == 200
    signed()  # and the next checkpoint replaces the forged record
    assert record_in(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE).tree_size == size()


# --- A database that came back older -------------------------------------------------------------------------------


def test_signing_refuses_a_trail_shorter_than_the_published_checkpoint(
    rolled_back: dict[str, int], partner: Any
) -> None:
    with pytest.raises(CheckpointError, match=f"holds {rolled_back['kept']} entries, but a checkpoint at"):
        checkpoint_create()
    with pytest.raises(CheckpointError, match="not signing"):
        tasks.checkpoint_sign()  # the beat's task is the same call
    assert Checkpoint.objects.order_by("-tree_size").first().tree_size == rolled_back["kept"]  # type: ignore[union-attr]


def test_a_request_on_a_shorter_trail_answers_503_and_releases_nothing(rolled_back: dict[str, int], vt: Any) -> None:
    before = (size(), InformationRequest.objects.count())
    response = vt.ask(**ASK)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "audit_unavailable" and "data" not in body and "decisions" not in body
    assert (size(), InformationRequest.objects.count()) == before  # no entry, no request, nothing released
    with pytest.raises(TrailMismatch, match="published"):
        trail_guard()
    token = Client().post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic " + b64encode(b"veilig-thuis-rr:demo-secret-veilig-thuis-rr").decode(),
    )
    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"  # no token either
    assert size() == before[0]


def test_the_process_that_lived_through_the_failover_refuses_at_once(vt: Any, partner: Any, settings: Any) -> None:
    """A process that checked the trail a moment before the database went back needs no new check: the index its
    next append is given is below the published size, and that alone refuses it."""
    ask_twice(partner)
    signed()
    savepoint = transaction.savepoint()
    ask_twice(partner)
    later = signed()
    settings.GATEWAY_TRAIL_CHECK_SECONDS = 300
    published.forget()
    assert trail_guard().state.published_size == later.tree_size  # checked and kept while the trail was whole
    transaction.savepoint_rollback(savepoint)
    before = size()
    assert vt.ask(**ASK).status_code == 503
    assert size() == before
    kept = published._kept
    assert kept is not None and kept.state.ok  # no new check was made: the index alone refused


def test_readyz_says_why(rolled_back: dict[str, int]) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    trail = response.json()["checks"]["trail"]
    assert trail["ok"] is False and trail["required"] is True
    assert trail["detail"].startswith("behind: the audit trail is shorter than the last published checkpoint")


def test_the_console_raises_the_alarm_on_every_page(rolled_back: dict[str, int]) -> None:
    officer = Client()
    officer.force_login(User.objects.get(username="privacy"))
    page = officer.get("/privacy/verification/")
    assert page.status_code == 200
    alarm = page.context["trail_alarm"]
    assert "does not hold the last published checkpoint" in alarm
    assert f"holds {rolled_back['kept']} entries, but a checkpoint at {rolled_back['published']}" in alarm
    assert escape(alarm) in page.content.decode()
    search = officer.get("/privacy/")  # a search is audited: refused, and the page says why
    assert search.status_code == 503 and "does not hold the last published checkpoint" in search.content.decode()
    assert "trail_alarm" not in Client().get("/privacy/login/").context  # not told to a stranger


def test_another_history_at_the_published_size_is_refused_too(
    rolled_back: dict[str, int], vt: Any, settings: Any, tmp_path: Path
) -> None:
    """The older database went on taking entries before anyone looked (the record was out of reach): its trail is now
    longer than the published checkpoint, but holds another history at that size."""
    record = settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE = tmp_path / "out-of-reach.json"
    for _ in range(3):
        assert vt.ask(**ASK).status_code == 200
    assert size() > rolled_back["published"]
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE = record
    published.forget()
    state = trail_state()
    assert state.code == "diverged" and "holds another history" in state.reason
    with pytest.raises(CheckpointError, match="another history"):
        checkpoint_create()
    before = size()
    assert vt.ask(**ASK).status_code == 503
    assert size() == before
    assert Client().get("/readyz").json()["checks"]["trail"]["detail"].startswith("diverged")


def test_the_refusal_is_computed_not_stored(rolled_back: dict[str, int], vt: Any, settings: Any) -> None:
    """Nothing in the database records the refusal: once the record no longer claims more than the trail holds (the
    lost entries brought back; or, after a declared loss, the record moved aside and the processes restarted), the
    next check lets everything through again."""
    assert vt.ask(**ASK).status_code == 503
    aside = settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.with_suffix(".lost-entries")
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.rename(aside)
    published.forget()
    assert vt.ask(**ASK).status_code == 200
    assert checkpoint_create() is not None


def test_the_command_says_which(rolled_back: dict[str, int], settings: Any) -> None:
    """``manage.py audit_checkpoint --status``: what the drill and an operator run to see the state."""
    with pytest.raises(CommandError, match=f"behind: the audit trail holds {rolled_back['kept']} entries"):
        call_command("audit_checkpoint", "--status", stdout=StringIO())
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.unlink()
    published.forget()
    out = StringIO()
    call_command("audit_checkpoint", "--status", stdout=out)
    assert "tree size none" in out.getvalue() and "nothing_published" in out.getvalue()


def test_a_redis_store_too_and_either_store_is_enough(vt: Any, partner: Any, settings: Any) -> None:
    """With GATEWAY_PUBLISHED_CHECKPOINT_REDIS (nodes without shared storage), the record is in both stores; either
    one alone still stops a shorter trail, and the one that lost it gets it again from the next run."""
    import redis

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("needs a Redis (CELERY_BROKER_URL)")
    settings.GATEWAY_PUBLISHED_CHECKPOINT_REDIS = url
    settings.GATEWAY_AUDIT_ORIGIN = f"veilig-delen.test/{uuid.uuid4().hex}"  # a key of this test's own
    client = redis.Redis.from_url(url)
    key = published.REDIS_KEY.format(origin=settings.GATEWAY_AUDIT_ORIGIN)
    try:
        ask_twice(partner)
        kept = signed()
        assert PublishedCheckpoint.loads(client.get(key).decode()).tree_size == kept.tree_size  # type: ignore[union-attr]
        client.delete(key)  # a Redis restarted without its data
        assert checkpoint_create() is None
        assert PublishedCheckpoint.loads(client.get(key).decode()).tree_size == kept.tree_size  # type: ignore[union-attr]
        savepoint = transaction.savepoint()
        ask_twice(partner)
        later = signed()
        transaction.savepoint_rollback(savepoint)
        settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE.unlink()  # a node without the shared folder: Redis alone
        published.forget()
        state = trail_state()
        assert state.code == "behind" and state.published_size == later.tree_size
        assert vt.ask(**ASK).status_code == 503
    finally:
        client.delete(key)
