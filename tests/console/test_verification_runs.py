"""Verification from the console (issue #6, item 5): a run is a row and a Celery task; it records its progress,
finds an intact trail intact and names the first tampered entry; a failure puts an alert on every console page;
the page shows the last result and the checkpoint history. The last test runs it on a real Celery worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, RequestFactory

from audit import tasks, verification
from audit.checkpoints import checkpoint_create
from audit.models import AuditEntry, AuditHead, Checkpoint, OfficerProfile, VerificationRun
from audit.verification import verify_trail
from console.context import verification_alert
from console.verification_views import verification_run_start
from tests.conftest import wait_for

ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="tamper drills bypass the append-only triggers with session_replication_role, which only PostgreSQL has",
)


@pytest.fixture(autouse=True)
def console(settings: Any, tmp_path: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    settings.GATEWAY_GNUPGHOME = tmp_path / "gnupg"  # the celery_worker fixture stops this home's agent


def grow_and_sign(partner: Callable[..., Any], times: int = 2) -> Checkpoint:
    vt = partner("veilig-thuis-rr")
    for _ in range(times):
        assert vt.ask(**ASK).status_code == 200
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    return checkpoint


def tamper(sql: str, params: Sequence[Any] = ()) -> None:
    """One statement with the append-only triggers off, as an operator with the tables' owner could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def tamper_a_request() -> int:
    index = AuditEntry.objects.filter(kind="request").order_by("-index").values_list("index", flat=True)[0]
    tamper('UPDATE audit_auditentry SET outcome = %s WHERE "index" = %s', ["tampered", index])
    return index


def login(username: str = "privacy") -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def new_run() -> VerificationRun:
    return VerificationRun.objects.create(started_by="privacy")


# --- verify_trail's progress ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_trail_reports_progress_after_every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verification, "CHUNK_SIZE", 7)
    size = AuditHead.objects.get().size
    calls: list[tuple[int, int]] = []
    result = verify_trail(progress=lambda checked, total: calls.append((checked, total)))
    assert result.ok
    expected = [(min(n, size), size) for n in range(7, size + 7, 7)]
    assert calls == expected and calls[-1] == (size, size)


# --- The task ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_on_an_intact_trail_is_intact_with_counts_and_progress(
    partner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow_and_sign(partner)
    monkeypatch.setattr(verification, "CHUNK_SIZE", 10)
    seen: list[tuple[str, int, int]] = []
    real = tasks.verify_trail

    def watched(progress: Callable[[int, int], None] | None = None) -> Any:
        assert progress is not None

        def record(checked: int, total: int) -> None:
            progress(checked, total)
            row = VerificationRun.objects.get(pk=run.pk)
            seen.append((row.status, row.entries_checked, row.entries_total))

        return real(progress=record)

    monkeypatch.setattr(tasks, "verify_trail", watched)
    run = new_run()
    assert tasks.verification_run(run.pk) == "intact"

    run.refresh_from_db()
    size = AuditHead.objects.get().size
    assert (run.status, run.entries_checked, run.entries_total) == ("intact", size, size)
    assert run.checkpoints_checked == Checkpoint.objects.count() >= 1
    assert (run.failure, run.failed_index, run.failed_checkpoint) == ("", None, None)
    assert run.started_at is not None and run.finished_at is not None and run.started_at <= run.finished_at
    # the row followed the run chunk by chunk, while it was running
    assert [checked for _, checked, _ in seen] == [min(n, size) for n in range(10, size + 10, 10)]
    assert {status for status, _, _ in seen} == {"running"} and {total for _, _, total in seen} == {size}

    page = login().get(f"/privacy/verification/runs/{run.pk}/")
    assert page.status_code == 200 and "Refresh" not in page
    assert f"{size} entries and {run.checkpoints_checked} checkpoint" in page.content.decode()
    assert "verification_alert" not in page.context or not page.context["verification_alert"]


@postgres_only
@pytest.mark.django_db
def test_a_run_on_a_tampered_trail_names_the_entry_and_every_console_page_says_so(partner: Any) -> None:
    grow_and_sign(partner)
    index = tamper_a_request()
    run = new_run()
    assert tasks.verification_run(run.pk) == "failed"
    run.refresh_from_db()
    assert (run.status, run.failed_index, run.failed_checkpoint) == ("failed", index, None)
    assert run.failure == f"entry {index}: the columns differ from the signed leaf"
    assert run.entries_checked == index

    client = login("privacy-vt")  # an organisation's officer is told too: the trail is one
    for path in ("/privacy/verification/", "/privacy/oversight/", f"/privacy/verification/runs/{run.pk}/"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:2000])
        html = response.content.decode()
        assert 'class="alert" role="alert"' in html, path
        assert f"The audit trail failed verification (run {run.pk}" in html and run.failure in html
    page = client.get("/privacy/verification/").content.decode()
    assert f"First failing entry: #{index}." in page

    # a later intact verdict lifts the alert
    assert run.finished_at is not None
    later = run.finished_at + dt.timedelta(seconds=1)
    VerificationRun.objects.create(started_by="privacy", status="intact", finished_at=later)
    assert 'class="alert"' not in client.get("/privacy/verification/").content.decode()


