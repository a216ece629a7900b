"""Checking the trail in this database against a checkpoint kept outside it (audit.md, "Checkpoints").

Partners fetch signed checkpoints (``GET /api/v1/audit/checkpoints/latest``) and keep them. A database restored from
a backup older than such a checkpoint, or a failover that lost commits, verifies on its own (``audit_verify``: every
entry and every checkpoint it still holds agree), and only a copy kept elsewhere shows what is missing. This module
compares the trail with one such copy:

- the copy must be a checkpoint this gateway signed: its body is the C2SP checkpoint of its origin, size and root,
  its origin is ours, and its signature verifies with the recorded public key of its fingerprint (or with the key
  the partner kept beside it);
- the trail must reach the checkpoint's size: a shorter trail lost entries that were published ("trail shorter
  than the checkpoint");
- the trail's root at that size must be the checkpoint's root (else the trail forked from what was published), and
  the consistency proof from the checkpoint to the trail's present size, which a partner would ask for, verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from audit import merkle
from audit.checkpoints import checkpoint_body
from audit.models import SigningKeyRecord
from audit.signing import verify_detached
from audit.tree import consistency_proof_at, tree_root, tree_size

CHECKPOINT_FIELDS = ("origin", "tree_size", "root_hash", "body", "signature", "key_fingerprint")


@dataclass(frozen=True)
class CheckpointCheck:
    """The outcome for one saved checkpoint. ``problem`` is one of ``None`` (consistent), ``invalid`` (not a checkpoint
    this gateway signed), ``shorter`` (the trail lost published entries) or ``fork`` (another history)."""

    tree_size: int | None
    trail_size: int
    problem: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.problem is None


def checkpoint_parse(text: str) -> dict[str, Any]:
    """The fields of a saved checkpoint (the JSON the API serves); ValueError naming what is wrong."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    for name in CHECKPOINT_FIELDS:
        wanted = int if name == "tree_size" else str
        if not isinstance(value.get(name), wanted) or isinstance(value.get(name), bool):
            raise ValueError(f"'{name}' missing or not a {wanted.__name__}")
    return value


def checkpoint_check(saved: dict[str, Any], *, public_key: str | None = None) -> CheckpointCheck:
    """Compare the trail with ``saved`` (fields as :func:`checkpoint_parse` returns them). ``public_key``: the
    ASCII-armoured key the partner kept; without it, the key recorded in this database for the fingerprint."""
    size: int = saved["tree_size"]
    trail = tree_size()
    name = f"checkpoint at {size}"

    def invalid(reason: str) -> CheckpointCheck:
        return CheckpointCheck(size, trail, "invalid", f"{name}: {reason}")

    try:
        root = bytes.fromhex(saved["root_hash"])
    except ValueError:
        return invalid("root_hash is not hex")
    if size < 1 or len(root) != merkle.HASH_SIZE:
        return invalid("not a tree size and a SHA-256 root")
    if saved["body"] != checkpoint_body(saved["origin"], size, root):
        return invalid("its body is not the checkpoint of its origin, size and root")
    if saved["origin"] != settings.GATEWAY_AUDIT_ORIGIN:
        return invalid(
            f"it is a checkpoint of another log ({saved['origin']!r}, this one is {settings.GATEWAY_AUDIT_ORIGIN!r})"
        )
    fingerprint = saved["key_fingerprint"]
    key = (
        public_key
        or SigningKeyRecord.objects.filter(fingerprint=fingerprint).values_list("public_armored", flat=True).first()
    )
    if key is None:
        return invalid(
            f"its signing key {fingerprint} is not recorded in this database; pass the public key kept "
            "with the checkpoint"
        )
    if verify_detached(saved["body"].encode("utf-8"), saved["signature"], key) != fingerprint:
        return invalid(
            f"its signature does not verify with key {fingerprint}: it is not a checkpoint this gateway signed"
        )
    if trail < size:
        return CheckpointCheck(
            size,
            trail,
            "shorter",
            f"{name}: the trail is SHORTER than the checkpoint: this database holds {trail} entries, but the gateway "
            f"signed and published a checkpoint of {size} entries{_signed_at(saved)}. Entries {trail} to {size - 1} "
            "are missing: the database was restored from a backup older than the checkpoint, or a failover lost "
            "committed entries. Do not sign or release until the missing entries are restored (a later backup with "
            "the WAL archive).",
        )
    if tree_root(size) != root:
        return CheckpointCheck(
            size,
            trail,
            "fork",
            f"{name}: the trail FORKED: its first {size} entries have root {tree_root(size).hex()}, the signed "
            f"checkpoint says {root.hex()}. The entries before index {size} are not the ones that were published.",
        )
    if trail > size:
        read = consistency_proof_at(size, trail)
        if not merkle.verify_consistency(size, trail, root, read.second_root, read.proof):
            return CheckpointCheck(
                size, trail, "fork", f"{name}: the consistency proof to the trail's {trail} entries does not verify"
            )
    return CheckpointCheck(
        size, trail, None, f"{name}: consistent: the trail of {trail} entries extends it (root {root.hex()[:16]}...)"
    )


def _signed_at(saved: dict[str, Any]) -> str:
    signed = saved.get("signed_at")
    return f" at {signed}" if isinstance(signed, str) else ""
