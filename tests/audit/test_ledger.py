"""The audit trail as written by the request flow (audit.md): one entry per event, in its transaction,
canonical leaves, gapless indices, append-only tables, and no release when the entry cannot be written."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import rfc8785
from django.db import DatabaseError, connection, transaction

from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append, audit_append_many, leaf_object_of
from audit.models import AuditEntry, AuditHead
from audit.verification import verify_trail
from gateway.models import InformationRequest

MARK = "999990019"
ASK = {
    "subject": {"bsn": MARK},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def test_every_request_writes_one_canonical_entry(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    before = AuditEntry.objects.filter(kind="request").count()
    body = vt.ask(**ASK).json()
    entry = AuditEntry.objects.get(index=body["audit"]["index"])
    assert AuditEntry.objects.filter(kind="request").count() == before + 1
    assert entry.leaf.encode() == rfc8785.dumps(leaf_object_of(entry))
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + entry.leaf.encode()).hexdigest() == body["audit"]["leaf_hash"]
    assert entry.reference == body["id"]
    assert entry.policy_version == InformationRequest.objects.get(id=body["id"]).policy_version_id
    (decision,) = entry.decisions
    assert decision["fields"] and decision["payload_sha256"]
    assert decision["rule"] == body["decisions"][0]["rule"]


def test_a_request_and_its_idempotency_digest_take_the_fast_encoder(partner: Any, monkeypatch: Any) -> None:
    """The leaves and the body digest of a request are plain JSON (no enum member, no float), so the standard
    library's encoder writes their RFC 8785 bytes; the ``rfc8785`` package is not needed on the hot path."""
    vt = partner("veilig-thuis-rr")

    def refuse(value: Any) -> bytes:
        raise AssertionError(f"slow path taken for {value!r:.120}")

    monkeypatch.setattr("audit.canonical.rfc8785", SimpleNamespace(dumps=refuse))
    response = vt.post("/api/v1/requests", ASK, headers={"Idempotency-Key": "fast-path-1"})
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(index=response.json()["audit"]["index"])
    monkeypatch.undo()
    assert entry.leaf.encode() == rfc8785.dumps(leaf_object_of(entry))


def test_entries_appended_together_are_what_appending_them_one_by_one_gives(partner: Any) -> None:
    """``audit_append_many``: consecutive indices in the order given, one time, canonical leaves, and a tree (every
    node row, the head's frontier) that verification accepts as it accepts entries appended one at a time."""
    partner("veilig-thuis-rr")  # a token entry first, so the trail does not start empty
    drafts = [
        EntryDraft(kind=kind, actor=Actor(organisation="veilig-thuis-rr"), reference=f"ref-{n}", outcome=kind)
        for n, kind in enumerate(["intent", "request", "check", "intent", "request"])
    ]
    with transaction.atomic():
        one = audit_append(drafts[0])
        together = audit_append_many(drafts[1:4])
        last = audit_append(drafts[4])
    indices = [one.index, *(e.index for e in together), last.index]
    assert indices == list(range(one.index, one.index + 5))
    assert len({e.at for e in together}) == 1
    stored = AuditEntry.objects.filter(index__in=indices).order_by("index")
    assert [e.reference for e in stored] == [f"ref-{n}" for n in range(5)]
    for entry in stored:
        assert entry.leaf.encode() == rfc8785.dumps(leaf_object_of(entry))
        assert set(entry.facets.values_list("key", "value")) == {("requester", "veilig-thuis-rr")}
    assert AuditHead.objects.get().size == last.index + 1
    result = verify_trail()
    assert result.ok and result.entries_checked == last.index + 1, result.failure


def test_appending_nothing_or_an_unknown_kind_writes_nothing(db: Any) -> None:
    size = AuditHead.objects.get().size
    with pytest.raises(AuditWriteError), transaction.atomic():
        audit_append_many([])
    with pytest.raises(AuditWriteError), transaction.atomic():
        audit_append_many([EntryDraft(kind="check", actor=Actor()), EntryDraft(kind="gossip", actor=Actor())])
    assert AuditHead.objects.get().size == size


def test_token_issuance_is_audited(partner: Any) -> None:
    partner("politie-rotterdam")
    entry = AuditEntry.objects.filter(kind="token").latest("index")
    assert entry.organisation == entry.client_id == "politie-rotterdam"
    assert "requests" in entry.detail["scope"]


def test_indices_are_gapless_also_after_a_rolled_back_write(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    vt.ask(**ASK)
    with pytest.raises(RuntimeError), transaction.atomic():
        from audit.ledger import Actor, EntryDraft, audit_append

        audit_append(EntryDraft(kind="check", actor=Actor(organisation="x")))
        raise RuntimeError("the event failed after its entry was written")
    vt.ask(**ASK)
    indices = list(AuditEntry.objects.values_list("index", flat=True))
    assert indices == list(range(len(indices)))
    assert AuditHead.objects.get().size == len(indices)


def test_an_audit_write_failure_releases_nothing(partner: Any) -> None:
    """Fail closed: if the entry cannot be written, the response is 503 and carries no data."""
    vt = partner("veilig-thuis-rr")
    AuditHead.objects.update(size=0)  # the next index collides with an existing entry: the insert fails
    response = vt.ask(**ASK)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert "data" not in response.json()
    assert "police_incidents" not in response.content.decode()
    assert InformationRequest.objects.count() == 0


def test_entries_cannot_be_updated_or_deleted(partner: Any) -> None:
    partner("veilig-thuis-rr").ask(**ASK)
    table = AuditEntry._meta.db_table
    for statement in (f"UPDATE {table} SET outcome = 'denied'", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    with pytest.raises(DatabaseError):
        AuditEntry.objects.filter(kind="request").update(outcome="denied")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused_on_postgresql(db: Any) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {AuditEntry._meta.db_table} CASCADE")  # past the foreign keys, to the trigger


def test_sqlite_triggers_refuse_changes_too(tmp_path: Path) -> None:
    """The embedded default gets the same protection: migrate a fresh SQLite database and try."""
    database = tmp_path / "audit.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    db = sqlite3.connect(database)
    db.execute(
        'INSERT INTO audit_auditentry ("index", kind, at, emergency, decisions, detail, leaf, leaf_hash) '
        "VALUES (0, 'check', '2026-11-24 00:00:00', 0, '[]', '{}', '{}', 'x')"
    )
    db.commit()
    for statement in ("UPDATE audit_auditentry SET kind = 'request'", "DELETE FROM audit_auditentry"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)
    assert db.execute("SELECT kind FROM audit_auditentry").fetchall() == [("check",)]


def test_the_trails_time_never_runs_back(partner: Any) -> None:
    """If the clock steps back, the next entry takes the last entry's time: index order is time order, which the
    console's period search relies on."""
    import datetime as dt

    from django.utils import timezone

    vt = partner("veilig-thuis-rr")
    ahead = timezone.now() + dt.timedelta(hours=1)
    AuditHead.objects.update(last_at=ahead)  # as if the previous entry was written before the clock stepped back
    body = vt.ask(**ASK).json()
    entry = AuditEntry.objects.get(index=body["audit"]["index"])
    assert entry.at == ahead.replace(microsecond=(ahead.microsecond // 1000) * 1000) or entry.at == ahead
    assert AuditHead.objects.get().last_at == entry.at
    ats = list(AuditEntry.objects.order_by("index").values_list("at", flat=True))
    assert ats == sorted(ats)
