"""Appending to the audit trail (``shared/spec/audit.md``, "What is recorded" and "Leaves and the tree").

:func:`audit_append` is the only writer of :class:`audit.models.AuditEntry`. It must run inside the
transaction of the event it records, so that the event and its entry commit or roll back together: if the
entry cannot be written, the event (and any release of data) does not happen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit import canonical, merkle
from audit.models import AuditEntry, AuditFacet, AuditHead, AuditKind, TreeNode
from audit.published import trail_guard

LEAF_VERSION = 1

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
"""The columns of an audit entry row (:class:`audit.models.AuditEntry`), in the order of the leaf's members."""


class AuditWriteError(RuntimeError):
    """The entry could not be written; the caller's transaction must not commit."""


@dataclass(frozen=True)
class Actor:
    """Who caused the event: an organisation through an OAuth client (and the professional it names), or a
    logged-in user of the portal or the console, or the system itself (a task, a command)."""

    organisation: str | None = None
    client_id: str | None = None
    acting_user: str | None = None
    user: str | None = None


@dataclass
class EntryDraft:
    """The fields of an entry before it gets its index and time."""

    kind: str
    actor: Actor
    subject: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    emergency: bool = False
    reference: str | None = None
    outcome: str | None = None
    policy_version: int | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def format_time(at: dt.datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, the form used in leaves."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def leaf_object(
    *,
    index: int,
    kind: str,
    at: dt.datetime,
    organisation: str | None,
    client_id: str | None,
    acting_user: str | None,
    user: str | None,
    subject: str | None,
    purpose: str | None,
    case_reference: str | None,
    emergency: bool,
    reference: str | None,
    outcome: str | None,
    policy_version: int | None,
    decisions: list[dict[str, Any]],
    detail: dict[str, Any],
) -> dict[str, Any]:
    """The entry as the JSON object whose canonical bytes are the Merkle leaf."""
    return {
        "v": LEAF_VERSION,
        "index": index,
        "kind": kind,
        "at": format_time(at),
        "actor": {
            "organisation": organisation,
            "client_id": client_id,
            "acting_user": acting_user,
            "user": user,
        },
        "subject": subject,
        "purpose": purpose,
        "case_reference": case_reference,
        "emergency": emergency,
        "reference": reference,
        "outcome": outcome,
        "policy_version": policy_version,
        "decisions": decisions,
        "detail": detail,
    }


def leaf_object_of(entry: AuditEntry) -> dict[str, Any]:
    """Rebuild the leaf object from an entry's columns (used by verification to compare with ``leaf``)."""
    return leaf_object(
        index=entry.index,
        kind=entry.kind,
        at=entry.at,
        organisation=entry.organisation,
        client_id=entry.client_id,
        acting_user=entry.acting_user,
        user=entry.user,
        subject=entry.subject,
        purpose=entry.purpose,
        case_reference=entry.case_reference,
        emergency=entry.emergency,
        reference=entry.reference,
        outcome=entry.outcome,
        policy_version=entry.policy_version,
        decisions=entry.decisions,
        detail=entry.detail,
    )


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) serialisation, through the C encoder where that is proven identical (:mod:`audit.canonical`)."""
    return canonical.canonical_bytes(value)


def leaf_hash_hex(leaf: bytes) -> str:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || leaf), lowercase hex."""
    return hashlib.sha256(b"\x00" + leaf).hexdigest()


