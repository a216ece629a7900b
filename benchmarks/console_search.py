"""Benchmark: the privacy console's search on a trail of N entries (``docs/performance.md``).

Run from the project root against PostgreSQL (the database is created when missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vd_bench .venv/bin/python benchmarks/console_search.py \\
        --entries 1000000

In one run it:

1. Prepares a real database: ``migrate`` and the demo world (:func:`demo.seed.seed_world`), so the
   organisations, categories, rules and officers are the ones the console knows.
2. Fills the trail up to N entries with :func:`benchmarks.trail.trail_load`: synthetic but realistic entries
   loaded with PostgreSQL ``COPY``, each row what ``audit_append`` writes, with every tree node and a signed
   checkpoint every ``--checkpoint-every`` entries, so ``audit_verify`` passes (see that module). A trail that
   already holds N entries is not loaded again, so a re-run measures at once; a shorter one is extended.
3. Times the console's queries through the real code path (:class:`console.filters.EntryFilterForm`,
   :func:`console.filters.filtered_entries`, :func:`console.access.scoped_entries`): one page as the
   search view reads it (``[:51]``: 50 rows and one to know whether there is an older page; keyset ``index < X``
   for a deep page) and, separately, ``count()`` and a count capped at 1,001 rows.
4. Times the same queries without the search indexes as the baseline: they are dropped inside a transaction
   that is rolled back, so the schema is intact afterwards. Reports baseline / indexed.
5. Runs ``EXPLAIN (ANALYZE, BUFFERS)`` for the slowest indexed page, tries the candidate fixes in the same
   rolled-back way (``--no-experiments`` skips them), and writes a Markdown report to stdout and to
   ``benchmarks/results/console_search-<N>.md``.

Speed is measured here, never in timed tests (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from benchmarks.trail import LoadReport, World, code_state, database_ensure, log, trail_load, world_facts, world_prepare  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PAGE = 51  # the search view reads 50 rows + 1 to know whether there is an older page
CAPPED = 1001


# --- The queries ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Query:
    """One console search: who looks (``network`` or the Veilig Thuis officer), the form's data, and for a
    deep page the keyset bound ``index < before``."""

    name: str
    officer: str
    data: dict[str, str]
    before: int | None = None


def console_queries(world: World, head: int, first_day: dt.date) -> list[Query]:
    ranked = sorted(range(len(world.bsns)), key=lambda i: world.subject_weights[i])
    typical = world.bsns[ranked[len(ranked) // 2]]
    busiest = world.bsns[ranked[-1]]
    week_from = first_day + dt.timedelta(days=182)
    week = {"date_from": week_from.isoformat(), "date_to": (week_from + dt.timedelta(days=6)).isoformat()}
    middle = head // 2
    return [
        Query("network: first page, no filter", "network", {}),
        Query("network: requester veilig-thuis-rr (busy)", "network", {"requester": "veilig-thuis-rr"}),
        Query("network: requester gemeente-maassluis (quiet)", "network", {"requester": "gemeente-maassluis"}),
        Query("network: holder politie-rotterdam", "network", {"holder": "politie-rotterdam"}),
        Query(
            "network: organisation politie-rotterdam (asked or held)", "network", {"organisation": "politie-rotterdam"}
        ),
        Query("network: person (typical)", "network", {"bsn": typical}),
        Query("network: person (busiest)", "network", {"bsn": busiest}),
        Query("network: category health_summary", "network", {"category": "health_summary"}),
        Query("network: category forensic_medical (rare)", "network", {"category": "forensic_medical"}),
        Query("network: legal basis WMO_5_2_6", "network", {"legal_basis": "WMO_5_2_6"}),
        Query("network: legal basis CVP (rare)", "network", {"legal_basis": "CVP"}),
        Query("network: one week", "network", week),
        Query("network: emergency", "network", {"emergency": "yes"}),
        Query("network: outcome deny (per category)", "network", {"outcome": "deny"}),
        Query("network: kind request + category + week", "network", {"kind": "request", "category": "housing", **week}),
        Query("network: deep page (index < N/2)", "network", {}, before=middle),
        Query("network: category health_summary, deep page", "network", {"category": "health_summary"}, before=middle),
        Query("VT officer: first page", "scoped", {}),
        Query("VT officer: category police_incidents", "scoped", {"category": "police_incidents"}),
        Query("VT officer: category housing (rare)", "scoped", {"category": "housing"}),
        Query("VT officer: legal basis BW_1_240 (none)", "scoped", {"legal_basis": "BW_1_240"}),
        Query("VT officer: one week", "scoped", week),
        Query("VT officer: deep page (index < N/2)", "scoped", {}, before=middle),
    ]


def _form(query: Query) -> Any:
    from console.filters import EntryFilterForm

    form = EntryFilterForm(data=query.data)
    if not form.is_valid():
        raise SystemExit(f"{query.name}: invalid form {form.errors.as_json()}")
    return form


def queryset_of(query: Query, officers: dict[str, Any]) -> Any:
    """The console's queryset for ``query``, built by the console's own code as the search page builds it (the
    keyset bound ``before`` goes into every facet subquery: docs/performance.md, "Recommendations")."""
    from console.filters import filtered_entries

    return filtered_entries(officers[query.officer], _form(query), query.before)


@dataclasses.dataclass
class Timing:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def timed(action: Callable[[], Any], *, repeats: int, budget: float) -> Timing:
    """One warm-up call, then ``repeats`` timed calls (at least three; fewer than ``repeats`` once the calls
    have taken ``budget`` seconds), in milliseconds."""
    action()
    samples: list[float] = []
    while len(samples) < repeats:
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
        if len(samples) >= 3 and sum(samples) / 1000 > budget:
            break
    return Timing(samples)


@dataclasses.dataclass
class Measured:
    query: Query
    page: Timing
    count: Timing
    capped: Timing
    rows: int
    first_page: list[int]


Build = Callable[[Query, dict[str, Any]], Any]


def measure(
    queries: Sequence[Query], officers: dict[str, Any], *, repeats: int, budget: float, build: Build = queryset_of
) -> list[Measured]:
    """Time, for each query: one page, ``count()``, and a count capped at ``CAPPED`` rows (``[:CAPPED].count()``)."""
    out = []
    for query in queries:

        def page_of(q: Query = query) -> list[Any]:
            return list(build(q, officers)[:PAGE])

        def count_of(q: Query = query) -> int:
            return int(build(q, officers).count())

        def capped_count_of(q: Query = query) -> int:
            return int(build(q, officers)[:CAPPED].count())

        page = timed(page_of, repeats=repeats, budget=budget)
        rows = count_of()
        count = timed(count_of, repeats=repeats, budget=budget)
        capped = timed(capped_count_of, repeats=repeats, budget=budget)
        first_page = [e.index for e in build(query, officers)[:PAGE]]
        out.append(Measured(query, page, count, capped, rows, first_page))
        log(
            f"  {query.name:<56} page {page.median:8.1f} ms  count {count.median:8.1f} ms  "
            f"capped {capped.median:7.1f} ms  ({rows:,} rows)"
        )
    return out


@dataclasses.dataclass
class Experiment:
    """A candidate fix, tried in a rolled-back transaction: ``statements`` run first (an index to try), then
    ``queries`` are built by ``build`` and compared with the console's queries as they are."""

    name: str
    statements: list[str]
    queries: list[Query]
    build: Build


