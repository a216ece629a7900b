"""Benchmark: the privacy console's search on a trail of N entries (``docs/performance.md``).

Run from the project root against PostgreSQL (the database is created when missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vd_bench .venv/bin/python benchmarks/console_search.py \\
        --entries 1000000

In one run it:

1. Prepares a real database: ``migrate`` and the demo world (:func:`demo.seed.seed_world`), so the
   organisations, categories, rules and officers are the ones the console knows.
2. Fills the trail up to N entries with synthetic but realistic ones, loaded with PostgreSQL ``COPY``. This
   bypasses :func:`audit.ledger.audit_append` on purpose: the benchmark measures reads, and a million appends
   through the Merkle tree would take hours. Each row is still what ``audit_append`` writes: ``leaf`` is the
   RFC 8785 canonical JSON of the row's columns (:func:`audit.ledger.leaf_object`, ``canonical_bytes``,
   ``leaf_hash_hex``) and its facets are :func:`audit.ledger.facets_of`. Tree nodes are not written (search does
   not read them), so ``audit_verify`` does not pass on this database: it is for benchmarks only. The entries
   span ``DAYS`` days after the seeded ones, time rising with the index as in a real trail (so into the future of
   the load). ``audit_audithead`` gets ``size`` N (and ``last_at``). The load is one transaction; a trail that
   already holds N entries is not loaded again, so a re-run measures at once.
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
import io
import json
import math
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

RESULTS = ROOT / "benchmarks" / "results"
SEED = 20261124
PAGE = 51  # the search view reads 50 rows + 1 to know whether there is an older page
CAPPED = 1001
SUBJECTS = 50_000
DAYS = 365
BATCH = 10_000

ENTRY_COLUMNS = (
    "index",
    "kind",
    "at",
    "organisation",
    "client_id",
    "acting_user",
    "user",
    "subject",
    "purpose",
    "case_reference",
    "emergency",
    "reference",
    "outcome",
    "policy_version",
    "decisions",
    "detail",
    "leaf",
    "leaf_hash",
)
ENTRY_COPY = "COPY audit_auditentry ({}) FROM STDIN".format(", ".join(f'"{c}"' for c in ENTRY_COLUMNS))
FACET_COPY = "COPY audit_auditfacet (entry_index, key, value) FROM STDIN"

# Share of each kind in the synthetic trail: partner traffic dominates (requests, dry runs, tokens).
KIND_SHARES = {
    "request": 0.46,
    "check": 0.18,
    "token": 0.22,
    "holder_decision": 0.04,
    "rejected": 0.03,
    "portal_view": 0.03,
    "console_view": 0.015,
    "consent": 0.015,
    "restriction": 0.005,
    "review": 0.005,
}
# How much each organisation asks, relative to 1: a few busy ones, a few quiet ones.
ORG_WEIGHTS = {
    "veilig-thuis-rr": 14.0,
    "politie-rotterdam": 10.0,
    "gemeente-rotterdam": 9.0,
    "zvh-rr": 6.0,
    "jeugdbescherming-rr": 4.0,
    "reclassering-rr": 3.0,
    "william-schrikker-gi": 2.0,
    "rvdk-rotterdam": 2.0,
    "gemeente-maassluis": 0.3,
    "veilig-thuis-haaglanden": 0.3,
    "verslavingsreclassering": 0.3,
}
DENY_REASONS = ("restricted", "not_case_participant", "purpose_not_allowed", "condition_not_met", "no_consent")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# --- The database -----------------------------------------------------------------------------------------


def database_ensure(url: str, *, recreate: bool) -> str:
    """Create the database named in ``url`` when it is missing (``--recreate``: drop it first)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or not name:
        raise SystemExit("DATABASE_URL must name a PostgreSQL database, e.g. postgres://postgres@127.0.0.1/vd_bench")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and recreate:
            if not name.startswith("vd_bench"):
                raise SystemExit(f"--recreate drops only benchmark databases (vd_bench*), not {name!r}")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = False
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")
    return name


