"""Oversight at a glance (issue #6, item 4): the misuse signals as tables of plain rows, the charts as inline SVG
with their counts and nothing external, and the oversight page for the network's officer and an organisation's
officer, each over their own part of the trail."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone

from audit.ledger import Actor, EntryDraft, audit_append
from audit.models import AuditEntry, AuditFacet, AuditKind, OfficerProfile
from consent.models import Case
from console.charts import stacked_bar_chart
from console.oversight import (
    CaseFacts,
    CaseRow,
    CountRow,
    RequestRow,
    VolumeRow,
    case_facts,
    case_signals,
    consent_bursts,
    daily_series,
    denial_bursts,
    emergency_clusters,
    oversight_signals,
    said,
    volume_spikes,
)
from tests.emergency import released_emergency

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
VT = "veilig-thuis-rr"
MARK, FATIMA, SANNE = "999990019", "999990044", "999990007"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"


# --- volume_spike: last 24 h against the median day of the 28 before, flagged above max(3 * median, 20) ---------


def baseline(per_day: list[int], organisation: str = "org") -> list[VolumeRow]:
    """``per_day[k]`` requests on day k + 1 before the last 24 hours (a day's requests at its middle)."""
    return [VolumeRow(organisation, NOW - (k + 1) * DAY - 12 * HOUR, count) for k, count in enumerate(per_day)]


VOLUME_TABLE: list[tuple[str, list[int], int, bool]] = [
    # name, the 28 days before, the last 24 hours, flagged
    ("quiet organisation under the floor", [0] * 28, 20, False),
    ("quiet organisation over the floor", [0] * 28, 21, True),
    ("usual 5 a day: the floor of 20 applies", [5] * 28, 20, False),
    ("usual 5 a day, 21 today", [5] * 28, 21, True),
    ("usual 10 a day: 3 * median is 30", [10] * 28, 30, False),
    ("usual 10 a day, 31 today", [10] * 28, 31, True),
    ("a few busy days do not move the median", [10] * 24 + [200] * 4, 31, True),
    ("busy half the month: the median follows", [10] * 14 + [40] * 14, 60, False),
]


@pytest.mark.parametrize(("name", "days", "recent", "flagged"), VOLUME_TABLE, ids=[row[0] for row in VOLUME_TABLE])
def test_volume_spike(name: str, days: list[int], recent: int, flagged: bool) -> None:
    rows = [*baseline(days), VolumeRow("org", NOW - HOUR, recent)]
    signals = volume_spikes(rows, now=NOW)
    assert [(s.kind, s.organisation, s.count) for s in signals] == (
        [("volume_spike", "org", recent)] if flagged else []
    )


def test_volume_spike_ignores_what_is_older_than_the_baseline_and_counts_each_organisation_apart() -> None:
    rows = [
        VolumeRow("old", NOW - 40 * DAY, 500),  # long before the baseline: no usual level from it
        VolumeRow("old", NOW - 2 * HOUR, 21),
        *baseline([10] * 28, "busy"),
        VolumeRow("busy", NOW - 2 * HOUR, 25),
        VolumeRow("other", NOW - 23 * HOUR, 30),
        VolumeRow("other", NOW - 25 * HOUR, 1000),  # yesterday, not the last 24 hours
    ]
    signals = volume_spikes(rows, now=NOW)
    assert {(s.organisation, s.count) for s in signals} == {("old", 21), ("other", 30)}
    assert all(s.since == NOW - DAY and s.until == NOW for s in signals)


def test_volume_spike_counts_dry_runs_and_consent_records_with_the_requests() -> None:
    """Issue #9 item 8: probing by dry run and opening the way by consent records count as volume too."""
    rows = [
        *baseline([5] * 28),
        VolumeRow("org", NOW - HOUR, 8),
        VolumeRow("org", NOW - HOUR, 9, "check"),
        VolumeRow("org", NOW - HOUR, 4, "consent"),
    ]
    (signal,) = volume_spikes(rows, now=NOW)
    assert signal.count == 21
    assert signal.detail.startswith("21 entries (8 requests, 9 dry runs, 4 consent records) in the last 24 hours")
    # the same 21 as dry runs alone, over a baseline of dry runs, are flagged alike
    checks = [VolumeRow("org", row.at, row.count, "check") for row in baseline([5] * 28)]
    (alone,) = volume_spikes([*checks, VolumeRow("org", NOW - HOUR, 21, "check")], now=NOW)
    assert alone.detail.startswith("21 dry runs in the last 24 hours")


SAID_TABLE: list[tuple[dict[str, int], str, str]] = [
    ({"request": 1}, "", "1 request"),
    ({"request": 3}, "denied", "3 denied requests"),
    ({"check": 1, "request": 0}, "", "1 dry run"),
    ({"consent": 2, "request": 1}, "", "3 entries (1 request, 2 consent records)"),
    ({"check": 2, "request": 5}, "denied", "7 denied entries (5 requests, 2 dry runs)"),
]


@pytest.mark.parametrize(("counts", "adjective", "words"), SAID_TABLE)
def test_a_count_is_said_with_what_it_counts(counts: dict[str, int], adjective: str, words: str) -> None:
    assert said(counts, adjective) == words


# --- denial_burst: ≥ 10 denials by one client within 10 minutes -----------------------------------------------


def denials(client: str, minutes: list[float], outcome: str = "denied", kind: str = "request") -> list[RequestRow]:
    return [RequestRow(NOW + m * MINUTE, f"org-{client}", client, outcome, kind=kind) for m in minutes]


DENIAL_TABLE: list[tuple[str, list[RequestRow], list[tuple[str, int]]]] = [
    ("nine denials", denials("a", list(range(9))), []),
    ("ten denials in nine minutes", denials("a", list(range(10))), [("a", 10)]),
    ("ten denials in exactly ten minutes", denials("a", [m * 10 / 9 for m in range(10)]), [("a", 10)]),
    ("ten denials in eleven minutes", denials("a", [m * 11 / 9 for m in range(10)]), []),
    ("twelve in a row make one burst", denials("a", [m / 2 for m in range(12)]), [("a", 12)]),
    ("releases do not count", denials("a", list(range(5))) + denials("a", list(range(5, 10)), "released"), []),
    ("two clients, five each", denials("a", list(range(5))) + denials("b", list(range(5))), []),
    (
        "two bursts an hour apart",
        denials("a", list(range(10))) + denials("a", [60 + m for m in range(10)]),
        [("a", 10), ("a", 10)],
    ),
    ("out of order rows", denials("a", list(reversed(range(10)))), [("a", 10)]),
    ("ten denied dry runs: probing", denials("a", list(range(10)), kind="check"), [("a", 10)]),
    (
        "denied requests and dry runs together",
        denials("a", list(range(5))) + denials("a", list(range(5, 10)), kind="check"),
        [("a", 10)],
    ),
    ("released dry runs do not count", denials("a", list(range(10)), "released", kind="check"), []),
    ("consent entries are no denials", denials("a", list(range(10)), kind="consent"), []),
]


@pytest.mark.parametrize(("name", "rows", "expected"), DENIAL_TABLE, ids=[row[0] for row in DENIAL_TABLE])
def test_denial_burst(name: str, rows: list[RequestRow], expected: list[tuple[str, int]]) -> None:
    signals = denial_bursts(rows)
    assert [(s.client_id, s.count) for s in signals] == expected
    for signal in signals:
        assert signal.kind == "denial_burst" and signal.organisation == f"org-{signal.client_id}"
        assert signal.until is not None and signal.since <= signal.until
        assert f"{signal.count} denied " in signal.detail


def test_a_mixed_denial_burst_says_what_it_rests_on() -> None:
    (signal,) = denial_bursts(denials("a", list(range(6))) + denials("a", [6, 7, 8, 9], kind="check"))
    assert signal.detail.startswith("10 denied entries (6 requests, 4 dry runs) between ")


# --- emergency_cluster: ≥ 3 emergency requests by one client within 24 hours ----------------------------------


def emergencies(client: str, hours: list[float], emergency: bool = True, kind: str = "request") -> list[RequestRow]:
    return [RequestRow(NOW + h * HOUR, "slachtofferhulp", client, "released", emergency, kind) for h in hours]


EMERGENCY_TABLE: list[tuple[str, list[RequestRow], list[tuple[str, int]]]] = [
    ("two in an hour", emergencies("a", [0, 0.5]), []),
    ("three in a day", emergencies("a", [0, 11, 23]), [("a", 3)]),
    ("three in exactly 24 hours", emergencies("a", [0, 12, 24]), [("a", 3)]),
    ("three in 25 hours", emergencies("a", [0, 12, 25]), []),
    ("ordinary requests do not count", emergencies("a", [0, 1]) + emergencies("a", [2], emergency=False), []),
    ("three clients, one each", emergencies("a", [0]) + emergencies("b", [1]) + emergencies("c", [2]), []),
    ("five over two days, one cluster", emergencies("a", [0, 10, 20, 30, 40]), [("a", 5)]),
    ("emergency dry runs count", emergencies("a", [0, 1]) + emergencies("a", [2], kind="check"), [("a", 3)]),
    ("three emergency dry runs", emergencies("a", [0, 1, 2], kind="check"), [("a", 3)]),
]


@pytest.mark.parametrize(("name", "rows", "expected"), EMERGENCY_TABLE, ids=[row[0] for row in EMERGENCY_TABLE])
def test_emergency_cluster(name: str, rows: list[RequestRow], expected: list[tuple[str, int]]) -> None:
    signals = emergency_clusters(rows)
    assert [(s.client_id, s.count) for s in signals] == expected
    assert all(s.kind == "emergency_cluster" for s in signals)


# --- consent_burst: ≥ 5 consent records by one client within an hour ------------------------------------------


def consents(client: str, minutes: list[float], kind: str = "consent") -> list[RequestRow]:
    return [RequestRow(NOW + m * MINUTE, "gemeente-schiedam", client, "recorded", kind=kind) for m in minutes]


CONSENT_TABLE: list[tuple[str, list[RequestRow], list[tuple[str, int]]]] = [
    ("four in an hour", consents("a", [0, 10, 20, 30]), []),
    ("five in an hour", consents("a", [0, 10, 20, 30, 40]), [("a", 5)]),
    ("five in exactly an hour", consents("a", [0, 15, 30, 45, 60]), [("a", 5)]),
    ("five in 61 minutes", consents("a", [0, 15, 30, 45, 61]), []),
    ("requests do not count", consents("a", [0, 1, 2, 3]) + consents("a", [4], kind="request"), []),
    ("two clients, three each", consents("a", [0, 1, 2]) + consents("b", [0, 1, 2]), []),
]


@pytest.mark.parametrize(("name", "rows", "expected"), CONSENT_TABLE, ids=[row[0] for row in CONSENT_TABLE])
def test_consent_burst(name: str, rows: list[RequestRow], expected: list[tuple[str, int]]) -> None:
    signals = consent_bursts(rows)
    assert [(s.client_id, s.count) for s in signals] == expected
    for signal in signals:
        assert signal.kind == "consent_burst" and signal.label == "Burst of consent records"
        assert signal.detail.startswith(f"{signal.count} consent records between ")


# --- closed_or_foreign_case: the case is closed, unknown, or the requester does not take part --------------------

CASES = {
    "OPEN": CaseFacts(closed=False, participants=frozenset({"vt", "police"})),
    "CLOSED": CaseFacts(closed=True, participants=frozenset({"vt", "police"})),
}

CASE_TABLE: list[tuple[str, str, str, str | None]] = [
    # name, requester, case, what the signal says (None: no signal)
    ("a participant in an open case", "vt", "OPEN", None),
    ("a participant in a closed case", "vt", "CLOSED", "which is closed"),
    ("an outsider in an open case", "school", "OPEN", "in which school does not take part"),
    ("an outsider in a closed case", "school", "CLOSED", "which is closed"),
    ("a case nobody knows", "vt", "MADE-UP", "which is not a known case"),
]


@pytest.mark.parametrize(("name", "requester", "case", "why"), CASE_TABLE, ids=[row[0] for row in CASE_TABLE])
def test_closed_or_foreign_case(name: str, requester: str, case: str, why: str | None) -> None:
    rows = [CaseRow(requester, f"{requester}-client", case, NOW, NOW + HOUR, 2)]
    signals = case_signals(rows, CASES)
    if why is None:
        assert signals == []
    else:
        (signal,) = signals
        assert (signal.kind, signal.organisation, signal.client_id, signal.count) == (
            "closed_or_foreign_case",
            requester,
            f"{requester}-client",
            2,
        )
        assert why in signal.detail and case in signal.detail
        assert (signal.since, signal.until) == (NOW, NOW + HOUR)


def test_dry_runs_and_consent_records_naming_a_foreign_case_are_signalled_with_the_requests() -> None:
    rows = [
        CaseRow("school", "s", "OPEN", NOW, NOW, 2, "check"),
        CaseRow("school", "s", "OPEN", NOW - HOUR, NOW - HOUR, 1, "consent"),
        CaseRow("municipality", "m", "CLOSED", NOW, NOW, 1, "consent"),
        CaseRow("vt", "v", "OPEN", NOW, NOW, 3, "check"),  # a participant: nothing to see
    ]
    signals = case_signals(rows, CASES)
    assert [(s.organisation, s.count, s.since, s.until) for s in signals] == [
        ("municipality", 1, NOW, NOW),
        ("school", 3, NOW - HOUR, NOW),
    ]
    assert signals[0].detail == "1 consent record naming case CLOSED, which is closed"
    assert (
        signals[1].detail
        == "3 entries (2 dry runs, 1 consent record) naming case OPEN, in which school does not take part"
    )


def test_case_rows_of_one_client_and_case_are_one_signal() -> None:
    rows = [
        CaseRow("school", "s", "OPEN", NOW, NOW, 1),
        CaseRow("school", "s", "OPEN", NOW - DAY, NOW - HOUR, 3),
        CaseRow("school", "t", "OPEN", NOW, NOW, 1),
    ]
    signals = case_signals(rows, CASES)
    assert [(s.client_id, s.count, s.since, s.until) for s in signals] == [
        ("s", 4, NOW - DAY, NOW),
        ("t", 1, NOW, NOW),
    ]


@pytest.mark.django_db
def test_case_facts_reads_phase_and_participants() -> None:
    Case.objects.filter(reference=CASE_2).update(phase="closed")
    facts = case_facts([CASE_1, CASE_2, "NOT-A-CASE"])
    assert set(facts) == {CASE_1, CASE_2}
    assert not facts[CASE_1].closed and facts[CASE_2].closed
    assert VT in facts[CASE_1].participants and "gemeente-rotterdam" not in facts[CASE_1].participants


# --- Daily series and the chart ---------------------------------------------------------------------------------

FIRST = dt.date(2026, 3, 1)
LAST = dt.date(2026, 3, 3)


def test_daily_series_totals_first_then_organisations_by_volume_with_every_day() -> None:
    rows = [
        CountRow(FIRST, "a", "released", 2),
        CountRow(FIRST, "b", "denied", 1),
        CountRow(LAST, "b", "partial", 4),
        CountRow(LAST, "b", "pending", 1),
        CountRow(LAST + dt.timedelta(days=1), "a", "released", 50),  # outside the period
        CountRow(FIRST, "a", "error", 9),  # not a request outcome
    ]
    total, b, a = daily_series(rows, first=FIRST, last=LAST)
    assert (total.organisation, b.organisation, a.organisation) == (None, "b", "a")
    assert [d.day for d in total.days] == [FIRST, FIRST + dt.timedelta(days=1), LAST]
    assert [d.total for d in total.days] == [3, 0, 5]
    assert total.outcome_totals() == {"released": 2, "partial": 4, "denied": 1, "pending": 1}
    assert (a.total, b.total, total.total) == (2, 6, 8)


def test_daily_series_of_an_empty_period_is_one_total_of_zeros() -> None:
    (total,) = daily_series([], first=FIRST, last=LAST)
    assert total.organisation is None and total.total == 0 and len(total.days) == 3


def test_the_chart_is_inline_svg_with_its_counts_and_nothing_external() -> None:
    rows = [
        CountRow(FIRST, "politie-<x>", "released", 7),
        CountRow(FIRST, "politie-<x>", "denied", 3),
        CountRow(LAST, "politie-<x>", "pending", 2),
    ]
    series = daily_series(rows, first=FIRST, last=LAST)[1]
    svg = str(stacked_bar_chart(series, chart_id="c1"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "aria-label=" in svg and '<title id="c1-title">' in svg
    assert "2026-03-01: 10 requests (7 released (permit), 0 partial, 3 denied, 0 pending (holder decides))" in svg
    assert "2026-03-03: 2 requests" in svg
    assert ">10</text>" in svg  # the day's total printed above its bar
    assert "released (permit): 7" in svg and "denied: 3" in svg  # the legend in words, with the totals
    assert "politie-&lt;x&gt;" in svg and "<x>" not in svg
    # nothing loads from elsewhere: only the SVG namespace names a URL, every fill points into the SVG itself
    assert re.findall(r"https?://[^\"' ]+", svg) == ["http://www.w3.org/2000/svg"]
    assert "href" not in svg and "<script" not in svg and "<image" not in svg and " style=" not in svg
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {f"#c1-{o}" for o in ("released", "partial", "denied", "pending")}


# --- The page ---------------------------------------------------------------------------------------------------


@pytest.fixture
def console(settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False


def officer(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def involves(entry: AuditEntry, slug: str) -> bool:
    return AuditFacet.objects.filter(entry=entry, key__in=["requester", "holder"], value=slug).exists()


@pytest.fixture
def world(partner: Any) -> dict[str, int]:
    """The municipality asks about Fatima naming a case it does not take part in (VT neither asks nor holds), and
    victim support asks VT's risk assessment in an emergency three times."""
    municipality = partner("gemeente-rotterdam")
    foreign = municipality.ask(
        subject={"bsn": FATIMA},
        categories=["health_summary"],
        purpose="care_coordination",
        case_reference=CASE_1,
        providers={"health_summary": "ggz-rijnmond"},
    )
    assert foreign.status_code == 200, foreign.content
    for _ in range(3):  # Veilig Thuis weighs each in the urgent lane (issue 11) and releases it
        released_emergency(
            partner,
            "slachtofferhulp",
            subject={"bsn": MARK},
            categories=["risk_assessment"],
            purpose="acute_danger",
            emergency=True,
            justification="Mark was seen outside the shelter with a weapon; act now.",
        )
    return {"foreign": foreign.json()["audit"]["index"]}


@pytest.mark.django_db
def test_the_network_officer_sees_every_organisation_and_every_signal(console: None, world: dict[str, int]) -> None:
    before = AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).count()
    response = officer("privacy").get("/privacy/oversight/")
    assert response.status_code == 200, response.content[:2000]
    charts = response.context["charts"]
    total = charts[0]["series"]
    today = total.days[-1]
    requests_today = [
        e for e in AuditEntry.objects.filter(kind=AuditKind.REQUEST) if e.at.astimezone().date() == today.day
    ]
    assert today.total == len(requests_today)
    assert "gemeente-rotterdam" in {chart["series"].organisation for chart in charts[1:]}
    signals = {(row["signal"].kind, row["signal"].organisation) for row in response.context["signals"]}
    assert ("closed_or_foreign_case", "gemeente-rotterdam") in signals
    assert ("emergency_cluster", "slachtofferhulp") in signals
    html = response.content.decode()
    assert "<svg" in html and "Requests per day by outcome, all organisations" in html
    assert f"naming case {CASE_1}, in which gemeente-rotterdam does not take part" in html
    assert 'src="http' not in html and "<script" not in html
    # looking is recorded
    assert AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).count() == before + 1
    view = AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).latest("index")
    assert (view.user, view.outcome, view.detail["filters"]) == ("privacy", "oversight", {"days": 28})


@pytest.mark.django_db
def test_an_organisation_officer_sees_only_its_part(console: None, world: dict[str, int]) -> None:
    response = officer("privacy-vt").get("/privacy/oversight/", {"days": "7"})
    assert response.status_code == 200, response.content[:2000]
    charts = response.context["charts"]
    total = charts[0]["series"]
    assert len(total.days) == 7
    first = total.days[0].day
    in_period = [e for e in AuditEntry.objects.filter(kind=AuditKind.REQUEST) if e.at.astimezone().date() >= first]
    mine = [e for e in in_period if involves(e, VT)]
    assert total.total == len(mine) < len(in_period)
    assert {chart["series"].organisation for chart in charts[1:]} == {e.organisation for e in mine}
    assert "gemeente-rotterdam" not in {chart["series"].organisation for chart in charts[1:]}
    signals = {(row["signal"].kind, row["signal"].organisation) for row in response.context["signals"]}
    assert ("emergency_cluster", "slachtofferhulp") in signals  # VT held the data
    assert all(organisation != "gemeente-rotterdam" for _, organisation in signals)
    assert "Veilig Thuis" in response.content.decode()


@pytest.mark.django_db
def test_the_page_needs_an_officer(console: None) -> None:
    assert Client().get("/privacy/oversight/").status_code == 302
    stranger = Client()
    stranger.force_login(User.objects.get(username="sanne"))
    assert stranger.get("/privacy/oversight/").status_code == 404


@pytest.mark.django_db
def test_the_signals_read_dry_runs_and_consent_records_from_the_trail(partner: Any) -> None:
    """Issue #9 item 8: a housing corporation probing by dry run (denied, naming a case it is not part of) and a
    municipality recording consents in a hurry are signalled, as requests would be. Withdrawals, the system's
    expiries and consents given in the portal are no consent records of the organisation."""
    housing = partner("woonstad-maasstad")
    for _ in range(10):
        response = housing.post(
            "/api/v1/decisions",
            {
                "subject": {"bsn": SANNE},
                "categories": ["address"],
                "purpose": "zvh_case_meeting",
                "case_reference": CASE_1,
            },
        )
        assert response.status_code == 200, response.content
        assert response.json()["decisions"][0]["outcome"] == "deny"
    with transaction.atomic():
        for outcome in ("recorded", "recorded", "withdrawn", "recorded", "completed", "recorded"):
            audit_append(
                EntryDraft(
                    kind="consent",
                    actor=Actor(organisation="gemeente-schiedam", client_id="gemeente-schiedam"),
                    reference="consent:0",
                    outcome=outcome,
                )
            )
        audit_append(EntryDraft(kind="consent", actor=Actor(user="system:consent_expire"), outcome="expired"))
        # given by a family member in the portal, at the municipality's request: the family's act, not counted
        audit_append(
            EntryDraft(
                kind="consent",
                actor=Actor(organisation="gemeente-schiedam", acting_user="portal:fatima"),
                outcome="recorded",
            )
        )
    signals = oversight_signals(OfficerProfile.objects.get(user__username="privacy"), now=timezone.now())
    found = {(s.kind, s.organisation): s for s in signals}
    denial = found[("denial_burst", "woonstad-maasstad")]
    assert denial.count == 10 and denial.detail.startswith("10 denied dry runs between ")
    case = found[("closed_or_foreign_case", "woonstad-maasstad")]
    assert case.count == 10 and case.detail.startswith(f"10 dry runs naming case {CASE_1}, in which woonstad-maasstad")
    burst = found[("consent_burst", "gemeente-schiedam")]
    assert burst.count == 5 and burst.client_id == "gemeente-schiedam"
    assert not [s for s in signals if s.kind == "consent_burst" and s.client_id is None]
    assert ("consent_burst", None) not in found
