"""Appending to the audit trail (``shared/spec/audit.md``, "What is recorded" and "Leaves and the tree").

:func:`audit_append` is the only writer of :class:`audit.models.AuditEntry`. It must run inside the
transaction of the event it records, so that the event and its entry commit or roll back together: if the
entry cannot be written, the event (and any release of data) does not happen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEntry, AuditFacet, AuditHead, AuditKind, TreeNode
from audit.tree import nodes_for_append

LEAF_VERSION = 1


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
    """RFC 8785 (JCS) serialisation."""
    return rfc8785.dumps(value)


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


def audit_append(draft: EntryDraft) -> AuditEntry:
    """Append one entry at the next index, inside the caller's transaction.

    The lock on the head row orders concurrent writers; a rolled-back transaction releases the lock and
    leaves no gap. Raises :class:`AuditWriteError` when called outside a transaction or when the write fails.
    """
    if not connection.in_atomic_block:
        raise AuditWriteError("audit_append must run inside the transaction of the event it records")
    if draft.kind not in AuditKind.values:
        raise AuditWriteError(f"unknown audit kind {draft.kind!r}")
    try:
        with transaction.atomic():
            head = AuditHead.objects.select_for_update().get(pk=1)
            index = head.size
            now = timezone.now()
            at = now.replace(microsecond=(now.microsecond // 1000) * 1000)
            if head.last_at is not None and at < head.last_at:
                at = head.last_at  # the clock stepped back: the trail's time never does, so index order is time order
            columns: dict[str, Any] = {
                "index": index,
                "kind": draft.kind,
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
            entry = AuditEntry.objects.create(**columns, leaf=leaf.decode("utf-8"), leaf_hash=leaf_hash_hex(leaf))
            TreeNode.objects.bulk_create(nodes_for_append(index, entry.leaf_hash))
            AuditFacet.objects.bulk_create(
                [AuditFacet(entry=entry, key=key, value=value) for key, value in facets_of(columns)]
            )
            AuditHead.objects.filter(pk=1).update(size=index + 1, last_at=at)
    except AuditWriteError:
        raise
    except Exception as exc:  # any database failure: the caller must not release
        raise AuditWriteError(f"the audit entry could not be written: {exc}") from exc
    return entry
