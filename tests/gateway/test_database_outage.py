"""A database that restarts or fails over (docs/operations.md; deploy/drill.py): the API answers 503 with Retry-After,
a problem the partner retries with its Idempotency-Key, never a 500; a database error that is a bug stays a 500."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django import db

from gateway.api import views
from gateway.api.problems import database_unavailable


def wrapped(error: type[Exception], cause: Exception) -> Exception:
    """As Django raises it: its own class, with the driver's exception as the cause."""
    try:
        raise error(str(cause)) from cause
    except error as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "cause", "unavailable"),
    [
        (db.OperationalError, psycopg.OperationalError("consuming input failed: server closed the connection"), True),
        (db.OperationalError, psycopg.errors.AdminShutdown("terminating connection"), True),
        (db.OperationalError, psycopg.errors.ConnectionFailure("connection failure"), True),
        (db.InternalError, psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT"), True),
        (db.InterfaceError, psycopg.InterfaceError("the connection is closed"), True),
        (db.OperationalError, psycopg.errors.DeadlockDetected("deadlock detected"), False),
        (db.InternalError, psycopg.errors.InFailedSqlTransaction("current transaction is aborted"), False),
        (db.IntegrityError, psycopg.errors.UniqueViolation("duplicate key"), False),
    ],
)
def test_which_database_errors_mean_unavailable(error: type[Exception], cause: Exception, unavailable: bool) -> None:
    assert database_unavailable(wrapped(error, cause)) is unavailable


def test_a_lost_connection_during_a_request_is_a_503_problem(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    vt = partner("veilig-thuis-rr")

    def gone(token: str | None = None) -> None:
        raise wrapped(db.OperationalError, psycopg.OperationalError("server closed the connection unexpectedly"))

    monkeypatch.setattr(views, "policy_current", gone)
    answer = vt.ask(
        subject={"bsn": "999990019"},
        categories=["police_incidents"],
        purpose="vt_safety_assessment",
        case_reference="CHGK-RR-2026-0001",
    )
    assert answer.status_code == 503
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "audit_unavailable" and int(answer["Retry-After"]) > 0