def candidate_fixes(queries: Sequence[Query]) -> list[Experiment]:
    """The index candidates ``docs/performance.md`` weighs, each with the console's own query. (Experiment A of
    the first runs, the keyset bound inside the facet subqueries, is the console's query now; the benchmark keeps
    no copy of the console's filter, so it always measures what the console runs.)"""
    party = [q for q in queries if q.officer == "scoped" or "organisation" in q.data]
    return [
        Experiment(
            "B. partial index on facets for 'asked or held'",
            [
                "CREATE INDEX bench_facet_party ON audit_auditfacet (value, entry_index) "
                "WHERE key IN ('requester', 'holder')"
            ],
            party,
            queryset_of,
        ),
        Experiment(
            "C. partial index on emergency entries",
            ["CREATE INDEX bench_entry_emergency ON audit_auditentry (index) WHERE emergency"],
            [q for q in queries if "emergency" in q.data],
            queryset_of,
        ),
    ]


def in_rolled_back_transaction(statements: Sequence[str], work: Callable[[], Any]) -> Any:
    """Run ``statements`` and ``work`` in one transaction and roll it back, so the schema stays as it was."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        result = work()
        transaction.set_rollback(True)
    return result


def search_indexes() -> list[str]:
    """The indexes that exist for the console's search: AuditEntry's and AuditFacet's ``Meta.indexes``."""
    from audit.models import AuditEntry, AuditFacet

    return [str(index.name) for model in (AuditEntry, AuditFacet) for index in model._meta.indexes]


