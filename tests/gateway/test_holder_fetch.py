"""The provider leg against a real HTTP server: minimisation, 404, retries, timeouts, credentials."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection

from audit.models import AuditEntry
from consent.choices import HolderKind
from gateway.holders import HolderUnavailable, holder_fetch
from gateway.holders.minimise import minimise
from gateway.models import HolderEndpoint

MARK = "999990019"
CASE_1 = "CHGK-RR-2026-0001"


class Holder:
    """A holder's system: answers the gateway's POSTs from a script of (status, body, delay) steps."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any, float]] = []
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.on_request: Callable[[dict[str, Any]], None] | None = None
        holder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                holder.received.append(json.loads(self.rfile.read(length)))
                if holder.on_request is not None:
                    holder.on_request(holder.received[-1])
                holder.headers.append(dict(self.headers))
                status, body, delay = holder.script.pop(0) if holder.script else (200, {"data": None}, 0.0)
                if delay:
                    time.sleep(delay)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/veilig-delen/fetch"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def holder(db: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Holder]:
    """politie-rotterdam served over HTTP instead of the builtin reference data."""
    server = Holder()
    monkeypatch.setenv("VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM", "holder-credential-123")
    settings.GATEWAY_PROVIDER_RETRIES = 2
    HolderEndpoint.objects.filter(organisation__slug="politie-rotterdam").update(
        kind=HolderKind.HTTP,
        url=server.url,
        credential_env="VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM",
        timeout_seconds=0.5,
    )
    yield server
    server.close()


def ask_police(partner: Any) -> Any:
    vt = partner("veilig-thuis-rr")
    return vt.ask(
        subject={"bsn": MARK},
        categories=["police_incidents"],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
    )


def test_only_the_categorys_fields_pass(holder: Holder, partner: Any) -> None:
    holder.script.append(
        (
            200,
            {
                "data": [
                    {
                        "date": "2026-11-02",
                        "type": "threat",
                        "summary": "Threatening messages",
                        "registration_number": "PL-1",
                        "officer_home_address": "Kerkstraat 1",
                        "informant": "neighbour",
                    },
                    {"date": "not a date", "type": "stalking", "summary": 42},
                    "not an object",
                ],
                "internal_notes": "never released",
            },
            0.0,
        )
    )
    response = ask_police(partner)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "released"
    released = body["data"]["police_incidents"]
    assert released == [
        {
            "date": "2026-11-02",
            "type": "threat",
            "summary": "Threatening messages",
            "registration_number": "PL-1",
        },
        {"type": "stalking"},
    ]
    assert "officer_home_address" not in json.dumps(body)
    call = holder.received[0]
    assert call["subject"] == {"bsn": MARK}
    assert call["category"] == "police_incidents"
    assert call["purpose"] == "vt_safety_assessment"
    assert call["request_id"] == body["id"]
    assert set(call["fields"]) == {"date", "type", "summary", "registration_number"}
    assert holder.headers[0]["Authorization"] == "Bearer holder-credential-123"


def test_404_means_the_holder_has_nothing(holder: Holder, partner: Any) -> None:
    holder.script.append((404, {"error": "unknown"}, 0.0))
    body = ask_police(partner).json()
    assert body["decisions"][0]["outcome"] == "permit"
    assert body["data"] == {"police_incidents": None}


def test_temporary_failures_are_retried_within_the_bound(holder: Holder, partner: Any) -> None:
    holder.script.extend(
        [(503, b"busy", 0.0), (502, b"bad gateway", 0.0), (200, {"data": {"date": "2026-11-02"}}, 0.0)]
    )
    body = ask_police(partner).json()
    assert len(holder.received) == 3
    assert body["data"]["police_incidents"] == {"date": "2026-11-02"}


def test_the_intent_is_committed_before_a_holder_over_the_network_is_asked(
    committed_world: Any, holder: Holder, partner: Any
) -> None:
    """The question itself tells the holder of the interest: when it arrives, the intent entry is already on the
    trail for any other connection to see (the holder's handler runs in its own thread, so its own connection)."""
    seen: list[list[str]] = []

    def look(payload: dict[str, Any]) -> None:
        try:
            found = AuditEntry.objects.filter(reference=payload["request_id"]).order_by("index")
            seen.append(list(found.values_list("kind", flat=True)))
        finally:
            connection.close()

    holder.on_request = look
    holder.script.append((200, {"data": {"incidents": []}}, 0.0))
    body = ask_police(partner).json()
    assert seen == [["intent"]]
    kinds = AuditEntry.objects.filter(reference=body["id"]).order_by("index").values_list("kind", flat=True)
    assert list(kinds) == ["intent", "request"]


