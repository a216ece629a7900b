"""Informing a suspect (Wmo 2015 art. 5.3.1; issue 9, item 5): the informing term, clearing and postponing through
``POST /api/v1/holder/notices/{request_id}``, and the "there is news" e-mail that waits until he may see."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym
from consent.models import Organisation, Person
from gateway.models import EntryNotice, InformationRequest
from gateway.notices import POSTPONE_MAX_DAYS, may_inform
from portal import selectors
from portal.notifications import notice_news_due, notice_news_release, notify_new_entry

SANNE, MARK = "999990007", "999990019"
OUTSIDER = "999990111"  # a valid BSN that nobody in the demo world has
CASE_1 = "CHGK-RR-2026-0001"
REASON = "The safety assessment runs; informing him now would endanger the reporter."


def url(request_id: str) -> str:
    return f"/api/v1/holder/notices/{request_id}"


def ask_police_incidents(partner: Any, bsn: str = MARK) -> str:
    """Veilig Thuis asks the municipality about someone in case 0001: the municipality holds the entry's data.
    (Named for the police's incidents of scenario 1, which these tests used until issue 11: an entry with police
    data now waits for the police's own review, with no informing day, tests/portal/test_family_statute.py.)"""
    response = partner("veilig-thuis-rr").ask(
        subject={"bsn": bsn}, categories=["household"], purpose="vt_safety_assessment", case_reference=CASE_1
    )
    assert response.status_code == 200, response.content
    return str(response.json()["id"])


def created_on(request_id: str) -> dt.date:
    return timezone.localdate(InformationRequest.objects.get(pk=request_id).created_at)


def marks_timeline(today: dt.date | None = None) -> selectors.Timeline:
    return selectors.timeline(Person.objects.get(bsn=MARK), today)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_an_entry_about_a_suspect_waits_four_weeks(partner: Any) -> None:
    request_id = ask_police_incidents(partner)
    day = created_on(request_id)
    for today in (day, day + dt.timedelta(days=27)):
        held = marks_timeline(today)
        assert held.entries == [] and held.withheld_count == 1
        assert held.withheld_until == day + dt.timedelta(days=28)  # counted and dated, nothing more
        assert selectors.entry_for(Person.objects.get(bsn=MARK), request_id, today) is None
    shown = marks_timeline(day + dt.timedelta(days=28))
    assert [e.id for e in shown.entries] == [request_id] and shown.withheld_count == 0


def test_the_holder_clears_an_entry(partner: Any) -> None:
    request_id = ask_police_incidents(partner)
    police = partner("gemeente-rotterdam", "provider")
    response = police.post(url(request_id), {"action": "clear"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["request_id"] == request_id and body["cleared"] is True and body["postponed_until"] is None
    assert body["inform_on"] == (created_on(request_id) + dt.timedelta(days=28)).isoformat()
    assert [e.id for e in marks_timeline().entries] == [request_id]

    entry = AuditEntry.objects.filter(kind="notice").latest("index")
    assert (entry.organisation, entry.reference, entry.outcome) == ("gemeente-rotterdam", request_id, "cleared")
    assert entry.subject == subject_pseudonym(MARK) and MARK not in entry.leaf
    again = problem(police.post(url(request_id), {"action": "clear"}), 409)
    assert again["code"] == "already_cleared"
    assert AuditEntry.objects.filter(kind="notice").count() == 1


def test_veilig_thuis_in_his_case_may_clear_what_it_does_not_hold(partner: Any) -> None:
    request_id = ask_police_incidents(partner)
    response = partner("veilig-thuis-rr", "provider").post(url(request_id), {"action": "clear"})
    assert response.status_code == 200, response.content


def test_anyone_else_gets_the_same_404_as_for_an_entry_that_does_not_exist(partner: Any) -> None:
    about_mark = ask_police_incidents(partner)
    outside = partner("politie-rotterdam").ask(
        subject={"bsn": OUTSIDER}, categories=["police_incidents"], purpose="criminal_law"
    )
    about_outsider = outside.json()["id"]
    entries_before = AuditEntry.objects.filter(kind="notice").count()
    bodies = []
    for slug, request_id in [
        ("school-regenboog", about_mark),  # holds other categories, no Veilig Thuis
        ("jeugdbescherming-rr", about_mark),
        ("veilig-thuis-rr", about_outsider),  # Veilig Thuis, but not in a case of this person, nor the holder
        ("politie-rotterdam", "req_01JZZZZZZZZZZZZZZZZZZZZZZZ"),  # well formed, unknown
        ("politie-rotterdam", "not-a-request"),
        ("politie-rotterdam", "req_" + "A" * 200),
    ]:
        for body in ({"action": "clear"}, {"action": "postpone", "until": "2027-01-30", "reason": REASON}):
            answer = problem(partner(slug, "provider").post(url(request_id), body), 404)
            bodies.append({k: answer[k] for k in ("type", "title", "status", "detail", "code")})
    assert all(b == bodies[0] for b in bodies)
    assert AuditEntry.objects.filter(kind="notice").count() == entries_before
    assert not may_inform(
        organisation=Organisation.objects.get(slug="veilig-thuis-haaglanden"),
        request=InformationRequest.objects.get(pk=about_mark),
    )  # another region's Veilig Thuis, not in his case


def test_the_provider_scope_is_needed(partner: Any) -> None:
    request_id = ask_police_incidents(partner)
    answer = problem(partner("zvh-rr").post(url(request_id), {"action": "clear"}), 403)
    assert answer["code"] == "insufficient_scope"


def test_postpone_to_a_later_day_with_a_reason(partner: Any) -> None:
    request_id = ask_police_incidents(partner)
    day = created_on(request_id)
    until = day + dt.timedelta(days=60)
    police = partner("gemeente-rotterdam", "provider")
    response = police.post(url(request_id), {"action": "postpone", "until": until.isoformat(), "reason": REASON})
    assert response.status_code == 200, response.content
    assert response.json()["postponed_until"] == until.isoformat() == response.json()["inform_on"]
    assert EntryNotice.objects.get(pk=request_id).postpone_reason == REASON

    assert marks_timeline(day + dt.timedelta(days=28)).withheld_until == until
    assert marks_timeline(until - dt.timedelta(days=1)).entries == []
    assert [e.id for e in marks_timeline(until).entries] == [request_id]

    entry = AuditEntry.objects.filter(kind="notice").latest("index")
    assert entry.outcome == "postponed" and entry.detail["until"] == until.isoformat()
    assert "reporter" not in entry.leaf  # the reason stays out of the trail

    cleared = police.post(url(request_id), {"action": "clear"})
    assert cleared.status_code == 200
    late = police.post(
        url(request_id), {"action": "postpone", "until": (until + dt.timedelta(1)).isoformat(), "reason": REASON}
    )
    assert problem(late, 409)["code"] == "already_cleared"


def test_a_postponement_after_the_informing_day_is_refused(partner: Any, settings: Any) -> None:
    request_id = ask_police_incidents(partner)
    settings.GATEWAY_PORTAL_INFORM_DAYS = 0  # the day has come (no waiting in tests)
    until = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = partner("gemeente-rotterdam", "provider").post(
        url(request_id), {"action": "postpone", "until": until, "reason": REASON}
    )
    assert problem(response, 409)["code"] == "already_informed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "forget"}, "action"),
        ({"action": 1}, "action"),
        ({"action": "clear", "until": "2027-01-30"}, "until"),
        ({"action": "clear", "reason": REASON}, "reason"),
        ({"action": "clear", "subject": {"bsn": MARK}}, "subject"),
        ({"action": "postpone", "reason": REASON}, "until"),
        ({"action": "postpone", "until": "2027-02-30", "reason": REASON}, "until"),
        ({"action": "postpone", "until": 20270130, "reason": REASON}, "until"),
        ({"action": "postpone", "until": "30-01-2027", "reason": REASON}, "until"),
        ({"action": "postpone", "until": "+28", "reason": REASON}, "until"),
        ({"action": "postpone", "until": "2027-01-30"}, "reason"),
        ({"action": "postpone", "until": "2027-01-30", "reason": "later"}, "reason"),
        (
            {"action": "postpone", "until": "2027-01-30", "reason": ["a reason of more than twenty characters"]},
            "reason",
        ),
        ({"action": "postpone", "until": "2027-01-30", "reason": "x" * 2001}, "reason"),
        ("clear", ""),
        ([{"action": "clear"}], ""),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(partner: Any, body: Any, field: str) -> None:
    request_id = ask_police_incidents(partner)
    answer = problem(partner("gemeente-rotterdam", "provider").post(url(request_id), body), 400)
    assert field in {e["field"] for e in answer.get("errors", [])} or not field
    assert not EntryNotice.objects.filter(pk=request_id).exists()
    assert AuditEntry.objects.filter(kind="rejected").latest("index").organisation == "gemeente-rotterdam"


@pytest.mark.parametrize("days_ahead", ["current", POSTPONE_MAX_DAYS + 1])
def test_a_postponement_only_moves_forward_and_not_too_far(partner: Any, days_ahead: Any) -> None:
    request_id = ask_police_incidents(partner)
    if days_ahead == "current":
        until = created_on(request_id) + dt.timedelta(days=28)
    else:
        until = timezone.localdate() + dt.timedelta(days=days_ahead)
    response = partner("gemeente-rotterdam", "provider").post(
        url(request_id), {"action": "postpone", "until": until.isoformat(), "reason": REASON}
    )
    assert [e["field"] for e in problem(response, 400)["errors"]] == ["until"]
    assert not EntryNotice.objects.filter(pk=request_id, postponed_until__isnull=False).exists()


def test_the_answer_does_not_tell_whether_the_subject_is_a_suspect(partner: Any) -> None:
    """The municipality holds what Veilig Thuis asked about Mark (a suspect) and about Sanne (not): the same
    answers."""
    police = partner("gemeente-rotterdam", "provider")
    answers = []
    for bsn in (MARK, SANNE):
        request_id = ask_police_incidents(partner, bsn)
        until = (created_on(request_id) + dt.timedelta(days=40)).isoformat()
        postponed = police.post(url(request_id), {"action": "postpone", "until": until, "reason": REASON})
        cleared = police.post(url(request_id), {"action": "clear"})
        again = police.post(url(request_id), {"action": "clear"})
        answers.append(
            [
                (
                    r.status_code,
                    sorted(r.json()),
                    {k: v for k, v in r.json().items() if k not in ("request_id", "cleared_at")},
                )
                for r in (postponed, cleared, again)
            ]
        )
    assert answers[0] == answers[1]


def test_no_e_mail_until_he_may_see_it_then_once(partner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    waits = ask_police_incidents(partner)
    cleared = ask_police_incidents(partner)
    postponed = ask_police_incidents(partner)
    day = created_on(waits)
    police = partner("gemeente-rotterdam", "provider")
    later = (day + dt.timedelta(days=50)).isoformat()
    assert police.post(url(postponed), {"action": "postpone", "until": later, "reason": REASON}).status_code == 200
    mail.outbox.clear()
    assert [notify_new_entry(i) for i in (waits, cleared, postponed)] == [0, 0, 0]
    assert mail.outbox == [] and notice_news_due() == 0

    assert police.post(url(cleared), {"action": "clear"}).status_code == 200
    assert notice_news_release(cleared) == 1  # what the task queued on commit does
    assert notice_news_release(cleared) == 0 and notice_news_due() == 0
    assert notice_news_due(today=day + dt.timedelta(days=28)) == 1  # the informing day of the one that waits
    assert notice_news_due(today=day + dt.timedelta(days=49)) == 0
    assert notice_news_due(today=day + dt.timedelta(days=50)) == 1  # the postponed one
    assert notice_news_due(today=day + dt.timedelta(days=400)) == 0
    account = Person.objects.get(bsn=MARK).portal_account.user.email
    assert [m.to for m in mail.outbox] == [[account]] * 3


def test_the_beat_runs_the_held_e_mails(settings: Any) -> None:
    from portal.tasks import notice_news_due_task

    assert settings.CELERY_BEAT_SCHEDULE["portal-notice-news"]["task"] == notice_news_due_task.name


def start(value: str) -> subprocess.CompletedProcess[str]:
    """Start Django with ``GATEWAY_PORTAL_INFORM_DAYS=value`` in a process of its own; print the term."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "GATEWAY_PORTAL_INFORM_DAYS": value}
    code = "import django; django.setup(); from django.conf import settings; print(settings.GATEWAY_PORTAL_INFORM_DAYS)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("value", "days"), [("", "28"), ("28", "28"), (" 14 ", "14"), ("1", "1")])
def test_a_clear_informing_term_is_used(value: str, days: str) -> None:
    result = start(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == days


@pytest.mark.parametrize("value", ["ture", "0", "29", "365", "-1", "2.5", "4 weeks", "28d"])
def test_an_unclear_informing_term_stops_the_start(value: str) -> None:
    """Safer by default: too short tips a suspect off, too long breaks the law's four weeks, a typo is neither."""
    result = start(value)
    assert result.returncode != 0
    assert "GATEWAY_PORTAL_INFORM_DAYS" in result.stderr.strip().splitlines()[-1]