@postgres_only
@pytest.mark.django_db
def test_the_alert_is_for_console_pages_and_signed_in_officers_only(partner: Any) -> None:
    grow_and_sign(partner)
    tamper_a_request()
    run = new_run()
    tasks.verification_run(run.pk)
    officer = OfficerProfile.objects.get(user__username="privacy")
    request = RequestFactory().get("/privacy/oversight/")
    request.officer = officer  # type: ignore[attr-defined]
    assert "failed verification" in verification_alert(request)["verification_alert"]
    assert verification_alert(RequestFactory().get("/privacy/login/")) == {}  # not signed in: nothing told
    portal = RequestFactory().get("/portal/")
    portal.officer = officer  # type: ignore[attr-defined]
    assert verification_alert(portal) == {}


@pytest.mark.django_db
def test_a_run_that_breaks_down_is_an_error_not_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(progress: Any = None) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tasks, "verify_trail", broken)
    run = new_run()
    assert tasks.verification_run(run.pk) == "error"
    run.refresh_from_db()
    assert run.status == "error" and "RuntimeError: disk on fire" in run.failure and run.finished_at is not None
    assert tasks.verification_run(run.pk) is None  # finished runs are not run again


# --- The pages --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_last_result_and_the_checkpoint_history(partner: Any) -> None:
    checkpoint = grow_and_sign(partner)
    run = new_run()
    tasks.verification_run(run.pk)
    html = login().get("/privacy/verification/").content.decode()
    assert "Intact" in html and f"run {run.pk}, started by privacy" in html
    for item in Checkpoint.objects.all():
        assert f'<th scope="row">{item.tree_size}</th>' in html and item.root_hash in html
    assert checkpoint.key_fingerprint in html
    assert checkpoint.signed_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") in html
    assert 'action="/privacy/verification/start/"' in html


@pytest.mark.django_db
def test_the_button_queues_one_run_after_commit_and_its_page_refreshes(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(tasks.verification_run, "delay", lambda run_id: queued.append(run_id))
    client = login()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/privacy/verification/start/")
    run = VerificationRun.objects.get()
    assert (run.status, run.started_by) == ("queued", "privacy")
    assert len(callbacks) == 1 and queued == [run.pk]
    assert response.status_code == 302 and response["Location"] == f"/privacy/verification/runs/{run.pk}/"

    # while it is queued, another press follows the same run
    assert client.post("/privacy/verification/start/")["Location"] == f"/privacy/verification/runs/{run.pk}/"
    assert VerificationRun.objects.count() == 1 and queued == [run.pk]

    page = client.get(f"/privacy/verification/runs/{run.pk}/")
    assert page["Refresh"] == "2"
    assert "Waiting for a worker" in page.content.decode() and "<progress" in page.content.decode()
    assert client.get("/privacy/verification/start/").status_code == 405
    assert Client().post("/privacy/verification/start/").status_code == 302  # to the login
    assert VerificationRun.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_run_does_not_block_a_new_one(django_capture_on_commit_callbacks: Any) -> None:
    stale = new_run()
    VerificationRun.objects.filter(pk=stale.pk).update(queued_at=stale.queued_at - dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=False):
        fresh = verification_run_start(started_by="privacy")
    assert fresh.pk != stale.pk


# --- Committed, as in a worker ----------------------------------------------------------------------------------


@postgres_only
def test_outside_a_transaction_progress_is_seen_by_others_during_the_run(
    committed_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a worker, verify_trail holds a read-only snapshot; progress must still reach other connections."""
    monkeypatch.setattr(verification, "CHUNK_SIZE", 50)
    observer = connection.copy()
    seen: list[int] = []
    real = tasks.verify_trail

    def watched(progress: Callable[[int, int], None] | None = None) -> Any:
        assert progress is not None

        def record(checked: int, total: int) -> None:
            progress(checked, total)
            assert connection.in_atomic_block  # inside the snapshot
            with observer.cursor() as cursor:
                cursor.execute("SELECT entries_checked FROM audit_verificationrun WHERE id = %s", [run.pk])
                seen.append(cursor.fetchone()[0])

        return real(progress=record)

    monkeypatch.setattr(tasks, "verify_trail", watched)
    run = new_run()
    try:
        assert tasks.verification_run(run.pk) == "intact"
    finally:
        observer.close()
    size = AuditHead.objects.get().size
    assert seen == [min(n, size) for n in range(50, size + 50, 50)]


# --- On a real worker -------------------------------------------------------------------------------------------


@postgres_only
def test_a_real_worker_runs_verification_from_the_button(celery_worker: Any, partner: Any) -> None:
    worker = celery_worker()
    grow_and_sign(partner)
    client = login()

    def run_to_the_end() -> VerificationRun:
        response = client.post("/privacy/verification/start/")
        assert response.status_code == 302
        run = VerificationRun.objects.latest("pk")
        assert response["Location"] == f"/privacy/verification/runs/{run.pk}/"
        finished = wait_for(lambda: VerificationRun.objects.get(pk=run.pk).finished_at is not None, 60)
        if not finished:
            pytest.fail("the run did not finish within 60 s; worker output:\n" + worker.output())
        run.refresh_from_db()
        return run

    run = run_to_the_end()
    size = AuditHead.objects.get().size
    assert (run.status, run.entries_checked, run.entries_total) == ("intact", size, size)
    assert run.checkpoints_checked == Checkpoint.objects.count()
    assert 'class="alert"' not in client.get("/privacy/verification/").content.decode()

    index = tamper_a_request()
    run = run_to_the_end()
    assert (run.status, run.failed_index) == ("failed", index)
    assert run.failure == f"entry {index}: the columns differ from the signed leaf"
    html = client.get("/privacy/verification/").content.decode()
    assert 'class="alert" role="alert"' in html and f"First failing entry: #{index}." in html
