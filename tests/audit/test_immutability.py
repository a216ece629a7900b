"""Immutability in the database (audit.md; issue item 5): on PostgreSQL the application runs as a role that does not
own the audit tables and has no UPDATE, DELETE or TRUNCATE on them (``audit_grant_app_role``), and the triggers
refuse those statements to everyone else, the owner included."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.checkpoints import checkpoint_create
from audit.config_trail import config_actor
from audit.immutability import APPEND_ONLY_TABLES, MUTABLE_AUDIT_TABLES
from audit.models import AuditEntry
from consent.models import Organisation

PROJECT = Path(__file__).resolve().parents[2]
ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
AUDIT_TABLES = (*APPEND_ONLY_TABLES, *MUTABLE_AUDIT_TABLES)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles, privileges and TRUNCATE triggers are PostgreSQL's"
)


def primary_key(table: str) -> str:
    with connection.cursor() as cursor:
        column = connection.introspection.get_primary_key_column(cursor, table)
    assert column
    return connection.ops.quote_name(column)


def changes(table: str) -> list[str]:
    """An UPDATE and a DELETE that touch every row, and a TRUNCATE."""
    pk = primary_key(table)
    return [
        f"UPDATE {table} SET {pk} = {pk}",
        f"DELETE FROM {table}",
        f"TRUNCATE {table} CASCADE",
    ]  # CASCADE: past the foreign keys, to the trigger


def connect_as(role: str) -> psycopg.Connection[Any]:
    """A connection of our own to the test database as ``role`` (the server trusts 127.0.0.1)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signing key for the module: gpg key generation is the slow part of a checkpoint."""
    return tmp_path_factory.mktemp("gnupg")


@pytest.fixture
def history(partner: Any, settings: Any, keyring: Path) -> None:
    """A row in every append-only table: entries and tree nodes from a request, a checkpoint and its key
    record, and a django-auditlog entry from a configuration change."""
    settings.GATEWAY_GNUPGHOME = keyring
    assert partner("veilig-thuis-rr").ask(**ASK).status_code == 200
    with config_actor("system:test"), transaction.atomic():
        organisation = Organisation.objects.get(slug="veilig-thuis-rr")
        organisation.name += " (test)"
        organisation.save()
    assert checkpoint_create() is not None


@pytest.fixture
def app_role(committed_world: Any) -> Iterator[str]:
    """A fresh login role granted by the command, in a committed world so that other connections see it."""
    role = f"vd_app_test_{secrets.token_hex(4)}"
    call_command("audit_grant_app_role", role, "--create", stdout=io.StringIO())
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


# --- The triggers: nobody changes history, not even the owner ------------------------------------------------


@postgres_only
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_owner_cannot_update_delete_or_truncate_either(history: None, table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone()[0] > 0  # a row-level trigger fires only on rows
    for statement in changes(table):
        with (
            pytest.raises(DatabaseError, match=f"append-only: (UPDATE|DELETE|TRUNCATE) on {table} refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            # The test's own transaction holds deferred foreign-key checks of rows it wrote (django-auditlog's
            # entries), and PostgreSQL refuses to TRUNCATE a table with pending trigger events before any
            # trigger runs: run those checks now, as a fresh transaction would have.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(statement)


def test_a_user_with_configuration_history_cannot_be_deleted(db: Any) -> None:
    """django-auditlog's ``actor`` is ``SET_NULL``: deleting the user would UPDATE history, which is refused.
    Deactivate accounts instead."""
    user = get_user_model().objects.create_user(username="config-history-test", password="not-used-here-0123")
    with set_actor(user), transaction.atomic():
        organisation = Organisation.objects.get(slug="politie-rotterdam")
        organisation.name += " (test)"
        organisation.save()
    assert LogEntry.objects.order_by("-id").first().actor == user
    assert AuditEntry.objects.filter(kind="config").latest("index").user == "config-history-test"

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        user.delete()
    assert get_user_model().objects.filter(pk=user.pk).exists()


# --- The command -------------------------------------------------------------------------------------------


def test_the_command_refuses_sqlite(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "audit_grant_app_role", "vd_app"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
    )
    assert result.returncode == 1
    assert "is for PostgreSQL; this database is sqlite" in result.stderr


@postgres_only
def test_the_command_refuses_roles_that_would_bypass_it(db: Any) -> None:
    """The owner, a superuser and an unknown role are refused (the test's transaction drops the new role)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        cursor.execute('CREATE ROLE "vd_test_superuser" LOGIN SUPERUSER')
        cursor.execute(f'CREATE ROLE "vd_test_owner_member" LOGIN IN ROLE "{owner}"')
    for role, message in [
        (owner, "the role this command runs as"),
        ("vd_test_superuser", "is a superuser"),
        ("vd_test_owner_member", "owns audit_auditentry"),
        ("vd_test_nobody", "does not exist"),
        ('x"; DROP TABLE audit_auditentry; --', "not a plain role name"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("audit_grant_app_role", role, stdout=io.StringIO())


@postgres_only
def test_a_password_reaches_the_server_only_as_a_scram_verifier(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VD_TEST_APP_PASSWORD", "correct horse battery staple")
    call_command(
        "audit_grant_app_role", "vd_test_pw", "--create", "--password-env", "VD_TEST_APP_PASSWORD", stdout=io.StringIO()
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'vd_test_pw'")
        (stored,) = cursor.fetchone()
    assert stored.startswith("SCRAM-SHA-256$") and "horse" not in stored


# --- The application's role -----------------------------------------------------------------------------------


@postgres_only
def test_the_app_role_reads_and_appends_but_cannot_change_history(app_role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, tableowner, pg_has_role(%s, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            [app_role, list(AUDIT_TABLES)],
        )
        owners = cursor.fetchall()
    assert sorted(table for table, _, _ in owners) == sorted(AUDIT_TABLES)
    assert all(owner != app_role and not member for _, owner, member in owners)

    statements = {table: changes(table) for table in APPEND_ONLY_TABLES}
    with connect_as(app_role) as db:
        assert db.execute("SELECT current_user").fetchone() == (app_role,)
        for table in APPEND_ONLY_TABLES:
            db.execute(f"SELECT count(*) FROM {table}").fetchone()
            for statement in statements[table]:
                # The privilege check comes before any trigger: "permission denied", not "append-only".
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
                    db.execute(statement)
        # What an append does, rolled back: lock and move the head, insert the entry.
        with db.transaction(force_rollback=True):
            (size,) = db.execute("SELECT size FROM audit_audithead WHERE id = 1 FOR UPDATE").fetchone()
            db.execute(
                'INSERT INTO audit_auditentry ("index", kind, at, emergency, decisions, detail, leaf, leaf_hash) '
                "VALUES (%s, 'check', now(), false, '[]', '{}', '{}', %s)",
                [size, "0" * 64],
            )
            db.execute("UPDATE audit_audithead SET size = size + 1 WHERE id = 1")
        for table in MUTABLE_AUDIT_TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                db.execute(f"DELETE FROM {table}")

    with connection.cursor() as cursor:
        for table, privilege, expected in [
            *[(t, p, True) for t in APPEND_ONLY_TABLES for p in ("SELECT", "INSERT")],
            *[(t, p, False) for t in APPEND_ONLY_TABLES for p in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER")],
            *[(t, p, True) for t in MUTABLE_AUDIT_TABLES for p in ("SELECT", "INSERT", "UPDATE")],
            *[(t, p, False) for t in MUTABLE_AUDIT_TABLES for p in ("DELETE", "TRUNCATE")],
            *[("consent_sharingrule", p, True) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")],
            ("consent_sharingrule", "TRUNCATE", False),
        ]:
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [app_role, table, privilege])
            assert cursor.fetchone()[0] is expected, (table, privilege)


@postgres_only
def test_tables_of_later_migrations_are_usable_and_a_rerun_converges(app_role: str) -> None:
    table = f"vd_later_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)")
    try:
        with connect_as(app_role) as db:
            db.execute(f"INSERT INTO {table} (note) VALUES ('made by a later migration')")
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
        output = io.StringIO()
        call_command("audit_grant_app_role", app_role, stdout=output)  # the documented run after migrate
        assert f"SELECT, INSERT on {len(APPEND_ONLY_TABLES)} append-only audit tables" in output.getvalue()
        with connect_as(app_role) as db:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("DELETE FROM audit_auditentry")
            db.execute(f"DELETE FROM {table}")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")


@postgres_only
def test_the_application_runs_as_the_app_role(app_role: str, tmp_path: Path) -> None:
    """A configuration change with its ``config`` entry, and a signed checkpoint, made by a process that connects
    as the restricted role."""
    settings = connection.settings_dict
    script = """
import json, django
django.setup()
from django.db import connection, transaction
from audit.checkpoints import checkpoint_create
from audit.config_trail import config_actor
from audit.models import AuditEntry
from consent.models import Purpose
with config_actor("role-test"), transaction.atomic():
    purpose = Purpose.objects.order_by("code").first()
    purpose.description += " (changed by the application role)"
    purpose.save()
entry = AuditEntry.objects.filter(kind="config").latest("index")
checkpoint = checkpoint_create()
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    user = cursor.fetchone()[0]
print(json.dumps({"user": user, "actor": entry.user, "model": entry.detail["model"], "size": checkpoint.tree_size}))
"""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{app_role}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/"
        f"{settings['NAME']}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "GATEWAY_GNUPGHOME": str(tmp_path / "gnupg"),
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    made = json.loads(result.stdout.strip().splitlines()[-1])
    assert made["user"] == app_role
    assert made["actor"] == "system:role-test" and made["model"] == "consent.purpose"
    assert made["size"] > 0
