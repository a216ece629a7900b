"""Full verification of the audit trail (``shared/spec/audit.md``, "Verification").

:func:`verify_trail` streams the entries in index order and checks, for each one, what audit.md promises about
it: gapless indices, the leaf hash, the stored leaf bytes against the columns, and the stored subtree hashes
against the recomputed tree. At every checkpoint's tree size it compares the recomputed root with the signed one
and checks the body, the signature and the consistency proof from the previous checkpoint. The first failure
stops the run and is named.

Memory is bounded whatever the length of the trail: entries are read as plain tuples through a server-side cursor
(``CHUNK_SIZE`` rows at a time) and only a Merkle *frontier* is kept (:class:`audit.merkle.TreeBuilder`, O(log n)
hashes), which is all that the next leaf and the root at a checkpoint need. Every stored ``TreeNode`` row is
compared with the hash recomputed from the entries when that node becomes complete (one query per chunk, by range
on the unique ``(level, position)`` index), and rows beyond the trail are counted at the end: a changed, missing or
extra node is always detected, not only the few on the frontier.

Speed: the columns' canonical bytes go through :mod:`audit.canonical` (the standard library's C encoder, proven
byte-identical to RFC 8785 for the values it accepts; anything else through ``rfc8785``). On PostgreSQL the JSON
columns are read as text and decoded with :func:`audit.canonical.plain_loads`, which refuses floats and unsafe
integers while decoding, so a leaf is re-serialised without walking its values first. Entries are checked a run at
a time (up to the next checkpoint's size, :meth:`_Verifier._check_entries`): every check in one quick pass with the
tree nodes compared as one list; only when something differs are the entries checked again one at a time, which
names the first failure.

Concurrency: two kinds of helper threads, both only ever ahead of the checks, never deciding anything.

- **The reading thread** (PostgreSQL): :func:`_read_ahead` runs :func:`_pg_chunks` in a thread that keeps up to
  ``READ_AHEAD`` chunks (entries with their tree nodes) ready, so PostgreSQL produces the next chunk in its own
  process while this thread checks the current one (psycopg waits without the GIL). It uses the same connection,
  hence the same transaction and snapshot (:func:`trail_snapshot`): one consistent view, also inside a caller's
  transaction whose rows are not committed. psycopg serialises the connection's use, so the checks' own queries
  (checkpoints, keys) wait at most for the chunk being fetched. The chunks arrive in order; an error in the thread
  is raised here in its place; at the first failure the thread is stopped and joined (its cursor closed) before
  anything else uses the connection.
- **gpg** (:meth:`_Verifier._signed`): each checkpoint's signature check (:func:`audit.signing.verify_detached`, a
  gpg process) is started in a small thread pool ``SIGNATURES_AHEAD`` checkpoints before the entries reach it; its
  verdict is read in its place among the checkpoint's checks, so the first failure named is the same as when gpg
  ran in line. An error of gpg is raised as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from itertools import islice
from json.encoder import encode_basestring
from queue import Full, Queue
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from audit import merkle
from audit.canonical import MAX_SAFE_INTEGER, NotPlainJSON, canonical_bytes, plain_loads, plain_text
from audit.checkpoints import checkpoint_body
from audit.ledger import ENTRY_COLUMNS, LEAF_VERSION, format_time, leaf_object
from audit.models import AuditEntry, AuditHead, Checkpoint, SigningKeyRecord, TreeNode
from audit.signing import verify_detached
from audit.tree import nodes_fetch

CHUNK_SIZE = 2000
READ_AHEAD = 2
"""Chunks the reading thread may hold ready before the checks take them (:func:`_read_ahead`)."""
SIGNATURES_AHEAD = 4
"""Checkpoints read ahead of the entries, their signatures checked by gpg in the background (:func:`_signed`)."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

T = TypeVar("T")
Row = tuple[Any, ...]
"""An entry as :func:`_chunks` reads it: the columns of :data:`ROW_FIELDS` in that order, except that ``at`` is
already the leaf's time text (:func:`audit.ledger.format_time`, or None when it has none) and ``decisions`` and
``detail`` are the JSON text of the columns."""

