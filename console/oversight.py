"""Oversight at a glance (product.md, "Privacy officers": "see anomalies"): requests and their outcomes per day and
organisation, and signals of possible misuse, always over the officer's part of the trail.

Counting and detection are pure functions of plain rows (:class:`CountRow`, :class:`VolumeRow`,
:class:`RequestRow`, :class:`CaseRow`), so each signal is tested with a table of rows; the selectors below read
those rows from :func:`console.access.scoped_entries`. A signal is a reason to look, not a finding: the
officer follows it into the search.

The signals look at everything a partner does to learn about a person, not only at requests: a dry run
(``check``) tells the caller what a request would get, so a burst of denied dry runs is probing as much as a burst
of denied requests; and recording a consent (``consent`` entries written by a partner system) opens the way to
data, so a burst of consent records, or one naming a case the recorder is not part of, is as suspicious as a
request (:data:`SIGNAL_KINDS_COUNTED`). Consents a family member gives in the portal are the family's act and are
not counted. The charts count requests only: their outcomes are what was released.

The signals and their thresholds:

- ``volume_spike``: an organisation's requests, dry runs and consent records in the last 24 hours against its
  median daily volume over the 28 days before; flagged above ``max(VOLUME_FACTOR * median, VOLUME_FLOOR)``. The
  floor keeps a quiet organisation's ordinary day from raising it.
- ``closed_or_foreign_case``: requests, dry runs and consent records naming a case that is closed, unknown, or one
  in which the organisation does not take part. The case is judged as it is now (phase and participants are not
  versioned).
- ``denial_burst``: ``DENIAL_BURST_COUNT`` or more denied requests or dry runs by one client within
  ``DENIAL_BURST_WINDOW``: someone trying until something works.
- ``emergency_cluster``: ``EMERGENCY_CLUSTER_COUNT`` or more emergency requests or dry runs by one client within
  ``EMERGENCY_CLUSTER_WINDOW``: emergency access is for the exception (AVG art. 6(1)(d)), not the routine.
- ``consent_burst``: ``CONSENT_BURST_COUNT`` or more consent records by one client within ``CONSENT_BURST_WINDOW``:
  consents are taken one conversation at a time; many at once may be made up to open the way to data.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from audit.models import AuditEntry, AuditKind, OfficerProfile
from consent.choices import CasePhase
from consent.models import Case
from console.access import scoped_entries

# --- Thresholds ----------------------------------------------------------------------------------------------

DAY = dt.timedelta(days=1)
#: Days before the last 24 hours whose median daily volume is an organisation's usual level.
VOLUME_BASELINE_DAYS = 28
#: The last 24 hours are flagged above this many times the median ...
VOLUME_FACTOR = 3
#: ... and above this many requests at least.
VOLUME_FLOOR = 20
#: Denied requests by one client ...
DENIAL_BURST_COUNT = 10
#: ... within this time.
DENIAL_BURST_WINDOW = dt.timedelta(minutes=10)
#: Emergency requests by one client ...
EMERGENCY_CLUSTER_COUNT = 3
#: ... within this time.
EMERGENCY_CLUSTER_WINDOW = dt.timedelta(hours=24)
#: Consent records by one client ...
CONSENT_BURST_COUNT = 5
#: ... within this time.
CONSENT_BURST_WINDOW = dt.timedelta(hours=1)
#: How far back bursts, clusters and case signals are looked for.
SIGNAL_LOOKBACK = dt.timedelta(days=28)

#: The overall outcome of a request entry (api.md): all released, some, none, or waiting for the holder.
OUTCOMES = ("released", "partial", "denied", "pending")

SIGNAL_KINDS = {
    "volume_spike": "Volume far above usual",
    "closed_or_foreign_case": "Closed or foreign case",
    "denial_burst": "Burst of denials",
    "emergency_cluster": "Many emergency requests",
    "consent_burst": "Burst of consent records",
}

#: The entry kinds the signals count, and how a count of each is said.
REQUEST, CHECK, CONSENT = AuditKind.REQUEST.value, AuditKind.CHECK.value, AuditKind.CONSENT.value
SIGNAL_KINDS_COUNTED = {
    REQUEST: ("request", "requests"),
    CHECK: ("dry run", "dry runs"),
    CONSENT: ("consent record", "consent records"),
}
#: Consent entries that are no record of a consent: a withdrawal narrows what is shared, an expiry is the system's.
#: (Consents given in the portal have no client and are not counted either: see :func:`scoped_activity`.)
CONSENT_NOT_A_RECORD = ("withdrawn", "expired")


# --- Plain rows ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountRow:
    """Requests of one organisation with one outcome on one day."""

    day: dt.date
    organisation: str | None
    outcome: str | None
    count: int


@dataclass(frozen=True)
class VolumeRow:
    """``count`` entries of one kind (request, dry run, consent record) of an organisation at (or counted from)
    ``at``."""

    organisation: str | None
    at: dt.datetime
    count: int = 1
    kind: str = REQUEST


@dataclass(frozen=True)
class RequestRow:
    """One request, dry run or consent record, as far as the burst and cluster signals need it."""

    at: dt.datetime
    organisation: str | None
    client_id: str | None
    outcome: str | None = None
    emergency: bool = False
    kind: str = REQUEST


@dataclass(frozen=True)
class CaseRow:
    """``count`` entries of one kind by one client naming one case, the first and the last at the times given."""

    organisation: str | None
    client_id: str | None
    case_reference: str
    first: dt.datetime
    last: dt.datetime
    count: int = 1
    kind: str = REQUEST


@dataclass(frozen=True)
class CaseFacts:
    """What the case signal needs to know about a case, now."""

    closed: bool
    participants: frozenset[str]


@dataclass(frozen=True)
class Signal:
    """A possible misuse to look into: what, by whom, since when and how many entries (requests, dry runs, consent
    records) it rests on."""

    kind: str
    organisation: str | None
    client_id: str | None
    detail: str
    since: dt.datetime
    count: int
    until: dt.datetime | None = None

    @property
    def label(self) -> str:
        return SIGNAL_KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Day:
    """One day of a series: the count per outcome (every outcome of :data:`OUTCOMES` present)."""

    day: dt.date
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Series:
    """Requests per day and outcome, of one organisation or (``organisation`` None) of all together."""

    organisation: str | None
    days: Sequence[Day] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    def outcome_totals(self) -> dict[str, int]:
        return {outcome: sum(day.counts[outcome] for day in self.days) for outcome in OUTCOMES}


# --- Pure functions ------------------------------------------------------------------------------------------


def daily_series(rows: Iterable[CountRow], *, first: dt.date, last: dt.date) -> list[Series]:
    """The total series, then one per organisation (most requests first), each with every day from ``first`` to
    ``last`` (days without requests count zero). Rows outside the period and outcomes other than
    :data:`OUTCOMES` are left out."""
    span = (last - first).days + 1
    days = [first + dt.timedelta(days=n) for n in range(max(span, 0))]
    counts: dict[str | None, dict[dt.date, dict[str, int]]] = defaultdict(
        lambda: {day: dict.fromkeys(OUTCOMES, 0) for day in days}
    )
    for row in rows:
        if not first <= row.day <= last or row.outcome not in OUTCOMES:
            continue
        for key in (None, row.organisation or "(none)"):
            counts[key][row.day][row.outcome] += row.count
    counts[None]  # the total series, even for a period without requests
    organisations = sorted(
        (key for key in counts if key is not None),
        key=lambda key: (-sum(sum(day.values()) for day in counts[key].values()), key),
    )
    return [Series(key, [Day(day, counts[key][day]) for day in days]) for key in [None, *organisations]]


def said(counts: Mapping[str, int], adjective: str = "") -> str:
    """A count in words: ``"12 requests"`` for one kind, ``"12 entries (7 requests, 5 dry runs)"`` for several, so
    the officer sees at once what a signal rests on."""
    present = [(kind, n) for kind, n in sorted(counts.items(), key=lambda item: _kind_order(item[0])) if n]
    prefix = f"{adjective} " if adjective else ""
    if len(present) == 1:
        kind, n = present[0]
        return f"{n} {prefix}{_kind_words(kind, n)}"
    total = sum(n for _, n in present)
    return f"{total} {prefix}entries ({', '.join(f'{n} {_kind_words(kind, n)}' for kind, n in present)})"


def _kind_order(kind: str) -> tuple[int, str]:
    order = list(SIGNAL_KINDS_COUNTED)
    return (order.index(kind) if kind in order else len(order), kind)


def _kind_words(kind: str, n: int) -> str:
    singular, plural = SIGNAL_KINDS_COUNTED.get(kind, (f"{kind} entry", f"{kind} entries"))
    return singular if n == 1 else plural


def volume_spikes(rows: Iterable[VolumeRow], *, now: dt.datetime) -> list[Signal]:
    """``volume_spike``: per organisation, requests, dry runs and consent records in the 24 hours up to ``now``
    against the median of the :data:`VOLUME_BASELINE_DAYS` daily counts before them (days without any count zero)."""
    windows: dict[str | None, list[int]] = defaultdict(lambda: [0] * (VOLUME_BASELINE_DAYS + 1))
    recent_kinds: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        age = now - row.at
        offset = max(0, age // DAY)  # a row from a clock ahead of ours counts as now
        if offset <= VOLUME_BASELINE_DAYS:
            windows[row.organisation][offset] += row.count
            if offset == 0:
                recent_kinds[row.organisation][row.kind] += row.count
    signals = []
    for organisation, counts in sorted(windows.items(), key=lambda item: item[0] or ""):
        recent, baseline = counts[0], counts[1:]
        median = statistics.median(baseline)
        threshold = max(VOLUME_FACTOR * median, VOLUME_FLOOR)
        if recent > threshold:
            signals.append(
                Signal(
                    kind="volume_spike",
                    organisation=organisation,
                    client_id=None,
                    detail=(
                        f"{said(recent_kinds[organisation])} in the last 24 hours; usually {median:g} a day "
                        f"(median of the {VOLUME_BASELINE_DAYS} days before), flagged above {threshold:g}"
                    ),
                    since=now - DAY,
                    until=now,
                    count=recent,
                )
            )
    return signals


def _bursts(times: Sequence[dt.datetime], *, count: int, window: dt.timedelta) -> list[tuple[int, int]]:
    """Index ranges ``(start, end)`` (inclusive) of sorted ``times`` where at least ``count`` fall within
    ``window`` of each other; overlapping ranges merged, so one burst is one signal."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        if end - start + 1 >= count:
            if ranges and start <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
    return ranges


