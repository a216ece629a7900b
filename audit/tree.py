"""The Merkle tree over the audit trail, read from stored subtree hashes (``audit.models.TreeNode``).

Every root, proof and append costs at most one query for the tree, whatever its size. The functions of
:mod:`audit.merkle` choose which perfect subtrees ``(level, position)`` they read from the sizes and indices alone,
never from the hash values (RFC 9162 §2.1: the shape of a tree depends only on its size). So each computation runs
twice: first over a store that only records the keys asked for (and answers a placeholder), then, after one query
has fetched exactly those rows by the unique ``(level, position)`` index, over the fetched rows. Reading through
the recording pass, rather than a second list of keys, keeps one definition of which nodes a proof needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection

from audit import merkle
from audit.models import AuditHead, TreeNode

T = TypeVar("T")

_PLACEHOLDER = bytes(merkle.HASH_SIZE)


class _KeyRecorder:
    """A :class:`audit.merkle.SubtreeStore` that notes every key read and answers a placeholder hash."""

    def __init__(self) -> None:
        self.keys: dict[tuple[int, int], None] = {}

    def get(self, level: int, index: int) -> bytes:
        self.keys[(level, index)] = None
        return _PLACEHOLDER


# The trail's size is a bigint: a tree beyond it cannot exist, and no subtree of one can be looked up.
MAX_TREE_SIZE = 2**63 - 1


class BeyondTrail(Exception):
    """A tree size larger than the trail's: no root or proof of that tree exists yet."""

    def __init__(self, size: int) -> None:
        super().__init__(f"tree size {size} is beyond the trail")
        self.size = size


def _nodes_sql(count: int, *, with_size: bool) -> str:
    """The statement that reads the stored subtree hashes at ``count`` keys and, ``with_size``, the trail's size
    from the head row in the same statement (one snapshot; the row is there when no key is), as the first column.

    On PostgreSQL the keys go as two arrays, so the text is the same whatever the count: psycopg keeps it parsed
    and the connection keeps it prepared. (A list of OR-ed conditions is another statement for every count, and
    with more than 50 parameters psycopg parses it again on every execution.) Each key is one probe of the unique
    ``(level, position)`` index either way. Elsewhere (SQLite) the OR-ed list."""
    quote = connection.ops.quote_name
    nodes, head = quote(TreeNode._meta.db_table), quote(AuditHead._meta.db_table)
    level_, position_, hash_ = quote("level"), quote("position"), quote("hash")
    columns = f"n.{level_}, n.{position_}, n.{hash_}"
    if connection.vendor == "postgresql":
        keyed = (
            f"unnest(%s::integer[], %s::bigint[]) AS k({level_}, {position_}) "
            f"JOIN {nodes} n ON n.{level_} = k.{level_} AND n.{position_} = k.{position_}"
        )
        if not with_size:
            return f"SELECT {columns} FROM {keyed}"  # noqa: S608 - names and placeholders only
        return f"SELECT h.size, {columns} FROM {head} h LEFT JOIN ({keyed}) ON TRUE WHERE h.id = 1"  # noqa: S608
    condition = " OR ".join([f"(n.{level_} = %s AND n.{position_} = %s)"] * count) or "1 = 0"
    if not with_size:
        return f"SELECT {columns} FROM {nodes} n WHERE {condition}"  # noqa: S608 - names and placeholders only
    return f"SELECT h.size, {columns} FROM {head} h LEFT JOIN {nodes} n ON {condition} WHERE h.id = 1"  # noqa: S608


def _nodes_params(keys: list[tuple[int, int]]) -> list[Any]:
    if connection.vendor == "postgresql":
        return [[level for level, _ in keys], [position for _, position in keys]]
    return [number for key in keys for number in key]


def nodes_fetch(keys: Iterable[tuple[int, int]]) -> merkle.InMemoryStore:
    """The stored subtree hashes at ``keys``, in one query (none when there are no keys); a key with no row is
    absent, and reading it raises KeyError naming the subtree."""
    wanted = list(dict.fromkeys(keys))
    store = merkle.InMemoryStore()
    if not wanted:
        return store
    # Plain SQL: the ORM would spend longer compiling forty conditions than the database answering them.
    with connection.cursor() as cursor:
        cursor.execute(_nodes_sql(len(wanted), with_size=False), _nodes_params(wanted))
        for level, position, value in cursor.fetchall():
            store.put(level, position, bytes.fromhex(value))
    return store


