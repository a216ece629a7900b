"""The "there is news" e-mails swept from the outbox flag (portal/notifications.py): one e-mail per account for
several entries, the holds of :func:`notify_new_entry`, at least once when a send fails, never twice when two sweeps
run at once, and a web process that queues one sweep per window and loses nothing when the broker is down."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connections, transaction
from kombu.exceptions import OperationalError

from consent.models import Organisation, Person
from consent.restrictions import restriction_set
from gateway.models import EntryNotice, InformationRequest
from portal import notifications, tasks
from portal.notifications import KICK_SECONDS, news_kick, news_sweep, notice_news_release, notify_new_entry

SANNE, MARK, LOTTE, NOOR = "999990007", "999990019", "999990032", "999990068"
CASE_1 = "CHGK-RR-2026-0001"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def email_of(bsn: str) -> str:
    return str(Person.objects.get(bsn=bsn).portal_account.user.email)


def ask(partner: Any, slug: str, bsn: str, category: str, purpose: str, **extra: Any) -> str:
    response = partner(slug).ask(subject={"bsn": bsn}, categories=[category], purpose=purpose, **extra)
    assert response.status_code in (200, 202), response.content
    return str(response.json()["id"])


def sanne_support(partner: Any) -> str:
    return ask(partner, "zvh-rr", SANNE, "victim_support", "zvh_case_meeting", case_reference=CASE_1)


def sanne_address(partner: Any) -> str:
    return ask(partner, "politie-rotterdam", SANNE, "address", "zvh_case_meeting", case_reference=CASE_1)


def lotte_school(partner: Any) -> str:
    return ask(
        partner,
        "veilig-thuis-rr",
        LOTTE,
        "school_attendance",
        "vt_safety_assessment",
        providers={"school_attendance": "school-regenboog"},
    )


def mark_police(partner: Any) -> str:
    return ask(partner, "veilig-thuis-rr", MARK, "police_incidents", "vt_safety_assessment", case_reference=CASE_1)


def noor_identity(partner: Any) -> str:
    return ask(partner, "veilig-thuis-rr", NOOR, "identity", "vt_safety_assessment")


def flagged() -> set[str]:
    return set(InformationRequest.objects.filter(news_pending=True).values_list("pk", flat=True))


def held_news() -> set[str]:
    return set(EntryNotice.objects.filter(news_held=True, news_sent_at__isnull=True).values_list("pk", flat=True))


def test_one_e_mail_per_account_for_several_entries(partner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = LOCMEM
    about_sanne = [sanne_support(partner), sanne_support(partner), lotte_school(partner)]  # herself and her child
    noor = noor_identity(partner)
    police = mark_police(partner)  # police data about the suspect: held until the police reviewed it
    assert flagged() == {*about_sanne, noor, police}
    mail.outbox.clear()

    assert news_sweep() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([email_of(SANNE), email_of(NOOR)])
    assert all(m.subject == notifications.SUBJECT and "school" not in m.body.lower() for m in mail.outbox)
    assert held_news() == {police}  # as notify_new_entry holds it: sent once the police clear it
    assert flagged() == set()
    assert news_sweep() == 0 and len(mail.outbox) == 2

    assert (
        partner("politie-rotterdam", "provider")
        .post(f"/api/v1/holder/notices/{police}", {"action": "clear"})
        .status_code
        == 200
    )
    assert notice_news_release(police) == 1 and mail.outbox[-1].to == [email_of(MARK)]


def test_a_withheld_entry_sends_nothing_and_holds_nothing(partner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = LOCMEM
    restriction_set(
        person=Person.objects.get(bsn=SANNE),
        kind="withheld_from_subject",
        set_by=Organisation.objects.get(slug="veilig-thuis-rr"),
        set_by_user="vt-017",
        reason="Safety.",
        legal_ground="UAVG art. 41(1)(i)",
        review_date=dt.date(2027, 3, 1),
        categories=["address"],
    )
    withheld = sanne_address(partner)
    mail.outbox.clear()
    assert news_sweep() == 0 and mail.outbox == []
    assert not EntryNotice.objects.filter(pk=withheld, news_held=True).exists()  # no informing day ends it
    assert flagged() == set()


def test_the_sweep_decides_each_entry_as_notify_new_entry_does(db: Any, settings: Any) -> None:
    """Over the demo's history (held for the police's review, for the informing day, withheld, a parent's view):
    the sweep mails the accounts notify_new_entry mails, each once, and holds the e-mails it holds."""
    from demo.history import seed_history

    settings.EMAIL_BACKEND = LOCMEM
    assert seed_history() > 0
    ids = flagged()
    assert len(ids) == InformationRequest.objects.count()
    with transaction.atomic():
        mail.outbox.clear()
        for request_id in sorted(ids):
            notify_new_entry(request_id)
        per_entry = Counter(tuple(m.to) for m in mail.outbox)
        held_per_entry = held_news()
        transaction.set_rollback(True)
    assert max(per_entry.values()) > 1  # some account has news about several entries
    assert held_per_entry and held_news() == set()
    mail.outbox.clear()

    assert news_sweep() == len(per_entry)
    assert Counter(tuple(m.to) for m in mail.outbox) == Counter(set(per_entry))
    assert held_news() == held_per_entry and flagged() == set()


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("the mail server went away")


class RefusingBackend(LocmemBackend):
    """Refuses Sanne's address, as a mail server refuses an address that no longer exists."""

    def send_messages(self, messages: Any) -> int:
        refused = Person.objects.get(bsn=SANNE).portal_account.user.email
        if any(refused in message.to for message in messages):
            raise smtplib.SMTPRecipientsRefused({refused: (550, b"no such mailbox")})
        return int(super().send_messages(messages))


