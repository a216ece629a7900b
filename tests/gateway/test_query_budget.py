"""The statements a request costs (issue 12: at most 12 per request on the hot path), counted, never timed.

With the world committed, as in production, so the policy kept per process is used: the first request after a
policy change builds it, the next ones only read the configuration token. Transaction control (BEGIN, COMMIT) is
counted apart: it carries no work. A request that asks a holder over the network needs two transactions (the intent
entry commits before the holder is asked, the decision with its entry afterwards); scenario 1 asks holders whose
records the gateway keeps (builtin), so the intent, the reads and the decision share one.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry

pytestmark = pytest.mark.usefixtures("committed_world")

SCENARIO_1 = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents", "house_ban"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _counted(partner: Any, path: str) -> tuple[int, int, Any]:
    client = partner("veilig-thuis-rr")
    client.post(path, SCENARIO_1)  # the first builds the policy this process keeps
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, SCENARIO_1)
    statements = [q["sql"].strip() for q in queries.captured_queries]
    control = [s for s in statements if s.upper().startswith(CONTROL)]
    return len(statements) - len(control), len(control), response


def test_a_released_two_category_request_costs_at_most_6_statements(partner: Any) -> None:
    """Issue 12 allows 12; it takes 6 (token with the configuration token, facts with the consents naming the
    requester, the builtin records of both categories, head, entries with their tree and facets, request with its
    decisions), so the bound is 6, to keep what was won."""
    work, control, response = _counted(partner, "/api/v1/requests")
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert work <= 6, work
    assert control == 2  # one transaction (builtin holders), no savepoints
    # Everything it did is on the trail and verifiable.
    entry = AuditEntry.objects.get(index=response.json()["audit"]["index"])
    assert entry.kind == "request" and entry.outcome == "released"


def test_a_dry_run_costs_at_most_4_statements(partner: Any) -> None:
    """Token with the configuration token, facts, head, entry."""
    work, control, response = _counted(partner, "/api/v1/decisions")
    assert response.status_code == 200
    assert work <= 4, work
    assert control == 2
