"""Signed webhooks from the outbox: delivered by a real Celery worker, retried with backoff, never lost."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
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
        #: runs while the POST is being handled, before the answer goes back
        self.during_post: Callable[[dict[str, str]], None] = lambda headers: None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append((dict(self.headers), body))
                receiver.during_post(dict(self.headers))
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


def test_no_lock_or_transaction_is_open_during_the_post(
    committed_world: Any, partner: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the receiver handles the POST, another connection can lock the row at once (NOWAIT), and sees the
    claim committed: the sender holds no lock and no transaction across the network call."""
    configure(receiver)
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)
    approve_a_pending_request(partner)
    delivery = WebhookDelivery.objects.get()
    seen: list[Any] = []

    def lock_from_another_connection(headers: dict[str, str]) -> None:
        try:  # this thread has a database connection of its own
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT attempts, claimed_until FROM gateway_webhookdelivery WHERE id = %s FOR UPDATE NOWAIT",
                    [headers["Webhook-Id"]],
                )
                seen.append(cursor.fetchone())
        except DatabaseError as exc:
            seen.append(exc)
        finally:
            connections.close_all()

    receiver.during_post = lock_from_another_connection
    in_transaction: list[bool] = []
    post = webhooks._post

    def watched_post(**kwargs: Any) -> str:
        in_transaction.append(transaction.get_connection().in_atomic_block)
        return post(**kwargs)

    monkeypatch.setattr(webhooks, "_post", watched_post)
    assert webhooks.webhook_send(delivery.id) == "delivered"
    assert in_transaction == [False]
    assert len(seen) == 1 and not isinstance(seen[0], Exception), seen
    attempts, claimed_until = seen[0]
    assert attempts == 1 and claimed_until > timezone.now()  # the claim was committed before the POST
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.claimed_until is None


def test_two_workers_sending_at_once_deliver_once(
    committed_world: Any, partner: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(receiver)
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)
    approve_a_pending_request(partner)
    delivery_id = WebhookDelivery.objects.get().id
    receiver.during_post = lambda headers: time.sleep(1.0)  # a slow receiver: the second worker comes meanwhile
    start = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(webhooks.webhook_send(delivery_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["busy", "delivered"]
    assert len(receiver.calls) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_a_crashed_workers_claim_runs_out(
    db: Any, partner: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that is still running keeps others off the row; once it runs out, the row is sent again."""
    configure(receiver)
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)
    approve_a_pending_request(partner)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1, claimed_until=now + dt.timedelta(minutes=1))
    assert webhooks.webhook_send(delivery.id) == "busy"
    assert webhooks.webhook_due() == []  # the beat leaves a row in flight alone
    assert receiver.calls == []
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=now - dt.timedelta(seconds=1))
    assert webhooks.webhook_due() == [delivery.id]
    assert webhooks.webhook_send(delivery.id) == "delivered"
    assert len(receiver.calls) == 1 and WebhookDelivery.objects.get().attempts == 2


def test_a_claim_lost_during_the_last_attempt_ends_the_row(
    db: Any, partner: Any, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker of the last allowed attempt stopped before recording it: the row fails, with no extra POST."""
    configure(receiver)
    settings.GATEWAY_WEBHOOK_MAX_ATTEMPTS = 2
    monkeypatch.setattr(webhooks, "_queue", lambda delivery_id: None)
    approve_a_pending_request(partner)
    delivery = WebhookDelivery.objects.get()
    past = timezone.now() - dt.timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=2, claimed_until=past)
    assert webhooks.webhook_send(delivery.id) == "failed"
    assert receiver.calls == []
    assert WebhookDelivery.objects.get().last_error == "no outcome recorded for the last attempt"


def test_a_send_inside_a_callers_transaction_is_refused(committed_world: Any) -> None:
    """The claim is its own durable transaction: a caller cannot wrap the POST in a transaction of its own."""
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks.webhook_send("whk_none")