def payload_digest(value: Any) -> str:
    """SHA-256 of the canonical bytes of released data: the trail records this, never the data itself."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def facets_of(columns: dict[str, Any]) -> list[tuple[str, str]]:
    """The searchable facts of an entry (see :class:`audit.models.AuditFacet`), without duplicates."""
    found: set[tuple[str, str]] = set()
    if columns.get("organisation"):
        found.add(("requester", columns["organisation"]))
    detail = columns.get("detail")
    if isinstance(detail, dict) and detail.get("recipient"):
        # A holder's push (``disclosure``): the organisation that receives stands where a requester stands, so
        # that its privacy officers find what it was given.
        found.add(("requester", str(detail["recipient"])[:80]))
    for decision in columns.get("decisions") or []:
        for key, member in (
            ("holder", "provider"),
            ("category", "category"),
            ("legal_basis", "legal_basis"),
            ("outcome", "outcome"),
        ):
            value = decision.get(member)
            if value:
                found.add((key, str(value)[:80]))
    return sorted(found)


# Advancing the head: the next index, the entry's time (now, but never before the last entry's) and the frontier
# the new leaf combines with. The lock this UPDATE takes orders all appends; under READ COMMITTED the row it returns
# is the latest committed one even after waiting for that lock, which a read of the tree in the same statement would
# not be (its snapshot is taken before the wait). That is why the frontier lives in this row.
_ADVANCE = """
UPDATE audit_audithead SET size = size + %(count)s,
    last_at = CASE WHEN last_at IS NULL OR last_at < %(now)s THEN %(now)s ELSE last_at END
