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
from typing import TypeVar

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


def nodes_fetch(keys: Iterable[tuple[int, int]]) -> merkle.InMemoryStore:
    """The stored subtree hashes at ``keys``, in one query (none when there are no keys); a key with no row is
    absent, and reading it raises KeyError naming the subtree."""
    wanted = list(dict.fromkeys(keys))
    store = merkle.InMemoryStore()
    if not wanted:
        return store
    # Plain SQL: the ORM would spend longer compiling forty OR-ed conditions than the database answering them
    # (each one an index probe on uniq_tree_node, combined with a BitmapOr on PostgreSQL).
    quote = connection.ops.quote_name
    level_, position_ = quote("level"), quote("position")
    condition = " OR ".join([f"({level_} = %s AND {position_} = %s)"] * len(wanted))
    query = f"SELECT {level_}, {position_}, {quote('hash')} FROM {quote(TreeNode._meta.db_table)} WHERE {condition}"  # noqa: S608 - names and placeholders only
    with connection.cursor() as cursor:
        cursor.execute(query, [number for key in wanted for number in key])
        for level, position, value in cursor.fetchall():
            store.put(level, position, bytes.fromhex(value))
    return store


def _read(compute: Callable[[merkle.SubtreeStore], T], *extra: tuple[int, int]) -> tuple[T, merkle.InMemoryStore]:
    """Run ``compute`` over the stored tree with one query: record its keys (and ``extra``), fetch, compute."""
    recorder = _KeyRecorder()
    compute(recorder)
    store = nodes_fetch([*recorder.keys, *extra])
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


def inclusion_proof_at(index: int, size: int) -> InclusionProof:
    """The leaf hash, the root and the audit path of entry ``index`` in the tree of ``size``, in one query."""

    def compute(store: merkle.SubtreeStore) -> tuple[bytes, list[bytes]]:
        return merkle.root(store, size), merkle.inclusion_proof(store, index, size)

    (root, proof), store = _read(compute, (0, index))
    return InclusionProof(index=index, tree_size=size, leaf_hash=store.get(0, index), root=root, proof=proof)


def consistency_proof_at(first: int, second: int) -> ConsistencyProof:
    """Both roots and the consistency proof between the trees of ``first`` and ``second``, in one query."""

    def compute(store: merkle.SubtreeStore) -> tuple[bytes, bytes, list[bytes]]:
        return (
            merkle.root(store, first),
            merkle.root(store, second),
            merkle.consistency_proof(store, first, second),
        )

    (first_root, second_root, proof), _ = _read(compute)
    return ConsistencyProof(first=first, second=second, first_root=first_root, second_root=second_root, proof=proof)


def nodes_for_append(index: int, leaf_hash_hex: str) -> list[TreeNode]:
    """The subtree hashes completed by appending leaf ``index`` (its own and every parent ending at it). Reads
    the left siblings in one query; none when ``index`` is even (a left child completes no parent)."""
    leaf = bytes.fromhex(leaf_hash_hex)
    completed, _ = _read(lambda store: merkle.completed_subtrees(index, leaf, store))
    return [TreeNode(level=level, position=position, hash=value.hex()) for level, position, value in completed]