# --- Report -----------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('audit_auditentry')),"
            " pg_size_pretty(pg_total_relation_size('audit_auditfacet')), (SELECT count(*) FROM audit_auditfacet)"
        )
        entry_size, facet_size, facets = cursor.fetchone()
    memory = ""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "code": code_state("console", "audit/models.py", "audit/ledger.py"),
        "machine": f"{os.cpu_count()} cores, {memory} memory",
        "python": platform.python_version(),
        "postgresql": f"{version} (shared_buffers {buffers}, work_mem {work_mem}, settings as installed)",
        "entries table": f"{entry_size} with its indexes",
        "facets": f"{facets:,} rows, {facet_size} with its indexes",
    }


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _ratio(baseline: float, indexed: float) -> str:
    return f"{baseline / indexed:,.1f}x" if indexed > 0 else "n/a"


def report_markdown(
    *,
    entries: int,
    load: LoadReport,
    facts: dict[str, str],
    indexed: list[Measured],
    baseline: list[Measured],
    dropped: list[str],
    explain_name: str,
    explain: str,
    experiments: list[tuple[Experiment, list[Measured]]],
    repeats: int,
) -> str:
    lines = [
        f"# Console search on {entries:,} entries",
        "",
        f"Run {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}: `benchmarks/console_search.py "
        f"--entries {entries}` (see `docs/performance.md`).",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
    ]
    if load.loaded:
        lines.append(
            f"- load: {load.loaded:,} entries in {load.seconds:.1f} s (generate and COPY entries "
            f"{load.entries_seconds:.1f} s, COPY facets {load.facets_copy_seconds:.1f} s, COPY tree nodes "
            f"{load.nodes_copy_seconds:.1f} s, indexes {load.index_seconds:.1f} s, {load.checkpoints} checkpoints "
            f"{load.checkpoint_seconds:.1f} s, VACUUM ANALYZE {load.vacuum_seconds:.1f} s)"
        )
    else:
        lines.append("- load: skipped, the trail was already loaded")
    lines += [
        f"- baseline: the same queries with {', '.join(f'`{d}`' for d in dropped)} dropped, in a transaction "
        "that was rolled back",
        f"- timings in ms: one warm-up, then up to {repeats} runs (at least 3, fewer once a measurement has taken "
        "its time budget); p90 by nearest rank, so of 7 runs it is the slowest",
        f"- page: `list(qs[:{PAGE}])`; count: `qs.count()`; capped: `qs[:{CAPPED}].count()`",
        "",
        "| query | rows | page median | page p90 | count median | count p90 | capped count | baseline page "
        "| baseline count | page ratio | count ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fast, slow in zip(indexed, baseline, strict=True):
        lines.append(
            f"| {fast.query.name} | {fast.rows:,} | {_ms(fast.page.median)} | {_ms(fast.page.p90)} | "
            f"{_ms(fast.count.median)} | {_ms(fast.count.p90)} | {_ms(fast.capped.median)} | "
            f"{_ms(slow.page.median)} | {_ms(slow.count.median)} | {_ratio(slow.page.median, fast.page.median)} | "
            f"{_ratio(slow.count.median, fast.count.median)} |"
        )
    now = {m.query.name: m for m in indexed}
    for experiment, after in experiments:
        lines += ["", f"## Experiment {experiment.name}", ""]
        lines += [f"    {s}" for s in experiment.statements] + ([""] if experiment.statements else [])
        lines += [
            "Medians in ms, the console's query as it is → with the change; *same* compares the row count and the "
            "first page.",
            "",
            "| query | rows | same | page | page p90 | count | capped count |",
            "| --- | ---: | :---: | ---: | ---: | ---: | ---: |",
        ]
        for then in after:
            was = now[then.query.name]
            same = "yes" if (was.rows, was.first_page) == (then.rows, then.first_page) else "**NO**"
            lines.append(
                f"| {then.query.name} | {then.rows:,} | {same} | {_ms(was.page.median)} → {_ms(then.page.median)} | "
                f"{_ms(was.page.p90)} → {_ms(then.page.p90)} | {_ms(was.count.median)} → {_ms(then.count.median)} | "
                f"{_ms(was.capped.median)} → {_ms(then.capped.median)} |"
            )
    lines += [
        "",
        f"## EXPLAIN (ANALYZE, BUFFERS) of the slowest indexed page: {explain_name}",
        "",
        "```",
        explain,
        "```",
    ]
    return "\n".join(lines) + "\n"


# --- Main -------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries in the trail (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (default 7)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per measurement before fewer runs")
    parser.add_argument("--recreate", action="store_true", help="drop and create the (vd_bench*) database first")
    parser.add_argument("--no-experiments", action="store_true", help="skip the candidate fixes")
    parser.add_argument("--checkpoint-every", type=int, default=100_000, help="entries between signed checkpoints")
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    database_ensure(url, recreate=args.recreate)
    import django

    django.setup()
    from django.db.models import Min

    from audit.models import AuditEntry, AuditHead, OfficerProfile

    started = time.perf_counter()
    world_prepare()
    log(f"database ready ({time.perf_counter() - started:.1f} s)")
    load = trail_load(args.entries, checkpoint_every=args.checkpoint_every)

    world = world_facts()
    head = AuditHead.objects.get(pk=1).size
    first = AuditEntry.objects.aggregate(first=Min("at"))["first"]
    officers = {
        "network": OfficerProfile.objects.select_related("organisation").get(user__username="privacy"),
        "scoped": OfficerProfile.objects.select_related("organisation").get(user__username="privacy-vt"),
    }
    queries = console_queries(world, head, timezone_date(first))

    log("with the indexes:")
    indexed = measure(queries, officers, repeats=args.repeats, budget=args.budget)
    slowest = max(indexed, key=lambda m: m.page.median)
    explain = queryset_of(slowest.query, officers)[:PAGE].explain(analyze=True, buffers=True)

    dropped = search_indexes()
    log(f"baseline, without {', '.join(dropped)}:")

    def without_indexes() -> list[Measured]:
        return measure(queries, officers, repeats=args.repeats, budget=args.budget)

    baseline = in_rolled_back_transaction([f'DROP INDEX "{name}"' for name in dropped], without_indexes)

    experiments: list[tuple[Experiment, list[Measured]]] = []
    if not args.no_experiments:
        for experiment in candidate_fixes(queries):
            log(f"experiment {experiment.name}:")

            def tried(e: Experiment = experiment) -> list[Measured]:
                return measure(e.queries, officers, repeats=args.repeats, budget=args.budget, build=e.build)

            after = in_rolled_back_transaction(experiment.statements, tried)
            experiments.append((experiment, after))

    text = report_markdown(
        entries=args.entries,
        load=load,
        facts=machine(),
        indexed=indexed,
        baseline=baseline,
        dropped=dropped,
        explain_name=slowest.query.name,
        explain=explain,
        experiments=experiments,
        repeats=args.repeats,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"console_search-{args.entries}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    log(f"written to {path.relative_to(ROOT)} ({time.perf_counter() - started:.0f} s in all)")
    return 0


def timezone_date(moment: dt.datetime) -> dt.date:
    """The calendar day of ``moment`` in the console's time zone (the form's dates are local days)."""
    from django.utils import timezone

    return timezone.localtime(moment).date()


if __name__ == "__main__":
    sys.exit(main())