WHERE id = 1 RETURNING size - %(count)s, last_at, frontier
"""


def _as_time(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite returns the stored text
        parsed = parse_datetime(value)
        if parsed is None:
            raise AuditWriteError(f"the audit head holds a time that is not one: {value!r}")
        value = parsed
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _head_advance(count: int = 1) -> tuple[int, dt.datetime, dict[str, str]]:
    """Take the next ``count`` indices (the first is returned), the entries' time and the Merkle frontier in one
    statement (:data:`_ADVANCE`), which also locks the head row until the caller's transaction ends: concurrent
    writers queue here, and a rollback releases the indices with no gap. The time never runs back, so index order is
    time order even when the clock steps back."""
    now = timezone.now()
    now = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE, {"count": count, "now": connection.ops.adapt_datetimefield_value(now)})
        row = cursor.fetchone()
    if row is None:
        raise AuditWriteError("the audit head row is missing")
    index, at, frontier = int(row[0]), _as_time(row[1]), row[2]
    if isinstance(frontier, str):
        frontier = json.loads(frontier)
    return index, at, dict(frontier or {})


_INSERT_PG = """
WITH d AS (SELECT CAST(%(rows)s AS json) AS j),
e AS (
    INSERT INTO audit_auditentry ("index", kind, at, organisation, client_id, acting_user, "user", subject, purpose,
        case_reference, emergency, reference, outcome, policy_version, decisions, detail, leaf, leaf_hash)
    SELECT x."index", x.kind, x.at, x.organisation, x.client_id, x.acting_user, x."user", x.subject, x.purpose,
        x.case_reference, x.emergency, x.reference, x.outcome, x.policy_version, x.decisions, x.detail, x.leaf,
        x.leaf_hash
    FROM d, json_to_recordset(d.j -> 'entries') AS x("index" bigint, kind varchar, at timestamptz,
        organisation varchar, client_id varchar, acting_user varchar, "user" varchar, subject varchar, purpose varchar,
        case_reference varchar, emergency boolean, reference varchar, outcome varchar, policy_version integer,
        decisions jsonb, detail jsonb, leaf text, leaf_hash varchar)
), n AS (
    INSERT INTO audit_treenode (level, position, hash)
    SELECT x.level, x.position, x.hash
    FROM d, json_to_recordset(d.j -> 'nodes') AS x(level smallint, position bigint, hash varchar)
), f AS (
    INSERT INTO audit_auditfacet (entry_index, key, value)
    SELECT x.entry, x.key, x.value
    FROM d, json_to_recordset(d.j -> 'facets') AS x(entry bigint, key varchar, value varchar)
)
UPDATE audit_audithead SET frontier = (SELECT CAST(d.j -> 'frontier' AS jsonb) FROM d) WHERE id = 1
"""
"""One statement for the entries of one append (one or a few), their tree nodes, their facets and the new frontier.
Everything travels as one JSON document, so the statement is the same whatever the count and is prepared once, and
the parameter is one string for the C encoder of :mod:`json` (arrays, one per column, cost psycopg a Python loop
over every element)."""


def _rows_insert(
    entries: list[AuditEntry],
    nodes: list[tuple[int, int, bytes]],
    facets: list[tuple[int, str, str]],
    frontier: dict[str, str],
) -> None:
    """Write the entries, the subtree hashes they complete, their facets (entry index, key, value) and the new
    frontier: one statement on PostgreSQL, four on SQLite."""
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_create(entries)
        TreeNode.objects.bulk_create([TreeNode(level=lv, position=pos, hash=h.hex()) for lv, pos, h in nodes])
        AuditFacet.objects.bulk_create(
            [AuditFacet(entry_id=index, key=key, value=value) for index, key, value in facets]
        )
        AuditHead.objects.filter(pk=1).update(frontier=frontier)
        return
    document = {
        "entries": [
            {name: getattr(entry, name) for name in ENTRY_COLUMNS if name != "at"} | {"at": entry.at.isoformat()}
            for entry in entries
        ],
        "nodes": [{"level": level, "position": position, "hash": value.hex()} for level, position, value in nodes],
        "facets": [{"entry": index, "key": key, "value": value} for index, key, value in facets],
        "frontier": frontier,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_PG, {"rows": json.dumps(document)})
    for entry in entries:
        entry._state.adding = False
        entry._state.db = connection.alias


def audit_append(draft: EntryDraft) -> AuditEntry:
    """Append one entry at the next index, inside the caller's transaction.

    The lock on the head row orders concurrent writers; a rolled-back transaction releases the lock and
    leaves no gap. Raises :class:`AuditWriteError` when called outside a transaction or when the write fails.
    """
    return audit_append_many([draft])[0]


def audit_append_many(drafts: list[EntryDraft]) -> list[AuditEntry]:
    """Append entries at consecutive indices in the order given, inside the caller's transaction: what
    :func:`audit_append` does for each, in one advance of the head and one write (two statements whatever the count).
    They share one time. For an action that records two events together (a request's intent and its decision)."""
    if not connection.in_atomic_block:
        raise AuditWriteError("audit_append must run inside the transaction of the event it records")
    if not drafts:
        raise AuditWriteError("nothing to append")
    for draft in drafts:
        if draft.kind not in AuditKind.values:
            raise AuditWriteError(f"unknown audit kind {draft.kind!r}")
    try:
        # No savepoint of its own: a failure here must fail the caller's whole transaction anyway.
        with transaction.atomic(savepoint=False):
            guard = trail_guard()  # refuses while the trail lacks the published checkpoint (audit/published.py)
            first, at, frontier = _head_advance(len(drafts))
            guard.check(first)
            entries: list[AuditEntry] = []
            nodes: list[tuple[int, int, bytes]] = []
            facets: list[tuple[int, str, str]] = []
            for index, draft in enumerate(drafts, start=first):
                columns: dict[str, Any] = {
                    "index": index,
                    "kind": str(draft.kind),  # a plain str, not the AuditKind member: the leaf takes the fast encoder
                    "at": at,
                    "organisation": draft.actor.organisation,
                    "client_id": draft.actor.client_id,
                    "acting_user": draft.actor.acting_user,
                    "user": draft.actor.user,
                    "subject": draft.subject,
                    "purpose": draft.purpose,
                    "case_reference": draft.case_reference,
                    "emergency": draft.emergency,
                    "reference": draft.reference,
                    "outcome": draft.outcome,
                    "policy_version": draft.policy_version,
                    "decisions": draft.decisions,
                    "detail": draft.detail,
                }
                leaf = canonical_bytes(leaf_object(**columns))
                digest = hashlib.sha256(b"\x00" + leaf).digest()
                entries.append(AuditEntry(**columns, leaf=leaf.decode("utf-8"), leaf_hash=digest.hex()))
                # After ``index`` leaves the latest subtree at level L is (L, index // 2**L - 1): the left siblings.
                siblings = merkle.InMemoryStore(
                    {(int(level), (index >> int(level)) - 1): bytes.fromhex(h) for level, h in frontier.items()}
                )
                completed = merkle.completed_subtrees(index, digest, siblings)
                frontier |= {str(level): value.hex() for level, _position, value in completed}
                nodes += completed
                facets += [(index, key, value) for key, value in facets_of(columns)]
            _rows_insert(entries, nodes, facets, frontier)
    except AuditWriteError:
        raise
    except Exception as exc:  # any database failure: the caller must not release
        raise AuditWriteError(f"the audit entry could not be written: {exc}") from exc
    return entries
