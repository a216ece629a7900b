"""A synthetic audit trail of N entries for the benchmarks, loaded fast and verifiable (``docs/performance.md``).

:func:`fill_trail` fills the audit trail of a migrated, demo-seeded PostgreSQL database up to N entries::

    import django; django.setup()
    from benchmarks.trail import fill_trail
    fill_trail(1_000_000)                    # a signed checkpoint every 100,000 entries and at N

or from the command line (creates the database when missing, migrates and seeds the demo world first)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vd_bench .venv/bin/python benchmarks/trail.py --entries 1000000

The entries bypass :func:`audit.ledger.audit_append` on purpose (a million appends one by one would take hours)
and are loaded with PostgreSQL ``COPY`` in one transaction, but every row is what the ledger writes:

- ``leaf`` is the RFC 8785 canonical JSON of the row's columns (:func:`audit.ledger.leaf_object`,
  ``canonical_bytes``), ``leaf_hash`` its RFC 9162 leaf hash, and the facets come from
  :func:`audit.ledger.facets_of`;
- every :class:`audit.models.TreeNode` row (each perfect subtree hash, RFC 9162 §2.1.1) is computed with
  :func:`audit.merkle.completed_subtrees` while the entries stream past, keeping only a
  :class:`audit.merkle.Frontier` (O(log n) hashes);
- a checkpoint is signed at every multiple of ``checkpoint_every`` and at N, with the gateway's own code
  (:func:`audit.tree.tree_root`, :func:`audit.tree.consistency_proof_at`, :func:`audit.checkpoints.checkpoint_body`, the
  signing key and :func:`audit.signing.sign_detached`), each with its consistency proof from the previous one;
- the audit head gets ``size`` N, ``last_at`` and the Merkle ``frontier`` that the next append combines with.

So ``manage.py audit_verify`` and the offline verifier pass on the result. A trail already at N is left alone; a
shorter one (the demo's few hundred real entries, or an earlier synthetic load) is extended from its head, its
time continuing after the last entry's, as ``audit_append`` guarantees. The synthetic entries of one load span
``DAYS`` days, time rising with the index (so the trail reaches into the future of the load; nothing measured
depends on the clock). The content of the entries is described in ``docs/performance.md``, "The data".
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20261124
SUBJECTS = 50_000
DAYS = 365
BATCH = 10_000


def entry_copy() -> str:
    """The COPY statement of the entries, in :data:`audit.ledger.ENTRY_COLUMNS` order (the rows' order)."""
    from audit.ledger import ENTRY_COLUMNS

    return "COPY audit_auditentry ({}) FROM STDIN".format(", ".join(f'"{c}"' for c in ENTRY_COLUMNS))


FACET_COPY = "COPY audit_auditfacet (entry_index, key, value) FROM STDIN"
NODE_COPY = "COPY audit_treenode (level, position, hash) FROM STDIN"

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
            if "bench" not in name:
                raise SystemExit(f"--recreate drops only benchmark databases (named *bench*), not {name!r}")
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

    def __init__(self, world: World, *, first: int, total: int, start: dt.datetime, days: int = DAYS) -> None:
        from audit.pseudonym import subject_pseudonym

        self.world = world
        self.first = first
        self.count = max(total - first, 1)
        self.start_ms = int((start - EPOCH).total_seconds() * 1000)
        self.span_ms = days * 86_400_000
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

    def batch(self, lo: int, hi: int) -> Batch:
        """COPY text for the entries ``[lo, hi)`` and for their facets, and the entries' leaf hashes."""
        from audit.ledger import canonical_bytes, facets_of, format_time, leaf_object
        from audit.merkle import leaf_hash

        rng = random.Random(SEED * 1_000_003 + lo)
        entries = io.StringIO()
        facets = io.StringIO()
        hashes = bytearray()
        for index in range(lo, hi):
            at_ms = self.start_ms + ((index - self.first) * self.span_ms) // self.count + rng.randrange(self.step_ms)
            at = EPOCH + dt.timedelta(milliseconds=at_ms)
            columns = self._columns(rng, index, at, at_ms)
            leaf = canonical_bytes(leaf_object(**columns))
            digest = leaf_hash(leaf)
            hashes += digest
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
                digest.hex(),
            ]
            entries.write("\t".join(_copy_text(v) for v in row))
            entries.write("\n")
            for key, value in facets_of(columns):
                facets.write(f"{index}\t{_copy_text(key)}\t{_copy_text(value)}\n")
        return Batch(lo, entries.getvalue(), facets.getvalue(), bytes(hashes))


_GENERATOR: TrailGenerator | None = None


def _generate(bounds: tuple[int, int]) -> Batch:
    """One batch, in a worker process (forked with ``_GENERATOR`` set)."""
    assert _GENERATOR is not None
    return _GENERATOR.batch(*bounds)


@dataclasses.dataclass(frozen=True)
class Batch:
    """What a worker generates for the entries ``[first, first + n)``: COPY text for them and their facets, and
    their leaf hashes (32 bytes each, in index order) for the tree."""

    first: int
    entries: str
    facets: str
    leaf_hashes: bytes


