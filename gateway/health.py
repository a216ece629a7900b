"""Readiness checks for ``/readyz``: the database, the audit trail against its published checkpoint, and the gpg
binary and keyring folder are required; the Celery broker, and the standby when one is configured, are reported."""

from __future__ import annotations

import os
import shutil
from typing import Any

from django.conf import settings
from django.db import connection, connections

from gateway.databases import STANDBY


def _database() -> dict[str, Any]:
    try:
        from audit.models import AuditHead

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ok = AuditHead.objects.filter(pk=1).exists()
        return {"ok": ok, "required": True, "detail": "ok" if ok else "audit head row missing (migrate)"}
    except Exception as exc:
        return {"ok": False, "required": True, "detail": type(exc).__name__}


def _trail() -> dict[str, Any]:
    """Not ready while the trail lacks the last published checkpoint (audit/published.py): such a node refuses every
    append, so nothing would be answered but 503. The sizes and roots are in the log and the privacy console."""
    from audit.published import trail_state

    try:
        state = trail_state()
    except Exception as exc:
        return {"ok": False, "required": True, "detail": type(exc).__name__}
    if state.code == "behind":
        detail = "the audit trail is shorter than the last published checkpoint: the database lost entries"
    elif state.code == "diverged":
        detail = "the audit trail differs from the last published checkpoint: the database holds another history"
    else:
        detail = "ok"
    return {"ok": state.ok, "required": True, "detail": detail if state.ok else f"{state.code}: {detail}"}


def _standby() -> dict[str, Any]:
    """The standby of DATABASE_REPLICA_URL: reported, not required (its reads fall back to the primary)."""
    try:
        with connections[STANDBY].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            (recovering,) = cursor.fetchone() or (None,)
        return {"ok": True, "required": False, "detail": "ok" if recovering else "reachable, but not in recovery"}
    except Exception as exc:
        return {"ok": False, "required": False, "detail": type(exc).__name__}


def _broker() -> dict[str, Any]:
    """Reported, not required: a web node answers without the broker (webhooks wait in the outbox, checkpoints are
    signed when it is back), and the broker is shared, so requiring it would take every node out of the load balancer
    at once and turn a broker outage into a full one (scripts/drill stops the broker for 30 s)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("memory://", "filesystem://")):
        return {"ok": True, "required": False, "detail": "file-system broker (demo)"}
    try:
        from kombu import Connection

        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "required": False, "detail": "ok"}
    except Exception as exc:
        return {"ok": False, "required": False, "detail": type(exc).__name__}


def _gpg() -> dict[str, Any]:
    binary = shutil.which("gpg")
    home = settings.GATEWAY_GNUPGHOME
    if binary is None:
        return {"ok": False, "required": True, "detail": "gpg binary not found"}
    if home.exists() and not os.access(home, os.W_OK):
        return {"ok": False, "required": True, "detail": "GATEWAY_GNUPGHOME is not writable"}
    return {"ok": True, "required": True, "detail": "ok"}


def readiness() -> dict[str, dict[str, Any]]:
    checks = {"database": _database(), "trail": _trail(), "broker": _broker(), "gpg": _gpg()}
    if STANDBY in settings.DATABASES:
        checks["standby"] = _standby()
    return checks
