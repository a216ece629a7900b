"""The Merkle tree over the audit trail, read from stored subtree hashes (``audit.models.TreeNode``)."""

from __future__ import annotations

from audit import merkle
from audit.models import AuditHead, TreeNode


class DatabaseStore:
    """:class:`audit.merkle.SubtreeStore` over the ``TreeNode`` table; each proof reads O(log n) rows."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            value = TreeNode.objects.filter(level=level, position=index).values_list("hash", flat=True).first()
            if value is None:
                raise KeyError(f"no stored subtree at level {level}, position {index}")
            self._cache[key] = bytes.fromhex(value)
        return self._cache[key]

    def put(self, level: int, index: int, value: bytes) -> None:
        self._cache[(level, index)] = value


def tree_size() -> int:
    return AuditHead.objects.get(pk=1).size


def tree_root(size: int) -> bytes:
    return merkle.root(DatabaseStore(), size)


def inclusion(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(DatabaseStore(), index, size)


def consistency(first: int, second: int) -> list[bytes]:
    return merkle.consistency_proof(DatabaseStore(), first, second)


def nodes_for_append(index: int, leaf_hash_hex: str) -> list[TreeNode]:
    """The subtree hashes completed by appending leaf ``index`` (its own and every parent ending at it)."""
    completed = merkle.completed_subtrees(index, bytes.fromhex(leaf_hash_hex), DatabaseStore())
    return [TreeNode(level=level, position=position, hash=value.hex()) for level, position, value in completed]