@dataclasses.dataclass
class LoadReport:
    """What :func:`trail_load` did and how long each step took, in seconds."""

    loaded: int
    seconds: float
    entries_seconds: float = 0.0
    facets_copy_seconds: float = 0.0
    nodes_copy_seconds: float = 0.0
    index_seconds: float = 0.0
    checkpoint_seconds: float = 0.0
    vacuum_seconds: float = 0.0
    checkpoints: int = 0


def git(*args: str) -> str:
    """The output of a git command in the project, or "" when git is missing or fails (a report says "unknown")."""
    import subprocess

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


def code_state(*paths: str) -> str:
    """The commit a benchmark measured, and the files under ``paths`` changed since it (for the report)."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("diff", "--name-only", "HEAD", "--", *paths)
    return f"commit {commit}" + (f", with local changes to {', '.join(changed.split())}" if changed else "")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """Indexes of ``table`` that back no constraint: dropped for the load and rebuilt after it, as they were."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
        ORDER BY i.relname
        """,
        [table],
    )
    return list(cursor.fetchall())


def frontier_at(size: int) -> Any:
    """The :class:`audit.merkle.Frontier` of a stored tree of ``size`` leaves: at each level the latest complete
    subtree, ``(L, size // 2**L - 1)``, read in one query."""
    from django.db.models import Q

    from audit.merkle import Frontier
    from audit.models import TreeNode

    frontier = Frontier()
    keys = [(level, (size >> level) - 1) for level in range(size.bit_length())]
    if not keys:
        return frontier
    condition = Q()
    for level, position in keys:
        condition |= Q(level=level, position=position)
    rows = dict(
        ((level, position), value)
        for level, position, value in TreeNode.objects.filter(condition).values_list("level", "position", "hash")
    )
    for level, position in keys:
        if (level, position) not in rows:
            raise SystemExit(f"the stored tree of {size} leaves has no node at level {level}, position {position}")
        frontier.put(level, position, bytes.fromhex(rows[(level, position)]))
    return frontier


def _tree_rows(batch: Batch, frontier: Any) -> str:
    """COPY text for the tree nodes the batch's leaves complete, in append order; advances ``frontier``."""
    from audit.merkle import completed_subtrees

    rows = []
    hashes = batch.leaf_hashes
    for offset in range(0, len(hashes), 32):
        index = batch.first + (offset >> 5)
        for level, position, value in completed_subtrees(index, hashes[offset : offset + 32], frontier):
            frontier.put(level, position, value)
            rows.append(f"{level}\t{position}\t{value.hex()}\n")
    return "".join(rows)


def _copy_file(cursor: Any, statement: str, source: IO[str]) -> None:
    source.seek(0)
    with cursor.copy(statement) as copy:
        while chunk := source.read(1 << 22):
            copy.write(chunk)


def checkpoint_sizes(existing: int, target: int, every: int) -> list[int]:
    """Where the load signs checkpoints: every multiple of ``every`` after ``existing``, and ``target``."""
    sizes = list(range((existing // every + 1) * every, target, every)) if every > 0 else []
    return [*sizes, target]


def checkpoint_sign_at(size: int, key: Any) -> None:
    """Sign and store a checkpoint at ``size`` as :func:`audit.checkpoints.checkpoint_create` does at the head's
    size (root, consistency proof from the latest checkpoint, verified before signing; C2SP body; detached
    signature), for a size behind the head: the load signs its intermediate tree heads after the rows are in."""
    from django.conf import settings
    from django.utils import timezone

    from audit import merkle
    from audit.checkpoints import checkpoint_body
    from audit.models import Checkpoint
    from audit.signing import sign_detached
    from audit.tree import consistency_proof_at, tree_root

    latest = Checkpoint.objects.order_by("-tree_size").first()
    proof: list[bytes] = []
    if latest is None:
        root = tree_root(size)
    else:
        read = consistency_proof_at(latest.tree_size, size)
        root, proof = read.second_root, read.proof
        if not merkle.verify_consistency(latest.tree_size, size, bytes.fromhex(latest.root_hash), root, proof):
            raise SystemExit(f"the tree at {size} is not consistent with the checkpoint at {latest.tree_size}")
    body = checkpoint_body(settings.GATEWAY_AUDIT_ORIGIN, size, root)
    Checkpoint.objects.create(
        tree_size=size,
        root_hash=root.hex(),
        origin=settings.GATEWAY_AUDIT_ORIGIN,
        body=body,
        signature=sign_detached(body.encode("utf-8"), key),
        key_fingerprint=key.fingerprint,
        signed_at=timezone.now(),
        consistency_proof=[p.hex() for p in proof],
    )


def fill_trail(target: int, *, checkpoint_every: int = 100_000, days: int = DAYS) -> None:
    """Fill the audit trail up to ``target`` entries (see the module docstring); a trail at ``target`` is left
    alone. Call after ``django.setup()`` on a migrated, demo-seeded PostgreSQL database. ``days=0`` gives every
    new entry the time of the last one plus a second, so that live appends afterwards are not pushed into the
    future (the trail's time never runs back): what a benchmark that writes after the fill needs."""
    trail_load(target, checkpoint_every=checkpoint_every, days=days)


def trail_load(target: int, *, checkpoint_every: int = 100_000, days: int = DAYS) -> LoadReport:
    """:func:`fill_trail`, reporting what was loaded and how long each step took."""
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from audit.checkpoints import signing_key_current
    from audit.models import AuditEntry, AuditHead

    if connection.vendor != "postgresql":
        raise SystemExit("the trail is loaded with PostgreSQL COPY: DATABASE_URL must name a PostgreSQL database")
    existing = AuditHead.objects.get(pk=1).size
    if existing >= target:
        log(f"trail holds {existing:,} entries (>= {target:,}): not loading")
        return LoadReport(loaded=0, seconds=0.0)
    started = time.perf_counter()
    report = LoadReport(loaded=target - existing, seconds=0.0)
    world = world_facts()
    # The synthetic span starts after the last entry: the trail's time never runs back (audit_append), so index
    # order stays time order, as the console's period filter may rely on.
    last = AuditEntry.objects.order_by("-index").values_list("at", flat=True).first() or timezone.now()
    generator = TrailGenerator(world, first=existing, total=target, start=last + dt.timedelta(seconds=1), days=days)
    frontier = frontier_at(existing)
    key = signing_key_current()  # created and recorded (committed) before the load's transaction
    global _GENERATOR
    _GENERATOR = generator
    connections.close_all()  # the workers are forked: they must not share this process's connection
    done = 0
    bounds = [(lo, min(lo + BATCH, target)) for lo in range(existing, target, BATCH)]
    with (
        multiprocessing.get_context("fork").Pool(processes=os.cpu_count() or 2) as pool,
        transaction.atomic(),
        connection.cursor() as cursor,
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as facet_file,
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as node_file,
    ):
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("LOCK TABLE audit_audithead IN EXCLUSIVE MODE")
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked at the end of each COPY instead of
        # queued to the commit, where the queued events would also block rebuilding the indexes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        dropped = _secondary_indexes(cursor, "audit_auditentry") + _secondary_indexes(cursor, "audit_auditfacet")
        for name, _ in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        with cursor.copy(entry_copy()) as copy:
            for batch in pool.imap(_generate, bounds):
                copy.write(batch.entries)
                facet_file.write(batch.facets)
                node_file.write(_tree_rows(batch, frontier))
                done += len(batch.leaf_hashes) // 32
                if done % 100_000 < BATCH:
                    log(f"  {done:>9,} entries generated and copied ({time.perf_counter() - started:6.1f} s)")
        t0 = time.perf_counter()
        report.entries_seconds = t0 - started
        _copy_file(cursor, FACET_COPY, facet_file)
        t1 = time.perf_counter()
        report.facets_copy_seconds = t1 - t0
        _copy_file(cursor, NODE_COPY, node_file)
        t0 = time.perf_counter()
        report.nodes_copy_seconds = t0 - t1
        for _, definition in dropped:
            cursor.execute(definition)
        report.index_seconds = time.perf_counter() - t0
        # The head also carries the frontier the next append combines with (audit.ledger): the latest completed
        # subtree at each level, as the migration that introduced it fills it.
        latest = {str(level): frontier.get(level, (target >> level) - 1).hex() for level in range(target.bit_length())}
        cursor.execute(
            "UPDATE audit_audithead SET size = %s, last_at = (SELECT max(at) FROM audit_auditentry), "
            "frontier = %s::jsonb WHERE id = 1",
            [target, json.dumps(latest)],
        )
        t0 = time.perf_counter()
        for size in checkpoint_sizes(existing, target, checkpoint_every):
            checkpoint_sign_at(size, key)
            report.checkpoints += 1
        report.checkpoint_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # An append-only table is vacuumed by autovacuum's insert threshold too; doing it now sets the
        # visibility map (index-only scans) and the statistics, as on a trail that has been live for a while.
        for table in ("audit_auditentry", "audit_auditfacet", "audit_treenode"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    report.vacuum_seconds = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    log(
        f"loaded {report.loaded:,} entries in {report.seconds:.1f} s (generate and COPY entries "
        f"{report.entries_seconds:.1f} s, facets {report.facets_copy_seconds:.1f} s, tree nodes "
        f"{report.nodes_copy_seconds:.1f} s, indexes {report.index_seconds:.1f} s, {report.checkpoints} checkpoints "
        f"{report.checkpoint_seconds:.1f} s, VACUUM ANALYZE {report.vacuum_seconds:.1f} s)"
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fill the audit trail of DATABASE_URL up to N synthetic entries.")
    parser.add_argument("--entries", type=int, required=True, help="entries in the trail")
    parser.add_argument("--checkpoint-every", type=int, default=100_000, help="entries between checkpoints")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    database_ensure(os.environ.get("DATABASE_URL", ""), recreate=False)
    import django

    django.setup()
    world_prepare()
    fill_trail(args.entries, checkpoint_every=args.checkpoint_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
