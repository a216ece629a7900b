"""Signed webhooks from the outbox: delivered by a real Celery worker, retried with backoff, never lost."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from consent.models import Organisation
from gateway import webhooks
from gateway.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import wait_for

SECRET = "whsec-test-0123456789"
LOTTE = "999990032"


class Receiver:
    """The requester's webhook endpoint: records calls, answers from a script of status codes."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/veilig-delen"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, index: int) -> dict[str, Any]:
        headers, body = self.calls[index]
        signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(headers["Webhook-Signature"], expected)
        return dict(json.loads(body))


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("VD_WEBHOOK_SECRET_VEILIG_THUIS_RR", SECRET)
    server = Receiver()
    yield server
    server.server.shutdown()


def configure(receiver: Receiver) -> None:
    WebhookEndpoint.objects.update_or_create(
        organisation=Organisation.objects.get(slug="veilig-thuis-rr"),
        defaults={"url": receiver.url, "secret_env": "VD_WEBHOOK_SECRET_VEILIG_THUIS_RR", "active": True},
    )


def approve_a_pending_request(partner: Any) -> str:
    created = (
        partner("veilig-thuis-rr")
        .ask(
            subject={"bsn": LOTTE},
            categories=["school_attendance"],
            purpose="vt_safety_assessment",
            providers={"school_attendance": "school-regenboog"},
        )
        .json()
    )
    school = partner("school-regenboog", scope="provider")
    item_id = school.get("/api/v1/holder/pending").json()["results"][0]["id"]
    assert school.post(f"/api/v1/holder/pending/{item_id}", {"decision": "approve"}).status_code == 200
    return str(created["id"])


def test_a_worker_delivers_the_signed_notification(celery_worker: Any, partner: Any, receiver: Receiver) -> None:
    configure(receiver)
    worker = celery_worker(env={"VD_WEBHOOK_SECRET_VEILIG_THUIS_RR": SECRET})
    request_id = approve_a_pending_request(partner)
    if not wait_for(lambda: len(receiver.calls) >= 1, 30):
        pytest.fail("no webhook within 30 s:\n" + worker.output())
    payload = receiver.verified(0)
    assert payload["event"] == "request.updated"
    assert payload["request_id"] == request_id and payload["status"] == "released"
    assert LOTTE not in json.dumps(payload)  # says that something changed, never what
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", 10)


def test_nothing_is_lost_while_the_broker_is_down(
    celery_worker: Any, partner: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox row is committed with the change; if it cannot be queued, the beat task sends it later."""
    configure(receiver)
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)  # the broker refuses the message
    approve_a_pending_request(partner)
    assert WebhookDelivery.objects.get().status == "pending"
    assert receiver.calls == []
    worker = celery_worker(
        beat=True, env={"VD_WEBHOOK_SECRET_VEILIG_THUIS_RR": SECRET, "GATEWAY_WEBHOOK_REDELIVER_SECONDS": "1"}
    )
    if not wait_for(lambda: len(receiver.calls) >= 1, 40):
        pytest.fail("the pending row was not re-sent:\n" + worker.output())
    assert receiver.verified(0)["status"] == "released"
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", 10)
    assert len(receiver.calls) == 1  # delivered once: the beat does not send a delivered row again


def test_retries_back_off_and_give_up(
    db: Any, partner: Any, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(receiver)
    settings.GATEWAY_WEBHOOK_MAX_ATTEMPTS = 3
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)
    approve_a_pending_request(partner)
    delivery = WebhookDelivery.objects.get()
    receiver.statuses = [500, 503, 500]
    assert webhooks.webhook_send(delivery.id) == "pending"
    first = WebhookDelivery.objects.get()
    assert first.attempts == 1 and first.last_error == "HTTP 500"
    assert webhooks.webhook_due() == []  # backing off
    before_second = timezone.now()
    assert webhooks.webhook_send(delivery.id) == "pending"
    second = WebhookDelivery.objects.get()
    assert first.next_attempt_at - first.created_at >= dt.timedelta(seconds=9)
    assert second.next_attempt_at - before_second >= dt.timedelta(seconds=19)  # the wait doubles
    assert webhooks.webhook_send(delivery.id) == "failed"
    assert webhooks.webhook_send(delivery.id) == "failed"  # no fourth call
    assert len(receiver.calls) == 3
    assert len({headers["Webhook-Id"] for headers, _ in receiver.calls}) == 1  # the same id on every retry


def test_no_webhook_without_an_endpoint(db: Any, partner: Any) -> None:
    approve_a_pending_request(partner)
    assert WebhookDelivery.objects.count() == 0