def test_a_holder_that_stays_down_gives_error_and_releases_nothing(holder: Holder, partner: Any) -> None:
    holder.script.extend([(503, b"busy", 0.0)] * 5)
    body = ask_police(partner).json()
    assert len(holder.received) == 3  # one try and two retries, no more
    decision = body["decisions"][0]
    assert decision["outcome"] == "error"
    assert [r["code"] for r in decision["reasons"]] == ["provider_unavailable"]
    assert body["status"] == "denied"
    assert body["data"] == {}


def test_a_slow_holder_times_out(holder: Holder, partner: Any) -> None:
    holder.script.extend([(200, {"data": {"date": "2026-11-02"}}, 1.5)] * 3)
    body = ask_police(partner).json()
    assert body["decisions"][0]["outcome"] == "error"
    assert body["data"] == {}


@pytest.mark.parametrize("answer", [b"<html>oops</html>", b'{"no_data_member": 1}', b"[1, 2]"])
def test_a_nonsense_answer_is_an_error(holder: Holder, partner: Any, answer: bytes) -> None:
    holder.script.append((200, answer, 0.0))
    body = ask_police(partner).json()
    assert body["decisions"][0]["outcome"] == "error"
    assert len(holder.received) == 1  # not retried: the holder answered


def test_a_missing_credential_is_an_error_without_a_call(holder: Holder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM")
    with pytest.raises(HolderUnavailable):
        holder_fetch(
            holder="politie-rotterdam",
            category="police_incidents",
            field_types=(("date", "date"),),
            request_id="req_x",
            bsn=MARK,
            purpose="vt_safety_assessment",
        )
    assert holder.received == []


def test_builtin_and_http_share_the_minimisation(db: Any) -> None:
    """The builtin provider's answer passes the same filter: a field not in the category never leaves."""
    result = holder_fetch(
        holder="politie-rotterdam",
        category="house_ban",
        field_types=(("start_date", "date"),),
        request_id="req_x",
        bsn=MARK,
        purpose="vt_safety_assessment",
    )
    assert result.data is None or set(result.data) <= {"start_date"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ({}, None),
        ({"a": "x", "b": 1}, {"a": "x"}),
        ({"a": 1}, None),
        ([{"a": "x"}, {"z": 1}], [{"a": "x"}]),
        ("text", None),
        (17, None),
        ({"n": True}, None),
        ({"n": 3, "d": "2026-02-30"}, {"n": 3}),
        ({"l": ["x", 1, {"deep": "no"}]}, None),
        ({"l": ["x", 1]}, {"l": ["x", 1]}),
    ],
)
def test_minimise(raw: Any, expected: Any) -> None:
    data, _fields = minimise(raw, (("a", "string"), ("n", "integer"), ("d", "date"), ("l", "list")))
    assert data == expected


@pytest.mark.django_db
def test_builtin_records_of_a_request_in_one_read_give_what_each_read_gives() -> None:
    """builtin_records_read reads the records of every asked (holder, category) in one query; its organisation and
    category lists also match pairs nobody asked for (here Veilig Thuis' police_incidents record, made for the
    test), which must not be served. Each answer equals the one read alone."""
    from consent.models import DataCategory, Organisation
    from consent.selectors import policy_current
    from gateway.holders import builtin_records_read
    from gateway.holders.directory import holder_directory_read
    from gateway.models import BuiltinRecord

    BuiltinRecord.objects.create(
        organisation=Organisation.objects.get(slug="veilig-thuis-rr"),
        category=DataCategory.objects.get(code="police_incidents"),
        bsn=MARK,
        data={"not": "asked"},
    )
    directory = holder_directory_read()
    asks = [("politie-rotterdam", "police_incidents"), ("veilig-thuis-rr", "risk_assessment")]
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        records = builtin_records_read(bsn=MARK, asks=asks, directory=directory)
    assert len(queries.captured_queries) == 1
    vt = Organisation.objects.get(slug="veilig-thuis-rr").pk
    assert (vt, "police_incidents") not in records.found
    assert len(records.found) == 2 and records.asked == frozenset(records.found)
    for holder, category in asks:
        asked = {
            "holder": holder,
            "category": category,
            "field_types": policy_current().categories[category].fields,
            "request_id": "r",
            "bsn": MARK,
            "purpose": "p",
            "directory": directory,
        }
        together, alone = holder_fetch(**asked, builtin=records), holder_fetch(**asked)
        assert together == alone and together.data and together.fields
    # A BSN without records: nothing found, and the fetch answers "nothing" as a read alone does.
    empty = builtin_records_read(bsn="999999990", asks=asks, directory=directory)
    assert empty.found == {} and len(empty.asked) == 2