def _per_client(rows: Iterable[RequestRow]) -> dict[tuple[str | None, str | None], list[tuple[dt.datetime, str]]]:
    grouped: dict[tuple[str | None, str | None], list[tuple[dt.datetime, str]]] = defaultdict(list)
    for row in rows:
        grouped[(row.organisation, row.client_id)].append((row.at, row.kind))
    return {key: sorted(events) for key, events in grouped.items()}


def _clustered(
    rows: Iterable[RequestRow], *, kind: str, count: int, window: dt.timedelta, adjective: str, rule: str
) -> list[Signal]:
    signals = []
    for (organisation, client_id), events in sorted(_per_client(rows).items(), key=lambda item: str(item[0])):
        times = [at for at, _ in events]
        for start, end in _bursts(times, count=count, window=window):
            kinds: dict[str, int] = defaultdict(int)
            for _, entry_kind in events[start : end + 1]:
                kinds[entry_kind] += 1
            signals.append(
                Signal(
                    kind=kind,
                    organisation=organisation,
                    client_id=client_id,
                    detail=f"{said(kinds, adjective)} between {_when(times[start])} and {_when(times[end])} ({rule})",
                    since=times[start],
                    until=times[end],
                    count=end - start + 1,
                )
            )
    return signals


def _minutes(window: dt.timedelta) -> str:
    hours, rest = divmod(int(window.total_seconds()) // 60, 60)
    return f"{hours} hours" if hours and not rest else f"{hours * 60 + rest} minutes"


def _when(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(at) else at.strftime("%Y-%m-%d %H:%M")


def denial_bursts(rows: Iterable[RequestRow]) -> list[Signal]:
    """``denial_burst``: :data:`DENIAL_BURST_COUNT` or more denied requests or dry runs by one client within
    :data:`DENIAL_BURST_WINDOW`; rows with another outcome or of another kind are ignored."""
    return _clustered(
        (row for row in rows if row.outcome == "denied" and row.kind in (REQUEST, CHECK)),
        kind="denial_burst",
        count=DENIAL_BURST_COUNT,
        window=DENIAL_BURST_WINDOW,
        adjective="denied",
        rule=f"flagged at {DENIAL_BURST_COUNT} within {_minutes(DENIAL_BURST_WINDOW)}",
    )


def emergency_clusters(rows: Iterable[RequestRow]) -> list[Signal]:
    """``emergency_cluster``: :data:`EMERGENCY_CLUSTER_COUNT` or more emergency requests or dry runs by one client
    within :data:`EMERGENCY_CLUSTER_WINDOW`; rows without the emergency flag or of another kind are ignored."""
    return _clustered(
        (row for row in rows if row.emergency and row.kind in (REQUEST, CHECK)),
        kind="emergency_cluster",
        count=EMERGENCY_CLUSTER_COUNT,
        window=EMERGENCY_CLUSTER_WINDOW,
        adjective="emergency",
        rule=f"flagged at {EMERGENCY_CLUSTER_COUNT} within {_minutes(EMERGENCY_CLUSTER_WINDOW)}",
    )


def consent_bursts(rows: Iterable[RequestRow]) -> list[Signal]:
    """``consent_burst``: :data:`CONSENT_BURST_COUNT` or more consent records by one client within
    :data:`CONSENT_BURST_WINDOW`; rows of another kind are ignored."""
    return _clustered(
        (row for row in rows if row.kind == CONSENT),
        kind="consent_burst",
        count=CONSENT_BURST_COUNT,
        window=CONSENT_BURST_WINDOW,
        adjective="",
        rule=f"flagged at {CONSENT_BURST_COUNT} within {_minutes(CONSENT_BURST_WINDOW)}",
    )


def case_signals(rows: Iterable[CaseRow], cases: Mapping[str, CaseFacts]) -> list[Signal]:
    """``closed_or_foreign_case``: requests, dry runs and consent records naming a case that is closed, that is not
    known, or in which the organisation does not take part. One signal per client and case."""
    merged: dict[tuple[str | None, str | None, str], list[CaseRow]] = defaultdict(list)
    for row in rows:
        merged[(row.organisation, row.client_id, row.case_reference)].append(row)
    signals = []
    for (organisation, client_id, reference), group in sorted(merged.items(), key=lambda item: str(item[0])):
        facts = cases.get(reference)
        if facts is None:
            why = "which is not a known case"
        elif facts.closed:
            why = "which is closed"
        elif organisation not in facts.participants:
            why = f"in which {organisation or 'the requester'} does not take part"
        else:
            continue
        kinds: dict[str, int] = defaultdict(int)
        for row in group:
            kinds[row.kind] += row.count
        count = sum(kinds.values())
        signals.append(
            Signal(
                kind="closed_or_foreign_case",
                organisation=organisation,
                client_id=client_id,
                detail=f"{said(kinds)} naming case {reference}, {why}",
                since=min(row.first for row in group),
                until=max(row.last for row in group),
                count=count,
            )
        )
    return signals


# --- Selectors -----------------------------------------------------------------------------------------------


def scoped_requests(officer: OfficerProfile) -> QuerySet[AuditEntry]:
    """The ``request`` entries in the officer's part of the trail (the scope is a subquery on the facets, so each
    entry is counted once)."""
    return scoped_entries(officer).filter(kind=AuditKind.REQUEST)


def scoped_activity(officer: OfficerProfile) -> QuerySet[AuditEntry]:
    """What the signals count in the officer's part of the trail: requests, dry runs, and consent records written
    by a partner system (an OAuth client). Not withdrawals, not the system's expiries, and not a consent a family
    member gave in the portal: that is the family's act, not the organisation's."""
    return scoped_entries(officer).filter(
        Q(kind__in=[REQUEST, CHECK]) | (Q(kind=CONSENT, client_id__isnull=False) & ~Q(outcome__in=CONSENT_NOT_A_RECORD))
    )


def oversight_series(officer: OfficerProfile, *, days: int, today: dt.date | None = None) -> list[Series]:
    """Requests per local day and outcome over the ``days`` up to ``today``: the total, then per organisation."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = (
        scoped_requests(officer)
        .filter(at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "organisation", "outcome")
        .annotate(count=Count("index"))
        .order_by()
    )
    return daily_series(
        (CountRow(row["day"], row["organisation"], row["outcome"], row["count"]) for row in rows),
        first=first,
        last=today,
    )


def _volume_rows(entries: QuerySet[AuditEntry], now: dt.datetime) -> Iterator[VolumeRow]:
    """The last 24 hours counted exactly; the baseline counted by the hour (a median does not mind the hour)."""
    recent = entries.filter(at__gt=now - DAY, at__lte=now).values("organisation", "kind").annotate(count=Count("index"))
    for row in recent.order_by():
        yield VolumeRow(row["organisation"], now, row["count"], row["kind"])
    oldest = now - (VOLUME_BASELINE_DAYS + 1) * DAY
    baseline = (
        entries.filter(at__gt=oldest, at__lte=now - DAY)
        .annotate(hour=TruncHour("at", tzinfo=dt.UTC))
        .values("organisation", "kind", "hour")
        .annotate(count=Count("index"))
        .order_by()
    )
    for row in baseline:
        # the first hour may start before the baseline does; its entries belong to the oldest day
        at = max(row["hour"], oldest + dt.timedelta(seconds=1))
        yield VolumeRow(row["organisation"], at, row["count"], row["kind"])


def _request_rows(entries: QuerySet[AuditEntry]) -> Iterator[RequestRow]:
    for at, organisation, client_id, outcome, emergency, kind in entries.values_list(
        "at", "organisation", "client_id", "outcome", "emergency", "kind"
    ).order_by():
        yield RequestRow(at, organisation, client_id, outcome, emergency, kind)


def _case_rows(entries: QuerySet[AuditEntry]) -> list[CaseRow]:
    rows = (
        entries.exclude(case_reference__isnull=True)
        .exclude(case_reference="")
        .values("organisation", "client_id", "case_reference", "kind")
        .annotate(first=Min("at"), last=Max("at"), count=Count("index"))
        .order_by()
    )
    return [
        CaseRow(
            row["organisation"],
            row["client_id"],
            row["case_reference"],
            row["first"],
            row["last"],
            row["count"],
            row["kind"],
        )
        for row in rows
    ]


def case_facts(references: Iterable[str]) -> dict[str, CaseFacts]:
    """Phase and participants (organisation slugs) of the named cases, as they are now."""
    facts: dict[str, CaseFacts] = {}
    for case in Case.objects.filter(reference__in=set(references)).prefetch_related("participants"):
        facts[case.reference] = CaseFacts(
            closed=case.phase == CasePhase.CLOSED,
            participants=frozenset(organisation.slug for organisation in case.participants.all()),
        )
    return facts


def oversight_signals(officer: OfficerProfile, *, now: dt.datetime | None = None) -> list[Signal]:
    """Every signal in the officer's part of the trail, most recent first."""
    now = now or timezone.now()
    activity = scoped_activity(officer)
    recent = activity.filter(at__gt=now - SIGNAL_LOOKBACK, at__lte=now)
    case_rows = _case_rows(recent)
    signals = [
        *volume_spikes(_volume_rows(activity, now), now=now),
        *case_signals(case_rows, case_facts(row.case_reference for row in case_rows)),
        *denial_bursts(_request_rows(recent.filter(outcome="denied", kind__in=[REQUEST, CHECK]))),
        *emergency_clusters(_request_rows(recent.filter(emergency=True, kind__in=[REQUEST, CHECK]))),
        *consent_bursts(_request_rows(recent.filter(kind=CONSENT))),
    ]
    return sorted(signals, key=lambda signal: signal.until or signal.since, reverse=True)
