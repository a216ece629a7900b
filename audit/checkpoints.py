"""Signed checkpoints of the audit trail (audit.md, "Checkpoints"): C2SP ``tlog-checkpoint`` bodies with an
OpenPGP detached signature, each stored only if the consistency proof from the previous one verifies, and only if the
trail still holds the last published checkpoint (:mod:`audit.published`), where it is recorded before it commits."""

from __future__ import annotations

import base64
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import merkle, signing
from audit.models import Checkpoint, CheckpointMutex, SigningKeyRecord
from audit.published import (
    PublishedCheckpoint,
    PublishedRead,
    PublishedStoreError,
    published_read,
    published_record,
    trail_compare,
)
from audit.tree import consistency_proof_at, tree_root, tree_size

logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """The new tree head is not consistent with the last signed or the last published one, or could not be
    recorded as published: the gateway refuses to sign it."""


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint body byte for byte: origin, tree size in decimal, base64 of the root, each ending in LF."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def signing_key_current() -> signing.SigningKey:
    """Ensure the signing key exists and its public half is recorded for the public-key endpoint."""
    key = signing.signing_key_ensure()
    SigningKeyRecord.objects.get_or_create(fingerprint=key.fingerprint, defaults={"public_armored": key.public_armored})
    return key


def checkpoint_create() -> Checkpoint | None:
    """Sign a checkpoint of the trail as it is now, if it grew since the last one. One at a time (row lock).

    Refuses (:class:`CheckpointError`) while the trail does not hold the last published checkpoint: a database that
    came back older than what partners were given (docs/operations.md, "Failover"). The new checkpoint is recorded
    as published before its transaction commits; a store that lacks the latest one gets it again."""
    with transaction.atomic(durable=True):
        CheckpointMutex.objects.select_for_update().get_or_create(pk=1)
        size = tree_size()
        published = published_read()
        state = trail_compare(published.records, size)
        if not state.ok:
            raise CheckpointError(f"{state.reason}; not signing")
        latest = Checkpoint.objects.order_by("-tree_size").first()
        if size == 0 or (latest is not None and size <= latest.tree_size):
            if latest is not None:
                _record_again(latest, published)
            return None
        proof: list[bytes] = []
        if latest is None:
            root = tree_root(size)
        else:  # the new root and the proof from the latest checkpoint in one read of the tree
            read = consistency_proof_at(latest.tree_size, size)
            root, proof = read.second_root, read.proof
            if not merkle.verify_consistency(latest.tree_size, size, bytes.fromhex(latest.root_hash), root, proof):
                raise CheckpointError(
                    f"the tree at {size} is not consistent with the checkpoint at {latest.tree_size}; not signing"
                )
        key = signing_key_current()
        origin = settings.GATEWAY_AUDIT_ORIGIN
        body = checkpoint_body(origin, size, root)
        signature = signing.sign_detached(body.encode("utf-8"), key)
        checkpoint = Checkpoint.objects.create(
            tree_size=size,
            root_hash=root.hex(),
            origin=origin,
            body=body,
            signature=signature,
            key_fingerprint=key.fingerprint,
            signed_at=timezone.now(),
            consistency_proof=[p.hex() for p in proof],
        )
        try:
            published_record(PublishedCheckpoint.of(checkpoint), read=published)
        except PublishedStoreError as exc:
            raise CheckpointError(
                f"the checkpoint at {size} could not be recorded as published ({exc}); not signing"
            ) from exc
    logger.info("signed checkpoint at tree size %d", size)
    return checkpoint


def _record_again(latest: Checkpoint, published: PublishedRead) -> None:
    """Put the latest stored checkpoint in a store that holds less (new, emptied, or the first run after an upgrade).
    A store that cannot be written now is tried again on the next run."""
    try:
        published_record(PublishedCheckpoint.of(latest), read=published)
    except PublishedStoreError as exc:
        logger.warning("the checkpoint at %d could not be recorded again: %s", latest.tree_size, exc)


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "origin": checkpoint.origin,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "body": checkpoint.body,
        "signature": checkpoint.signature,
        "key_fingerprint": checkpoint.key_fingerprint,
        "signed_at": checkpoint.signed_at.isoformat().replace("+00:00", "Z"),
    }