def world_prepare() -> None:
    from django.core.management import call_command

    from demo.seed import seed_world

    call_command("migrate", verbosity=0, interactive=False)
    seed_world()


# --- The synthetic trail ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """A sharing rule of the seeded world, with who may ask under it and who holds each category."""

    code: str
    version: int
    legal_basis: str
    holder_decides: bool
    emergency_only: bool
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    requesters: tuple[str, ...]
    providers: dict[str, tuple[str, ...]]


@dataclasses.dataclass
class World:
    """What the generator draws from: the seeded organisations, rules, categories, and the persons."""

    organisations: dict[str, str]  # slug -> sector
    rules: list[Rule]
    fields: dict[str, list[str]]
    holders: dict[str, tuple[str, ...]]
    policy_version: int
    bsns: list[str]
    subject_weights: list[float]


def bsn_pool(count: int) -> list[str]:
    """``count`` distinct nine-digit numbers that pass the eleven test, the same on every run."""
    rng = random.Random(SEED)
    found: dict[str, None] = {}
    weights = (9, 8, 7, 6, 5, 4, 3, 2)
    while len(found) < count:
        head = f"{rng.randrange(10_000_000, 100_000_000):08d}"
        check = sum(int(d) * w for d, w in zip(head, weights, strict=True)) % 11
        if check < 10:
            found[head + str(check)] = None
    return list(found)


def world_facts() -> World:
    from consent.models import CategoryField, DataCategory, Organisation, PolicyVersion, SharingRule
    from demo import world as demo

    organisations = dict(Organisation.objects.values_list("slug", "sector__code"))
    fields: dict[str, list[str]] = {code: [] for code in DataCategory.objects.values_list("code", flat=True)}
    for category, name in CategoryField.objects.order_by("category__code", "position").values_list(
        "category__code", "name"
    ):
        fields[category].append(name)
    holders = {code: demo.holders_of(code) for code in fields}
    rules = []
    for rule in (
        SharingRule.objects.filter(active=True)
        .select_related(
            "legal_basis", "provider_sector", "provider_organisation", "recipient_sector", "recipient_organisation"
        )
        .prefetch_related("categories", "purposes")
    ):
        if rule.recipient_organisation is not None:
            requesters: tuple[str, ...] = (rule.recipient_organisation.slug,)
        else:
            sector = rule.recipient_sector.code if rule.recipient_sector else ""
            requesters = tuple(slug for slug, s in organisations.items() if s == sector)
        providers = {}
        for code in (c.code for c in rule.categories.all()):
            found = tuple(
                h
                for h in holders[code]
                if (rule.provider_organisation is not None and h == rule.provider_organisation.slug)
                or (rule.provider_sector is not None and organisations.get(h) == rule.provider_sector.code)
            )
            if found:
                providers[code] = found
        if requesters and providers:
            rules.append(
                Rule(
                    code=rule.code,
                    version=rule.version,
                    legal_basis=rule.legal_basis.code,
                    holder_decides=rule.holder_decides,
                    emergency_only=rule.emergency_only,
                    categories=tuple(sorted(providers)),
                    purposes=tuple(sorted(p.code for p in rule.purposes.all())),
                    requesters=requesters,
                    providers=providers,
                )
            )
    version = PolicyVersion.objects.order_by("-number").values_list("number", flat=True).first() or 1
    bsns = bsn_pool(SUBJECTS)
    rng = random.Random(SEED + 1)
    weights = [rng.lognormvariate(0.0, 1.0) for _ in bsns]
    return World(organisations, rules, fields, holders, version, bsns, weights)