def test_a_failed_send_leaves_the_flags_for_the_next_sweep(partner: Any, settings: Any) -> None:
    ids = {sanne_support(partner), noor_identity(partner), mark_police(partner)}
    settings.EMAIL_BACKEND = "tests.portal.test_news_sweep.FailingBackend"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        news_sweep()
    assert flagged() == ids and held_news() == set()  # all rolled back, the hold too

    settings.EMAIL_BACKEND = LOCMEM
    mail.outbox.clear()
    assert news_sweep() == 2 and flagged() == set()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([email_of(SANNE), email_of(NOOR)])


def test_an_address_the_mail_server_refuses_stops_no_one_else(
    partner: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sanne_support(partner)
    noor_identity(partner)
    settings.EMAIL_BACKEND = "tests.portal.test_news_sweep.RefusingBackend"
    mail.outbox.clear()
    assert news_sweep() == 1 and [m.to for m in mail.outbox] == [[email_of(NOOR)]]
    assert flagged() == set()  # refused again on every try: not retried
    account = Person.objects.get(bsn=SANNE).portal_account
    assert f"refused the address of portal account {account.pk}" in caplog.text
    assert email_of(SANNE) not in caplog.text


A_SENDING, A_MAY_SEND = threading.Event(), threading.Event()


class GatedBackend(LocmemBackend):
    """The sweep in the thread named ``sweep-a`` waits, while sending (its rows locked), until it may send."""

    def send_messages(self, messages: Any) -> int:
        if threading.current_thread().name == "sweep-a":
            A_SENDING.set()
            A_MAY_SEND.wait(30)
        return int(super().send_messages(messages))


def test_two_sweeps_at_once_never_mail_twice(committed_world: Any, partner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "tests.portal.test_news_sweep.GatedBackend"
    sanne = sanne_support(partner)  # the oldest: the first sweep takes it
    noor_identity(partner)
    A_SENDING.clear()
    A_MAY_SEND.clear()
    mail.outbox.clear()
    sent: dict[str, int] = {}

    def sweep(name: str, limit: int) -> None:
        try:
            sent[name] = news_sweep(limit=limit, batches=1)
        finally:
            connections.close_all()

    first = threading.Thread(target=sweep, args=("sweep-a", 1), name="sweep-a")
    first.start()
    try:
        assert A_SENDING.wait(30), "the first sweep never came to send"
        assert sanne in flagged()  # taken, not yet committed
        second = threading.Thread(target=sweep, args=("sweep-b", 500), name="sweep-b")
        second.start()
        second.join(30)
        assert not second.is_alive(), "the second sweep waited for the first one's rows"
    finally:
        A_MAY_SEND.set()
        first.join(30)
    assert sent == {"sweep-a": 1, "sweep-b": 1}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([email_of(SANNE), email_of(NOOR)])
    assert flagged() == set()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The sweeps this process queues (not sent to a broker), with a window that starts closed."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks, "news_sweep_task", SimpleNamespace(apply_async=lambda **kw: calls.append(kw)))
    monkeypatch.setattr(notifications, "_kick_after", 0.0)
    return calls


def test_a_web_process_queues_one_sweep_per_window(queued: list[dict[str, Any]], monkeypatch: Any) -> None:
    clock = [1000.0]
    monkeypatch.setattr(notifications, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    for now in (1000.0, 1000.5, 1000.0 + KICK_SECONDS - 0.01):
        clock[0] = now
        news_kick()
    # one sweep, no earlier than the window's end: it covers every entry committed inside the window
    assert queued == [{"countdown": KICK_SECONDS, "retry": False}]
    clock[0] = 1000.0 + KICK_SECONDS
    news_kick()
    assert len(queued) == 2


def test_a_request_queues_the_sweep_once_it_commits(
    partner: Any, queued: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_id = sanne_support(partner)
    assert queued == [] and request_id in flagged()  # nothing before the commit
    for callback in callbacks:
        callback()
    assert queued == [{"countdown": KICK_SECONDS, "retry": False}]


def test_a_broker_outage_loses_no_e_mail(
    partner: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries: list[float] = []
    clock = [1000.0]

    def broker_down(**kwargs: Any) -> None:
        tries.append(clock[0])
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    settings.EMAIL_BACKEND = LOCMEM
    monkeypatch.setattr(tasks, "news_sweep_task", SimpleNamespace(apply_async=broker_down))
    monkeypatch.setattr(notifications, "_kick_after", 0.0)
    monkeypatch.setattr(notifications, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    with django_capture_on_commit_callbacks(execute=True):
        request_id = sanne_support(partner)  # answered as always
    assert "could not queue the portal's news sweep" in caplog.text
    mail.outbox.clear()
    assert request_id in flagged()
    assert news_sweep() == 1 and mail.outbox[0].to == [email_of(SANNE)]  # the beat's sweep

    # while the broker is down, a process tries once per pause, not once per window: each try costs a request
    for now in (1000.0 + KICK_SECONDS, 1000.0 + notifications.KICK_PAUSE_SECONDS - 0.01):
        clock[0] = now
        news_kick()
    assert tries == [1000.0]
    clock[0] = 1000.0 + notifications.KICK_PAUSE_SECONDS
    news_kick()
    assert tries == [1000.0, 1000.0 + notifications.KICK_PAUSE_SECONDS]


def test_the_beat_sweeps_on_the_default_queue(settings: Any) -> None:
    from config.celery import AUDIT_TASKS, route_task
    from portal.tasks import news_sweep_task

    entry = settings.CELERY_BEAT_SCHEDULE["portal-news-sweep"]
    assert entry["task"] == news_sweep_task.name and entry["schedule"] == 10.0  # GATEWAY_NEWS_SWEEP_SECONDS
    assert news_sweep_task.name not in AUDIT_TASKS and route_task(news_sweep_task.name, (), {}, {}) is None


def test_a_task_queued_before_the_outbox_flags_its_entry(partner: Any) -> None:
    """A ``portal.notify_new_entry`` message still queued at the upgrade is not lost: the sweep takes its entry."""
    from portal.tasks import notify_new_entry_task

    request_id = sanne_support(partner)
    InformationRequest.objects.update(news_pending=False)  # written before the upgrade: not flagged
    notify_new_entry_task.run(request_id)
    assert flagged() == {request_id}
