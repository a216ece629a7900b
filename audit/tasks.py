"""Celery tasks of the audit trail. gpg runs here, never on a partner's request path."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import shared_task
from django.db import connection
from django.utils import timezone

from audit.checkpoints import checkpoint_create
from audit.models import AuditHead, VerificationRun, VerificationStatus
from audit.verification import verify_trail

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint_sign", ignore_result=False)
def checkpoint_sign() -> int | None:
    """Sign a checkpoint if new entries exist; returns the signed tree size (None when nothing was new)."""
    checkpoint = checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@contextmanager
def _progress_recorder(run_id: int) -> Iterator[Callable[[int, int], None] | None]:
    """Where a run's progress goes while :func:`audit.verification.verify_trail` holds its snapshot.

    In a worker, verify_trail reads in a READ ONLY, REPEATABLE READ transaction of its own: a write there would
    fail, and would show only at the end anyway. So on PostgreSQL the counts go through a second connection in
    autocommit, and the status page sees them while the run goes on. Called inside a transaction (a test, an eager
    call), the snapshot is that transaction and the row is updated in it. On SQLite the snapshot's transaction
    holds the database's write lock, so the counts are written only at the end.
    """
    if connection.in_atomic_block:

        def record_here(checked: int, total: int) -> None:
            VerificationRun.objects.filter(pk=run_id).update(entries_checked=checked, entries_total=total)

        yield record_here
        return
    if connection.vendor != "postgresql":
        yield None
        return
    side = connection.copy()
    quote = side.ops.quote_name
    statement = (
        f"UPDATE {quote(VerificationRun._meta.db_table)} SET {quote('entries_checked')} = %s, "  # noqa: S608
        f"{quote('entries_total')} = %s WHERE {quote('id')} = %s"
    )

    def record_aside(checked: int, total: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(statement, [checked, total, run_id])

    try:
        yield record_aside
    finally:
        side.close()


@shared_task(name="audit.verification_run", ignore_result=True)
def verification_run(run_id: int) -> str | None:
    """Run the full verification (audit_verify) for a :class:`audit.models.VerificationRun` started from the console.

    Marks the run running, records the entries checked after every chunk, then stores the verdict: ``intact``, or
    ``failed`` with the first failing entry or checkpoint (audit.md, "Verification"); ``error`` when the run itself
    broke down. A run already finished is left alone, so a redelivered message does not run it twice.
    """
    head = AuditHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0
    started = VerificationRun.objects.filter(
        pk=run_id, status__in=[VerificationStatus.QUEUED, VerificationStatus.RUNNING]
    ).update(status=VerificationStatus.RUNNING, started_at=timezone.now(), entries_total=head, entries_checked=0)
    if not started:
        return None
    try:
        with _progress_recorder(run_id) as progress:
            result = verify_trail(progress=progress)
    except Exception as exc:
        logger.exception("verification run %s could not run", run_id)
        VerificationRun.objects.filter(pk=run_id).update(
            status=VerificationStatus.ERROR,
            finished_at=timezone.now(),
            failure=f"the verification could not run: {type(exc).__name__}: {exc}"[:1000],
        )
        return VerificationStatus.ERROR.value
    status = VerificationStatus.INTACT if result.ok else VerificationStatus.FAILED
    VerificationRun.objects.filter(pk=run_id).update(
        status=status,
        finished_at=timezone.now(),
        entries_checked=result.entries_checked,
        checkpoints_checked=result.checkpoints_checked,
        failure=result.failure or "",
        failed_index=result.failed_index,
        failed_checkpoint=result.failed_checkpoint,
    )
    logger.info("verification run %s: %s after %d entries", run_id, status.value, result.entries_checked)
    return status.value
