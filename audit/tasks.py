"""Celery tasks of the audit trail. gpg runs here, never on a partner's request path."""

from __future__ import annotations

from celery import shared_task

from audit.checkpoints import checkpoint_create


@shared_task(name="audit.checkpoint_sign", ignore_result=False)
def checkpoint_sign() -> int | None:
    """Sign a checkpoint if new entries exist; returns the signed tree size (None when nothing was new)."""
    checkpoint = checkpoint_create()
    return checkpoint.tree_size if checkpoint else None