ROW_FIELDS = ENTRY_COLUMNS


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of one run of :func:`verify_trail`.

    ``entries_checked`` and ``checkpoints_checked`` count what passed every check before the run stopped;
    ``failure`` is a one-line message naming the first failing entry or checkpoint, ``failed_index`` the entry
    index and ``failed_checkpoint`` the checkpoint's tree size (at most one of them is set).
    """

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    failure: str | None = None
    failed_index: int | None = None
    failed_checkpoint: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (for ``audit_verify --json`` and the privacy console)."""
        return asdict(self)


class _Failure(Exception):
    """The first failed check; carries what :class:`VerificationResult` names."""

    def __init__(self, message: str, *, index: int | None = None, checkpoint: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.checkpoint = checkpoint


@contextmanager
def trail_snapshot() -> Iterator[None]:
    """One consistent, read-only view of the audit tables for a whole verification or export.

    On PostgreSQL a REPEATABLE READ transaction, so appends and checkpoints committed meanwhile are not half
    seen (the head, the entries, the tree and the checkpoints all come from the same snapshot). Inside an
    existing transaction (tests, the console) that transaction's view is used as it is.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# ``at`` as PostgreSQL writes it for the leaf: the era, then format_time's digits (the microseconds are cut to
# milliseconds in Python, as format_time does). Explicit, so the server's DateStyle does not matter.
_PG_TIME = """to_char(at AT TIME ZONE 'UTC', 'AD YYYY-MM-DD"T"HH24:MI:SS.US')"""


def _pg_time_text(text: str) -> str | None:
    """format_time's text for a time that :data:`_PG_TIME` wrote; None for one Python cannot hold (BC, year 10000+)."""
    if len(text) == 29 and text[:3] == "AD " and text[3] != "0":
        return text[3:26] + "Z"
    if not text.startswith("AD "):
        return None
    try:  # a year before 1000: as Python formats it (format_time, strftime's %Y)
        moment = dt.datetime.strptime(text[3:], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return format_time(moment)


Node = tuple[int, int, str]
"""A stored tree node: level, position and the hash as the row holds it (lowercase hex when intact)."""
Chunk = tuple[list[Row], list[Node]]
"""Consecutive entries (:data:`Row`) and every stored tree node they complete, in the order they complete them (by
the index of the leaf that completes a node, ``((position + 1) << level) - 1``, then by level): the order of
:meth:`audit.merkle.TreeBuilder.extend_completed`. A node that is not stored is simply absent."""


def _chunks() -> Generator[Chunk, None, None]:
    """Every entry in index order, ``CHUNK_SIZE`` at a time, each chunk with the tree nodes its entries complete.

    On PostgreSQL :func:`_pg_chunks` in a reading thread (:func:`_read_ahead`), so that the server produces the next
    chunk while this thread checks the current one; elsewhere :func:`_orm_chunks`, in this thread.
    """
    if connection.vendor != "postgresql":
        yield from _orm_chunks()
        return
    connection.ensure_connection()
    with closing(_read_ahead(_pg_chunks(connection.connection), READ_AHEAD)) as chunks:
        yield from chunks


def _node_ranges(start: int, end: int) -> list[tuple[int, int, int]]:
    """(level, first position, last position) of the ``TreeNode`` rows that become complete when leaves
    ``start .. end - 1`` are appended.

    A node (L, p) covers leaves [p * 2**L, (p + 1) * 2**L) and is completed by leaf (p + 1) * 2**L - 1, so the
    range asks, at each level, for positions p with start < (p + 1) * 2**L <= end.
    """
    ranges = []
    for level in range(end.bit_length()):
        first = -(-(start + 1) >> level) - 1  # ceil((start + 1) / 2**L) - 1
        last = (end >> level) - 1
        if first <= last:
            ranges.append((level, first, last))
    return ranges


def _pg_chunks(raw: Any) -> Generator[Chunk, None, None]:
    """:func:`_chunks` on PostgreSQL, through the psycopg connection ``raw`` (Django's, in its transaction).

    The entries come from one server-side cursor, with the time formatted and the JSON columns as text by the
    server (no model instances, no datetime or JSON objects built only to be serialised again); each chunk's tree
    nodes from one query by range on the unique ``(level, position)`` index. Plain psycopg, not Django's cursor
    wrappers: this runs in the reading thread (:func:`_read_ahead`), on the connection that Django opened in the
    thread that called :func:`verify_trail`.
    """
    columns = [_PG_TIME if name == "at" else f'"{name}"' for name in ROW_FIELDS]
    columns[ROW_FIELDS.index("decisions")] = '"decisions"::text'
    columns[ROW_FIELDS.index("detail")] = '"detail"::text'
    entries_sql = f'SELECT {", ".join(columns)} FROM "{AuditEntry._meta.db_table}" ORDER BY "index"'  # noqa: S608
    nodes_sql = (
        f'SELECT "level", "position", "hash" FROM "{TreeNode._meta.db_table}" WHERE {{}}'  # noqa: S608
        ' ORDER BY ("position" + 1) << "level", "level"'
    )
    size = 0
    with raw.cursor(name="audit_verify_entries") as entries, raw.cursor() as nodes:
        entries.execute(entries_sql)
        while batch := entries.fetchmany(CHUNK_SIZE):
            rows = [(*row[:2], _pg_time_text(row[2]), *row[3:]) for row in batch]
            ranges = _node_ranges(size, size + len(rows))
            stored: list[Node] = []
            if ranges:
                condition = " OR ".join(['("level" = %s AND "position" BETWEEN %s AND %s)'] * len(ranges))
                nodes.execute(nodes_sql.format(condition), [value for item in ranges for value in item])
                stored = nodes.fetchall()
            yield rows, stored
            size += len(rows)


def _orm_chunks() -> Generator[Chunk, None, None]:
    """:func:`_chunks` through the ORM, in this thread (SQLite; on PostgreSQL the reference the tests compare
    :func:`_pg_chunks` with)."""
    rows = (
        AuditEntry.objects.order_by("index")
        .annotate(decisions_text=Cast("decisions", TextField()), detail_text=Cast("detail", TextField()))
        .values_list(*[f"{name}_text" if name in ("decisions", "detail") else name for name in ROW_FIELDS])
        .iterator(chunk_size=CHUNK_SIZE)
    )
    size = 0
    while batch := list(islice(rows, CHUNK_SIZE)):
        condition = Q(pk__in=[])
        for level, first, last in _node_ranges(size, size + len(batch)):
            condition |= Q(level=level, position__gte=first, position__lte=last)
        stored = sorted(
            TreeNode.objects.filter(condition).values_list("level", "position", "hash"),
            key=lambda node: ((node[1] + 1) << node[0], node[0]),
        )
        yield [(*row[:2], format_time(row[2]), *row[3:]) for row in batch], stored
        size += len(batch)


def _read_ahead(items: Generator[T, None, None], depth: int) -> Generator[T, None, None]:
    """``items``, produced in a thread of their own up to ``depth`` ahead of the caller.

    Why a thread: reading a chunk is mostly waiting for PostgreSQL, which runs in its own process, and psycopg waits
    without holding the GIL; so the server produces (and the reading thread decodes) the next chunk while the
    caller checks this one. The thread uses the caller's connection and so its transaction and snapshot: no second
    connection, nothing that another view of the trail could get in between. psycopg serialises the connection's
    use, so the caller's own queries meanwhile (checkpoints, keys) simply wait for the chunk being fetched.

    What the caller sees is exactly ``items``, in order: an exception in the thread is raised to the caller in its
    place, and the end comes only after the last item. Closing this generator (the caller stopped at a failure,
    or raised) stops the thread and waits for it, which closes ``items`` there (its cursors), so that nothing uses
    the connection afterwards.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put((kind, value), timeout=0.05)
            except Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            with closing(items):
                for item in items:
                    if not put("item", item):
                        return
            put("end", None)
        except BaseException as error:  # every failure goes to the caller, which raises it
            put("error", error)

    thread = threading.Thread(target=produce, name="audit-verification-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _member(value: str | None) -> str:
    """A string or null member as RFC 8785 writes it (the C escaper of :mod:`json`, see :mod:`audit.canonical`)."""
    return "null" if value is None else encode_basestring(value)


def columns_canonical(row: Row) -> bytes | None:
    """The RFC 8785 bytes of the leaf object (:func:`audit.ledger.leaf_object`) that the row's columns give, or None
    when a value has no JCS form (a NaN, an integer beyond 2**53, a time Python cannot hold) and so cannot agree
    with any leaf.

    The fast path writes the object's members in RFC 8785 order around the two JSON columns, which go through the
    standard library's encoder (:func:`audit.canonical.plain_bytes`); anything unusual (a float, a large integer,
    a column of another type) takes :func:`leaf_canonical`. ``tests/audit/test_verification_speed_paths.py`` holds
    both to ``rfc8785.dumps(leaf_object(...))``: a difference would fail entries, never pass a wrong one.
    """
    (index, kind, at, organisation, client_id, acting_user, user, subject, purpose) = row[:9]
    (case_reference, emergency, reference, outcome, policy_version, decisions_text, detail_text) = row[9:16]
    if (
        type(index) is not int
        or not 0 <= index <= MAX_SAFE_INTEGER
        or type(emergency) is not bool
        or not (policy_version is None or type(policy_version) is int)
        or at is None
    ):
        return leaf_canonical(row)
    try:
        decisions, detail = plain_loads(decisions_text), plain_loads(detail_text)
        text = (
            f'{{"actor":{{"acting_user":{_member(acting_user)},"client_id":{_member(client_id)},'
            f'"organisation":{_member(organisation)},"user":{_member(user)}}},"at":{_member(at)},'
            f'"case_reference":{_member(case_reference)},"decisions":{plain_text(decisions)},'
            f'"detail":{plain_text(detail)},"emergency":{"true" if emergency else "false"},"index":{index},'
            f'"kind":{_member(kind)},"outcome":{_member(outcome)},'
            f'"policy_version":{"null" if policy_version is None else policy_version},"purpose":{_member(purpose)},'
            f'"reference":{_member(reference)},"subject":{_member(subject)},"v":{LEAF_VERSION}}}'
        )
        return text.encode("utf-8")
    except (NotPlainJSON, TypeError, ValueError):
        return leaf_canonical(row)


def leaf_canonical(row: Row) -> bytes | None:
    """:func:`columns_canonical` the plain way: :func:`audit.ledger.leaf_object` and
    :func:`audit.canonical.canonical_bytes` (``rfc8785`` for what the fast encoder does not take)."""
    (index, kind, at, organisation, client_id, acting_user, user, subject, purpose) = row[:9]
    (case_reference, emergency, reference, outcome, policy_version, decisions_text, detail_text) = row[9:16]
    if at is None:
        return None
    try:
        value = leaf_object(
            index=index,
            kind=kind,
            at=_EPOCH,  # the row's time is already the leaf's text; set below
            organisation=organisation,
            client_id=client_id,
            acting_user=acting_user,
            user=user,
            subject=subject,
            purpose=purpose,
            case_reference=case_reference,
            emergency=emergency,
            reference=reference,
            outcome=outcome,
            policy_version=policy_version,
            decisions=json.loads(decisions_text),
            detail=json.loads(detail_text),
        )
        value["at"] = at
        return canonical_bytes(value)
    except Exception:  # a value JCS cannot express, or a column that is not what the model says
        return None


def _tree_nodes(size: int) -> int:
    """How many nodes the tree of ``size`` leaves stores: one per leaf and per complete subtree above them."""
    return 2 * size - size.bit_count()


class _Verifier:
    """One run over the trail; state is the frontier, the previous checkpoint and the counts."""

    def __init__(self, progress: Callable[[int, int], None] | None = None) -> None:
        self.progress = progress
        self.tree = merkle.TreeBuilder()
        self.size = 0  # entries that passed every check; the tree may hold one more, the entry that failed
        self.checkpoints_checked = 0
        self.previous: tuple[int, bytes] | None = None
        self.keys: dict[str, str | None] = {}

    def run(self) -> VerificationResult:
        """Run every check; the first failure becomes the result (audit.md: "naming the first index or checkpoint
        that fails")."""
        try:
            self._verify()
        except _Failure as failure:
            return VerificationResult(
                ok=False,
                entries_checked=self.size,
                checkpoints_checked=self.checkpoints_checked,
                failure=failure.message,
                failed_index=failure.index,
                failed_checkpoint=failure.checkpoint,
            )
        return VerificationResult(ok=True, entries_checked=self.size, checkpoints_checked=self.checkpoints_checked)

    def _verify(self) -> None:
        """Stream entries and checkpoints together, in index and signing order; then the end-of-trail checks."""
        head_row = AuditHead.objects.filter(pk=1).values_list("size", "frontier").first()
        if head_row is None:
            raise _Failure("the head row is missing")
        head, frontier = head_row
        with (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-verification-gpg") as gpg,
            closing(_chunks()) as chunks,
        ):
            checkpoints = self._signed(Checkpoint.objects.order_by("pk").iterator(chunk_size=CHUNK_SIZE), gpg)
            try:
                pending = next(checkpoints, None)
                for batch, stored in chunks:
                    # The entries up to the next checkpoint's size at a time: each checkpoint is checked when the
                    # entries reach its size, before the entry at that index (as one entry at a time would).
                    first, done = self.size, 0
                    while done < len(batch):
                        while pending is not None and pending[0].tree_size <= self.size:
                            self._check_checkpoint(*pending)
                            pending = next(checkpoints, None)
                        end = len(batch)
                        if pending is not None:
                            end = min(end, done + pending[0].tree_size - self.size)
                        offset = _tree_nodes(self.size) - _tree_nodes(first)
                        self._check_entries(batch[done:end], head, stored, offset)
                        done = end
                    if self.progress is not None:
                        self.progress(self.size, head)
                while pending is not None and pending[0].tree_size <= self.size:
                    self._check_checkpoint(*pending)
                    pending = next(checkpoints, None)
            finally:
                gpg.shutdown(wait=True, cancel_futures=True)
        if head != self.size:
            raise _Failure(f"head: the head row says {head} entries but the trail has {self.size}", index=self.size)
        if pending is not None:
            raise _Failure(
                f"checkpoint at {pending[0].tree_size}: beyond the end of the trail ({self.size} entries)",
                checkpoint=pending[0].tree_size,
            )
        extra = TreeNode.objects.count() - _tree_nodes(self.size)
        if extra:
            raise _Failure(f"tree: {extra} stored tree nodes do not belong to the {self.size} entries")
        # The frontier the next append combines with: the latest subtree at each level, (L, size // 2**L - 1), read
        # from the nodes just checked against the entries.
        latest = [(level, (self.size >> level) - 1) for level in range(self.size.bit_length())]
        nodes = nodes_fetch(latest)
        expected = {str(level): nodes.get(level, position).hex() for level, position in latest}
        if frontier != expected:
            raise _Failure("head: the Merkle frontier for the next entry differs from the tree")

    def _check_entries(self, rows: list[Row], head: int, stored: list[Node], offset: int) -> None:
        """:meth:`_check_entry` for each of ``rows`` in turn, the way that costs least when they pass.

        ``stored`` is the chunk's tree nodes (:data:`Chunk`); those of ``rows`` begin at ``offset``, since every
        earlier node of the chunk matched. First every check of every entry without naming anything: index, head,
        leaf hash, columns, then the hashes the entries complete against the stored nodes, all in one list
        comparison (the same set of nodes in the same order, each equal). If anything differs, the tree goes back to
        where it was and :meth:`_check_entry` checks the rows one by one, and so names the first failure exactly as
        it always has. The quick pass accepts only what :meth:`_check_entry` accepts.
        """
        start = self.size
        leaf_hashes: list[bytes] = []
        add = leaf_hashes.append
        sha256 = hashlib.sha256
        prefix = merkle.LEAF_PREFIX
        index = start
        passed = start + len(rows) <= head
        if passed:
            for row in rows:
                leaf = row[16].encode("utf-8")
                leaf_hash = sha256(prefix + leaf).digest()
                if row[0] != index or row[17] != leaf_hash.hex() or columns_canonical(row) != leaf:
                    passed = False
                    break
                add(leaf_hash)
                index += 1
        if passed:
            before = self.tree.copy()
            completed = self.tree.extend_completed(leaf_hashes)
            expected = stored[offset : offset + len(completed)]
            if [value.hex() for value in completed] == [value for _level, _position, value in expected]:
                self.size = self.tree.size
                return
            self.tree = before
        by_key = {(level, position): value for level, position, value in stored}
        for row in rows:
            self._check_entry(row, head, by_key)

    def _check_entry(self, row: Row, head: int, stored: dict[tuple[int, int], str]) -> None:
        """audit.md "Leaves and the tree" and "Verification", for one entry, in this order: the index is the
        next one, within the head; the leaf hash matches the bytes; the leaf's "index" is the row's; the columns
        give the same canonical bytes; the stored subtree hashes this leaf completes match the recomputed ones."""
        index = self.size
        if row[0] != index:
            raise _Failure(f"index gap: expected {index}, found {row[0]}", index=index)
        if index >= head:
            raise _Failure(f"entry {index}: beyond the head row's size {head}", index=index)
        leaf = row[16].encode("utf-8")
        leaf_hash = hashlib.sha256(merkle.LEAF_PREFIX + leaf).digest()
        if row[17] != leaf_hash.hex():
            raise _Failure(f"entry {index}: leaf hash does not match its bytes", index=index)
        if columns_canonical(row) != leaf:
            # Equal bytes would also have proved the leaf JSON with this index; name what is wrong instead.
            try:
                parsed = json.loads(leaf)
            except ValueError:
                raise _Failure(f"entry {index}: the leaf is not JSON", index=index) from None
            found = parsed.get("index") if isinstance(parsed, dict) else None
            if type(found) is not int or found != index:
                raise _Failure(f"entry {index}: the leaf says index {found!r}", index=index)
            raise _Failure(f"entry {index}: the columns differ from the signed leaf", index=index)
        position = index
        for level, value in enumerate(self.tree.append(leaf_hash)):
            node = stored.get((level, position))
            if node is None:
                raise _Failure(
                    f"entry {index}: tree node at level {level}, position {position} is missing", index=index
                )
            if node != value.hex():
                raise _Failure(
                    f"entry {index}: tree node at level {level}, position {position} differs from the entries",
                    index=index,
                )
            position >>= 1
        self.size += 1

    def _public_key(self, fingerprint: str) -> str | None:
        """The recorded public key for a fingerprint (audit.md: the key published at /api/v1/audit/public-key)."""
        if fingerprint not in self.keys:
            self.keys[fingerprint] = (
                SigningKeyRecord.objects.filter(fingerprint=fingerprint)
                .values_list("public_armored", flat=True)
                .first()
            )
        return self.keys[fingerprint]

    def _signed(
        self, checkpoints: Iterator[Checkpoint], gpg: ThreadPoolExecutor
    ) -> Iterator[tuple[Checkpoint, Future[str | None] | None]]:
        """The checkpoints in order, each with gpg's check of its signature (:func:`audit.signing.verify_detached`
        with the recorded key, None when there is none) started in ``gpg``'s threads ``SIGNATURES_AHEAD``
        checkpoints before the caller takes it: gpg is a process of its own, so it runs while the entries before the
        checkpoint are checked. :meth:`_check_checkpoint` still looks at the verdict only in its place among the
        checkpoint's checks, so the failure named does not change."""
        window: deque[tuple[Checkpoint, Future[str | None] | None]] = deque()
        for checkpoint in checkpoints:
            public = self._public_key(checkpoint.key_fingerprint)
            signature = None
            if public is not None:
                signature = gpg.submit(verify_detached, checkpoint.body.encode("utf-8"), checkpoint.signature, public)
            window.append((checkpoint, signature))
            if len(window) > SIGNATURES_AHEAD:
                yield window.popleft()
        while window:
            yield window.popleft()

    def _check_checkpoint(self, checkpoint: Checkpoint, signature: Future[str | None] | None) -> None:
        """audit.md "Checkpoints" and "Verification", for one checkpoint, in this order: its size is larger than
        the previous one's; the root recomputed from the entries equals ``root_hash``; the body is the C2SP
        checkpoint of origin, size and root; the signature verifies with the recorded public key of
        ``key_fingerprint`` (``signature``: that check, started by :meth:`_signed`); the stored consistency proof
        from the previous checkpoint verifies (RFC 9162 §2.1.4).
        """
        size = checkpoint.tree_size
        if self.previous is not None and size <= self.previous[0]:
            raise _Failure(
                f"checkpoint at {size}: tree size does not increase (previous checkpoint at {self.previous[0]})",
                checkpoint=size,
            )
        if size != self.size:  # checked as soon as the entries reach its size: only a negative size gets here
            raise _Failure(f"checkpoint at {size}: not a tree size of the trail", checkpoint=size)
        root = self.tree.root()
        if checkpoint.root_hash != root.hex():
            raise _Failure(f"checkpoint at {size}: root differs from the entries", checkpoint=size)
        if checkpoint.body != checkpoint_body(checkpoint.origin, size, root):
            raise _Failure(
                f"checkpoint at {size}: body is not the checkpoint of its origin, size and root", checkpoint=size
            )
        public = self._public_key(checkpoint.key_fingerprint)
        if public is None:
            raise _Failure(
                f"checkpoint at {size}: signing key {checkpoint.key_fingerprint} is not recorded", checkpoint=size
            )
        signer = signature.result() if signature is not None else None
        if signer is None or signer != checkpoint.key_fingerprint:
            raise _Failure(f"checkpoint at {size}: signature does not verify", checkpoint=size)
        proof = _hashes(checkpoint.consistency_proof)
        if proof is None:
            raise _Failure(f"checkpoint at {size}: the consistency proof is malformed", checkpoint=size)
        if self.previous is None:
            if proof:
                raise _Failure(
                    f"checkpoint at {size}: the first checkpoint carries a consistency proof", checkpoint=size
                )
        else:
            first, first_root = self.previous
            if not merkle.verify_consistency(first, size, first_root, root, proof):
                raise _Failure(
                    f"checkpoint at {size}: the consistency proof from {first} does not verify", checkpoint=size
                )
        self.previous = (size, root)
        self.checkpoints_checked += 1


def _hashes(value: object) -> list[bytes] | None:
    """A stored proof (a JSON list of lowercase hex hashes) as bytes, or None when it is not one."""
    if not isinstance(value, list):
        return None
    result: list[bytes] = []
    for item in value:
        if not isinstance(item, str) or len(item) != 2 * merkle.HASH_SIZE or item != item.lower():
            return None
        try:
            result.append(bytes.fromhex(item))
        except ValueError:
            return None
    return result


def verify_trail(progress: Callable[[int, int], None] | None = None) -> VerificationResult:
    """Check the whole audit trail as audit.md "Verification" requires and name the first failure.

    Order: entries in index order (gapless from 0 and within the head row; leaf hash; the leaf's "index"; the
    columns against the leaf bytes; the subtree hashes each leaf completes), and each checkpoint as soon as
    the entries reach its tree size (increasing size; root; body; signature; consistency with the previous
    one). Then the head row's size against the number of entries, checkpoints beyond the last entry,
    stored tree nodes beyond the trail, and the head's Merkle frontier against the tree. Reads one snapshot
    (:func:`trail_snapshot`) with bounded memory.

    ``progress``, when given, is called after every chunk of entries with (entries checked, the head's size), so a
    caller (the console's run, :func:`audit.tasks.verification_run`) can show how far it got.
    """
    with trail_snapshot():
        return _Verifier(progress).run()
