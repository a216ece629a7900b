"""A real Celery worker sends the portal notification after the request commits: the web process queues a sweep
once it commits (the kick), with no beat running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consent.models import Person
from gateway.models import InformationRequest
from portal import notifications
from tests.conftest import wait_for

SANNE = "999990007"


def test_the_worker_mails_that_there_is_news(
    celery_worker: Any, partner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "_kick_after", 0.0)  # no window left open by an earlier test's request
    outbox = tmp_path / "mail"
    worker = celery_worker(
        env={"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(outbox)}
    )
    response = partner("zvh-rr").ask(
        subject={"bsn": SANNE},
        categories=["victim_support"],
        purpose="zvh_case_meeting",
        case_reference="CHGK-RR-2026-0001",
    )
    assert response.status_code == 200
    if not wait_for(lambda: outbox.exists() and any(outbox.iterdir()), 30):
        pytest.fail("no e-mail within 30 s:\n" + worker.output())
    (message,) = [p.read_text() for p in outbox.iterdir()]
    assert Person.objects.get(bsn=SANNE).portal_account.user.email in message
    assert "Nieuws in Veilig Delen" in message
    assert "victim" not in message.lower() and "slachtofferhulp" not in message.lower()
    swept = InformationRequest.objects.filter(pk=response.json()["id"], news_pending=False)
    assert wait_for(swept.exists, 10)  # the flag is cleared as the sweep commits