def _cum(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _copy_text(value: Any) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class TrailGenerator:
    """Builds COPY rows for entries ``[first, total)``, spread evenly over ``DAYS`` days from ``start``.

    Index order is time order, as in a real trail. Every draw comes from a generator seeded by the batch, so the
    same batch always gives the same rows.
    """

    def __init__(self, world: World, *, first: int, total: int, start: dt.datetime) -> None:
        from audit.pseudonym import subject_pseudonym

        self.world = world
        self.first = first
        self.count = max(total - first, 1)
        self.start_ms = int((start - EPOCH).total_seconds() * 1000)
        self.span_ms = DAYS * 86_400_000
        self.step_ms = max(self.span_ms // self.count, 1)
        self.kinds = list(KIND_SHARES)
        self.kind_cum = _cum(list(KIND_SHARES.values()))
        self.subjects = [subject_pseudonym(b) for b in world.bsns]
        self.subject_cum = _cum(world.subject_weights)
        self.orgs = sorted(world.organisations)
        self.org_cum = _cum([ORG_WEIGHTS.get(o, 1.0) for o in self.orgs])
        self.rules_of: dict[str, list[Rule]] = {}
        self.emergency_rules_of: dict[str, list[Rule]] = {}
        for rule in world.rules:
            for org in rule.requesters:
                target = self.emergency_rules_of if rule.emergency_only else self.rules_of
                target.setdefault(org, []).append(rule)
        self.requesters = sorted(self.rules_of)
        self.requester_cum = _cum([ORG_WEIGHTS.get(o, 1.0) for o in self.requesters])
        self.holder_rules = [r for r in world.rules if r.holder_decides]
        self.categories = sorted(world.fields)

    # -- draws

    def _ulid(self, rng: random.Random, at_ms: int) -> str:
        value = (at_ms << 80) | rng.getrandbits(80)
        return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def _subject(self, rng: random.Random) -> str:
        return rng.choices(self.subjects, cum_weights=self.subject_cum)[0]

    def _org(self, rng: random.Random) -> str:
        return rng.choices(self.orgs, cum_weights=self.org_cum)[0]

    def _case(self, rng: random.Random, at: dt.datetime) -> str | None:
        return f"CHGK-RR-{at.year}-{rng.randrange(1, 4000):04d}" if rng.random() < 0.35 else None

    def _decision(
        self, rng: random.Random, rule: Rule | None, category: str, provider: str | None, outcome: str, *, request: bool
    ) -> dict[str, Any]:
        reasons: list[str] = []
        if outcome == "deny":
            reasons = ["no_rule"] if rule is None else [rng.choice(DENY_REASONS)]
        elif outcome == "error":
            reasons = ["provider_unavailable"]
        released = request and outcome == "permit"
        consent = None
        if rule is not None and rule.legal_basis in ("AVG_6_1_A", "AVG_9_2_A") and outcome == "permit":
            consent = rng.randrange(1, 20_000)
        return {
            "category": category,
            "provider": provider,
            "outcome": outcome,
            "rule": rule.code if rule else None,
            "rule_version": rule.version if rule else None,
            "legal_basis": rule.legal_basis if rule else None,
            "consent": consent,
            "reasons": reasons,
            "emergency_access": bool(rule and rule.emergency_only),
            "fields": list(self.world.fields[category]) if released else None,
            "payload_sha256": f"{rng.getrandbits(256):064x}" if released else None,
        }

    def _ask(self, rng: random.Random, kind: str, at: dt.datetime, at_ms: int) -> dict[str, Any]:
        """A request or a dry run (``check``): one requester, one to three categories, a decision for each."""
        from consent.policy import overall_status

        request = kind == "request"
        requester = rng.choices(self.requesters, cum_weights=self.requester_cum)[0]
        emergency = rng.random() < 0.015
        decisions = []
        if rng.random() < 0.08:
            covered = {c for r in self.rules_of[requester] for c in r.categories}
            category = rng.choice([c for c in self.categories if c not in covered] or self.categories)
            holders = self.world.holders[category]
            provider = rng.choice(holders) if holders else None
            decisions.append(self._decision(rng, None, category, provider, "deny", request=request))
            purpose = None
        else:
            pool = self.emergency_rules_of.get(requester) if emergency else None
            rule = rng.choice(pool or self.rules_of[requester])
            size = min(len(rule.categories), rng.choices((1, 2, 3), weights=(6, 3, 1))[0])
            for category in rng.sample(rule.categories, size):
                if rule.holder_decides:
                    outcome = "pending"
                else:
                    draw = rng.random()
                    outcome = "permit" if draw < 0.84 else "deny" if draw < 0.97 or not request else "error"
                provider = rng.choice(rule.providers[category])
                decisions.append(self._decision(rng, rule, category, provider, outcome, request=request))
            purpose = rng.choice(rule.purposes) if rule.purposes else None
        return {
            "organisation": requester,
            "client_id": requester,
            "acting_user": f"mw-{rng.randrange(1000, 10_000)}" if rng.random() < 0.8 else None,
            "subject": self._subject(rng),
            "purpose": purpose,
            "case_reference": self._case(rng, at),
            "emergency": emergency,
            "reference": f"req_{self._ulid(rng, at_ms)}" if request else None,
            "outcome": overall_status(d["outcome"] for d in decisions),
            "policy_version": self.world.policy_version,
            "decisions": decisions,
        }

    def _holder_decision(self, rng: random.Random, at: dt.datetime, at_ms: int) -> dict[str, Any]:
        rule = rng.choice(self.holder_rules)
        category = rng.choice(rule.categories)
        holder = rng.choice(rule.providers[category])
        release = rng.random() < 0.75
        decision = self._decision(rng, rule, category, holder, "permit" if release else "deny", request=True)
        return {
            "organisation": holder,
            "client_id": holder,
            "subject": self._subject(rng),
            "purpose": rng.choice(rule.purposes) if rule.purposes else None,
            "case_reference": self._case(rng, at),
            "reference": f"req_{self._ulid(rng, at_ms - rng.randrange(1, 86_400_000))}",
            "outcome": "released" if release else "denied",
            "policy_version": self.world.policy_version,
            "decisions": [decision],
            "detail": {
                "pending_item": f"hld_{self._ulid(rng, at_ms)}",
                "request_status": "released" if release else "denied",
                "note_given": rng.random() < 0.5,
            },
        }

    def _columns(self, rng: random.Random, index: int, at: dt.datetime, at_ms: int) -> dict[str, Any]:
        kind = rng.choices(self.kinds, cum_weights=self.kind_cum)[0]
        columns: dict[str, Any] = {
            "index": index,
            "kind": kind,
            "at": at,
            "organisation": None,
            "client_id": None,
            "acting_user": None,
            "user": None,
            "subject": None,
            "purpose": None,
            "case_reference": None,
            "emergency": False,
            "reference": None,
            "outcome": None,
            "policy_version": None,
            "decisions": [],
            "detail": {},
        }
        if kind in ("request", "check"):
            columns.update(self._ask(rng, kind, at, at_ms))
        elif kind == "holder_decision":
            columns.update(self._holder_decision(rng, at, at_ms))
        elif kind == "token":
            org = self._org(rng)
            scope = "provider" if rng.random() < 0.3 else "requests audit consents provider"
            columns.update(
                organisation=org, client_id=org, outcome="issued", detail={"scope": scope, "expires_in": 600}
            )
        elif kind == "rejected":
            org = rng.choices(self.requesters, cum_weights=self.requester_cum)[0]
            code = rng.choice(("invalid_request", "invalid_bsn", "unknown_category", "forbidden"))
            columns.update(
                organisation=org,
                client_id=org,
                outcome=code,
                detail={
                    "method": "POST",
                    "path": "/api/v1/requests",
                    "status": 403 if code == "forbidden" else 400,
                    "errors": [] if code == "forbidden" else [{"field": "subject.bsn", "code": code}],
                },
            )
        elif kind == "portal_view":
            columns.update(
                user=f"portal-{rng.randrange(1, 5000)}",
                subject=self._subject(rng),
                outcome=rng.choice(("list", "entry")),
                detail={"entries_shown": rng.randrange(0, 60), "withheld": rng.randrange(0, 3)},
            )
        elif kind == "console_view":
            columns.update(user="privacy", outcome="search", detail={"filters": {}, "page": 1})
        elif kind == "consent":
            org = rng.choice(("jeugdhulp-rijnmond", "gemeente-rotterdam", "veilig-thuis-rr", "jeugdhulp-maaspoort"))
            columns.update(
                organisation=org,
                client_id=org,
                subject=self._subject(rng),
                case_reference=self._case(rng, at),
                reference=f"consent:{rng.randrange(1, 20_000)}",
                outcome=rng.choice(("recorded", "recorded", "recorded", "withdrawn")),
                detail={"recorded_by": org, "evidence_sha256": f"{rng.getrandbits(256):064x}"},
            )
        elif kind == "restriction":
            columns.update(
                user=f"portal-{rng.randrange(1, 5000)}",
                subject=self._subject(rng),
                reference=f"restriction:{rng.randrange(1, 5000)}",
                outcome=rng.choice(("set", "lifted")),
                detail={"restriction_kind": "objection", "categories": [rng.choice(self.categories)], "active": True},
            )
        else:  # review
            columns.update(
                user="privacy",
                subject=self._subject(rng),
                emergency=True,
                reference=f"req_{self._ulid(rng, at_ms - 86_400_000 * rng.randrange(1, 14))}",
                outcome=rng.choice(("justified", "justified", "unjustified")),
                detail={"requester": rng.choice(self.requesters), "overdue": rng.random() < 0.1},
            )
        return columns

    def batch(self, lo: int, hi: int) -> tuple[str, str]:
        """COPY text for the entries ``[lo, hi)`` and for their facets."""
        from audit.ledger import canonical_bytes, facets_of, format_time, leaf_hash_hex, leaf_object

        rng = random.Random(SEED * 1_000_003 + lo)
        entries = io.StringIO()
        facets = io.StringIO()
        for index in range(lo, hi):
            at_ms = self.start_ms + ((index - self.first) * self.span_ms) // self.count + rng.randrange(self.step_ms)
            at = EPOCH + dt.timedelta(milliseconds=at_ms)
            columns = self._columns(rng, index, at, at_ms)
            leaf = canonical_bytes(leaf_object(**columns))
            row = [
                index,
                columns["kind"],
                format_time(at),
                columns["organisation"],
                columns["client_id"],
                columns["acting_user"],
                columns["user"],
                columns["subject"],
                columns["purpose"],
                columns["case_reference"],
                columns["emergency"],
                columns["reference"],
                columns["outcome"],
                columns["policy_version"],
                _json(columns["decisions"]),
                _json(columns["detail"]),
                leaf.decode("utf-8"),
                leaf_hash_hex(leaf),
            ]
            entries.write("\t".join(_copy_text(v) for v in row))
            entries.write("\n")
            for key, value in facets_of(columns):
                facets.write(f"{index}\t{_copy_text(key)}\t{_copy_text(value)}\n")
        return entries.getvalue(), facets.getvalue()


_GENERATOR: TrailGenerator | None = None


def _generate(bounds: tuple[int, int]) -> tuple[str, str]:
    """One batch, in a worker process (forked with ``_GENERATOR`` set)."""
    assert _GENERATOR is not None
    return _GENERATOR.batch(*bounds)


@dataclasses.dataclass
class LoadReport:
    loaded: int
    seconds: float
    entries_seconds: float = 0.0
    facets_copy_seconds: float = 0.0
    index_seconds: float = 0.0
    vacuum_seconds: float = 0.0


def _secondary_indexes(conn: Any, table: str) -> list[tuple[str, str]]:
    """Indexes of ``table`` that back no constraint: dropped for the load and rebuilt after it, as they were."""
    return conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
        ORDER BY i.relname
        """,
        [table],
    ).fetchall()


def trail_load(url: str, total: int) -> LoadReport:
    """Fill the trail up to ``total`` entries with COPY, in one transaction (see the module docstring)."""
    import psycopg
    from django.db import connections
    from django.utils import timezone

    from audit.models import AuditEntry, AuditHead

    existing = AuditEntry.objects.count()
    synthetic = AuditEntry.objects.filter(kind="request").exists()
    if existing >= total:
        log(f"trail holds {existing} entries (>= {total}): not loading")
        return LoadReport(loaded=0, seconds=0.0)
    if synthetic:
        raise SystemExit(
            f"the trail holds {existing} synthetic entries, fewer than {total}: use a new database or --recreate"
        )
    world = world_facts()
    # The synthetic year starts after the seeded entries: the trail's time never runs back (audit_append), so
    # index order stays time order, as the console's period filter may rely on. It reaches into the future of the
    # load; nothing measured depends on the wall clock.
    last = AuditEntry.objects.order_by("-index").values_list("at", flat=True).first() or timezone.now()
    generator = TrailGenerator(world, first=existing, total=total, start=last + dt.timedelta(seconds=1))
    report = LoadReport(loaded=total - existing, seconds=0.0)
    started = time.perf_counter()
    global _GENERATOR
    _GENERATOR = generator
    connections.close_all()  # the workers are forked: they must not share this process's connection
    done = 0
    with multiprocessing.get_context("fork").Pool(processes=os.cpu_count() or 2) as pool, psycopg.connect(url) as conn:
        batches = pool.imap(_generate, [(lo, min(lo + BATCH, total)) for lo in range(existing, total, BATCH)])
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("LOCK TABLE audit_audithead IN EXCLUSIVE MODE")
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked at the end of each COPY instead of
        # queued to the commit, where the queued events would also block rebuilding the indexes.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        dropped = _secondary_indexes(conn, "audit_auditentry") + _secondary_indexes(conn, "audit_auditfacet")
        for name, _ in dropped:
            conn.execute(f'DROP INDEX "{name}"')
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as facet_file:
            with conn.cursor().copy(ENTRY_COPY) as copy:
                for entries, facets in batches:
                    copy.write(entries)
                    facet_file.write(facets)
                    done += BATCH
                    if done % 100_000 < BATCH:
                        log(
                            f"  {min(done, report.loaded):>9,} entries generated and copied "
                            f"({time.perf_counter() - started:6.1f} s)"
                        )
            t0 = time.perf_counter()
            report.entries_seconds = t0 - started
            facet_file.seek(0)
            with conn.cursor().copy(FACET_COPY) as copy:
                while chunk := facet_file.read(1 << 22):
                    copy.write(chunk)
            report.facets_copy_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _, definition in dropped:
            conn.execute(definition)
        report.index_seconds = time.perf_counter() - t0
        conn.execute("UPDATE audit_audithead SET size = %s WHERE id = 1", [total])
        if "last_at" in {f.name for f in AuditHead._meta.get_fields()}:
            conn.execute("UPDATE audit_audithead SET last_at = (SELECT max(at) FROM audit_auditentry) WHERE id = 1")
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        # An append-only table is vacuumed by autovacuum's insert threshold too; doing it now sets the
        # visibility map (index-only scans) and the statistics, as on a trail that has been live for a while.
        conn.execute("VACUUM (ANALYZE) audit_auditentry")
        conn.execute("VACUUM (ANALYZE) audit_auditfacet")
    report.vacuum_seconds = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    return report


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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
        "code": code_state(),
        "machine": f"{os.cpu_count()} cores, {memory} memory",
        "python": platform.python_version(),
        "postgresql": f"{version} (shared_buffers {buffers}, work_mem {work_mem}, settings as installed)",
        "entries table": f"{entry_size} with its indexes",
        "facets": f"{facets:,} rows, {facet_size} with its indexes",
    }


def code_state() -> str:
    """The commit measured, and whether the console's search code differed from it (read-only git calls)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, no input from outside
                ["git", *args],  # noqa: S607 - whichever git is on PATH, like a developer's shell
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("diff", "--name-only", "HEAD", "--", "console", "audit/models.py", "audit/ledger.py")
    return f"commit {commit}" + (f", with local changes to {', '.join(changed.split())}" if changed else "")


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
            f"{load.entries_seconds:.1f} s, COPY facets {load.facets_copy_seconds:.1f} s, "
            f"indexes {load.index_seconds:.1f} s, VACUUM ANALYZE {load.vacuum_seconds:.1f} s)"
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
    load = trail_load(url, args.entries)
    if load.loaded:
        log(f"loaded {load.loaded:,} entries in {load.seconds:.1f} s")

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
