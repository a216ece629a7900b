"""Concurrent writers (audit.md, "Leaves and the tree"): the lock on the head row keeps the index gapless
and the stored tree consistent, with real transactions on separate connections."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection, transaction

from audit import merkle
from audit.ledger import Actor, EntryDraft, audit_append
from audit.models import AuditEntry, AuditHead
from audit.tree import tree_root

WRITERS = 6
EACH = 15


def test_concurrent_writers_leave_the_index_gapless(committed_world: Any) -> None:
    start = AuditHead.objects.get().size
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait()
            for step in range(EACH):
                with transaction.atomic():
                    audit_append(
                        EntryDraft(kind="check", actor=Actor(organisation=f"writer-{number}"), detail={"step": step})
                    )
                    if step % 5 == 4:
                        transaction.set_rollback(True)  # a writer whose transaction fails leaves no gap
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    committed = WRITERS * (EACH - EACH // 5)
    indices = list(AuditEntry.objects.filter(index__gte=start).values_list("index", flat=True).order_by("index"))
    assert indices == list(range(start, start + committed))
    size = AuditHead.objects.get().size
    assert size == start + committed
    leaves = [bytes.fromhex(h) for h in AuditEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
    assert tree_root(size) == merkle.root_from_leaf_hashes(leaves)