def nodes_fetch_with_size(keys: Iterable[tuple[int, int]]) -> tuple[merkle.InMemoryStore, int]:
    """:func:`nodes_fetch` and the trail's size (the head row's), read together in one query."""
    wanted = list(dict.fromkeys(keys))
    store = merkle.InMemoryStore()
    with connection.cursor() as cursor:
        cursor.execute(_nodes_sql(len(wanted), with_size=True), _nodes_params(wanted))
        rows = cursor.fetchall()
    if not rows:
        raise AuditHead.DoesNotExist("the audit head row is missing")
    for _, level, position, value in rows:
        if level is not None:  # the head's row alone: none of the keys is stored
            store.put(level, position, bytes.fromhex(value))
    return store, rows[0][0]


def _read(compute: Callable[[merkle.SubtreeStore], T], *extra: tuple[int, int]) -> tuple[T, merkle.InMemoryStore]:
    """Run ``compute`` over the stored tree with one query: record its keys (and ``extra``), fetch, compute."""
    recorder = _KeyRecorder()
    compute(recorder)
    store = nodes_fetch([*recorder.keys, *extra])
    return compute(store), store


def _read_within_trail(
    compute: Callable[[merkle.SubtreeStore], T], size: int, *extra: tuple[int, int]
) -> tuple[T, merkle.InMemoryStore]:
    """:func:`_read` for a tree of ``size`` that must be within the trail: the trail's size is read in the same
    query, and :class:`BeyondTrail` raised before anything is computed over the nodes when ``size`` exceeds it."""
    if size > MAX_TREE_SIZE:
        raise BeyondTrail(size)
    recorder = _KeyRecorder()
    compute(recorder)
    store, trail_size = nodes_fetch_with_size([*recorder.keys, *extra])
    if size > trail_size:
        raise BeyondTrail(size)
    return compute(store), store


def tree_size() -> int:
    """The number of entries, from the head row (one query; the frontier it also holds is not read)."""
    return AuditHead.objects.filter(pk=1).values_list("size", flat=True).get()


def tree_root(size: int) -> bytes:
    """MTH(D[size]) (RFC 9162 §2.1.1); one query, none for the empty tree."""
    return _read(lambda store: merkle.root(store, size))[0]


def inclusion(index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]), the audit path of RFC 9162 §2.1.3.1; one query."""
    return _read(lambda store: merkle.inclusion_proof(store, index, size))[0]


def consistency(first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1; one query, none when the sizes are equal."""
    return _read(lambda store: merkle.consistency_proof(store, first, second))[0]


@dataclass(frozen=True)
class InclusionProof:
    """What a partner needs to check that entry ``index`` is in the tree of ``tree_size`` (api.md, "Audit trail")."""

    index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    """What a partner needs to check that the tree of ``second`` extends the tree of ``first``."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


def inclusion_proof_at(index: int, size: int, *, within_trail: bool = False) -> InclusionProof:
    """The leaf hash, the root and the audit path of entry ``index`` in the tree of ``size``, in one query. With
    ``within_trail``, that query also reads the trail's size, and a ``size`` beyond it raises :class:`BeyondTrail`
    (the API's check, without a query of its own)."""

    def compute(store: merkle.SubtreeStore) -> tuple[bytes, list[bytes]]:
        return merkle.root(store, size), merkle.inclusion_proof(store, index, size)

    if within_trail:
        (root, proof), store = _read_within_trail(compute, size, (0, index))
    else:
        (root, proof), store = _read(compute, (0, index))
    return InclusionProof(index=index, tree_size=size, leaf_hash=store.get(0, index), root=root, proof=proof)


def consistency_proof_at(first: int, second: int, *, within_trail: bool = False) -> ConsistencyProof:
    """Both roots and the consistency proof between the trees of ``first`` and ``second``, in one query. With
    ``within_trail``, as for :func:`inclusion_proof_at`: a ``second`` beyond the trail raises :class:`BeyondTrail`."""

    def compute(store: merkle.SubtreeStore) -> tuple[bytes, bytes, list[bytes]]:
        return (
            merkle.root(store, first),
            merkle.root(store, second),
            merkle.consistency_proof(store, first, second),
        )

    if within_trail:
        (first_root, second_root, proof), _ = _read_within_trail(compute, second)
    else:
        (first_root, second_root, proof), _ = _read(compute)
    return ConsistencyProof(first=first, second=second, first_root=first_root, second_root=second_root, proof=proof)


def nodes_for_append(index: int, leaf_hash_hex: str) -> list[TreeNode]:
    """The subtree hashes completed by appending leaf ``index`` (its own and every parent ending at it). Reads
    the left siblings in one query; none when ``index`` is even (a left child completes no parent)."""
    leaf = bytes.fromhex(leaf_hash_hex)
    completed, _ = _read(lambda store: merkle.completed_subtrees(index, leaf, store))
    return [TreeNode(level=level, position=position, hash=value.hex()) for level, position, value in completed]
