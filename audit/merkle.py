"""Certificate Transparency Merkle tree (RFC 9162 section 2.1, same hashing as RFC 6962).

Standard library only and free of Django, so that the file can also be copied into an
offline verifier and imported on its own.

Notation follows RFC 9162: D[n] is the list of n leaves, MTH(D[n]) is the Merkle Tree
Hash, leaves are counted from zero and D[a:b] is the half-open range of leaves a..b-1.

Storage model
-------------
Proofs and roots are computed from stored *perfect subtree* hashes. The store is keyed
by ``(level, index)``: the value is MTH(D[index * 2**level : (index + 1) * 2**level]),
i.e. the hash of a complete subtree of ``2**level`` leaves that starts at a multiple of
its own width. Level 0 holds the leaf hashes themselves. When leaf ``i`` is appended,
:func:`completed_subtrees` lists the entries that become complete; the caller stores
them. A tree of size n then has exactly n + (n - popcount(n)) such entries (each
internal node of its perfect subtrees plus the leaves), and every function below reads
O(log n) of them.

Nothing in this module binds a tree size to a root hash: a proof is only meaningful
together with a signed (tree_size, root_hash) pair. For example, an inclusion proof for
leaf 0 in a tree of size 8 also passes :func:`verify_inclusion` when the claimed size is
7, because both sizes give the leaf the same path shape; the root hash is what fails in
practice, so callers must take sizes and roots from the same signed tree head.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_TREE_SIZE",
    "NODE_PREFIX",
    "InMemoryStore",
    "SubtreeStore",
    "TreeBuilder",
    "completed_subtrees",
    "consistency_proof",
    "inclusion_proof",
    "largest_power_of_two_below",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaf_hashes",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash (SHA-256)."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

MAX_TREE_SIZE = 2**64
"""Exclusive upper bound for sizes and indices accepted by the verifiers (uint64 in RFC 9162)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 section 2.1.1)."""


# ---------------------------------------------------------------------------
# Hashing (RFC 9162 section 2.1.1)
# ---------------------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    """Return MTH({d(0)}) = SHA-256(0x00 || d(0)) (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), an interior node (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return k, the largest power of two strictly smaller than n, for n >= 2.

    This is the split point of RFC 9162 section 2.1.1: MTH(D[n]) = HASH(0x01 ||
    MTH(D[0:k]) || MTH(D[k:n])) with k < n <= 2k.
    """
    _require_int("n", n)
    if n < 2:
        raise ValueError(f"largest_power_of_two_below needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]) given the n leaf hashes (RFC 9162 section 2.1.1).

    Iterative and O(n): each level pairs nodes from the left and carries an unpaired
    last node up unchanged, which gives exactly the RFC's left-balanced shape. An empty
    sequence gives :data:`EMPTY_ROOT`.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# ---------------------------------------------------------------------------
# Storage of perfect subtrees
# ---------------------------------------------------------------------------


class SubtreeStore(Protocol):
    """Read access to perfect subtree hashes keyed by (level, index).

    ``get(level, index)`` must return MTH(D[index * 2**level : (index + 1) * 2**level]).
    The functions in this module only ask for subtrees that lie entirely inside the
    tree size they were given.
    """

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of the perfect subtree at (level, index)."""
        ...


@dataclass
class InMemoryStore:
    """A dict-backed :class:`SubtreeStore`, mainly for tests and the offline verifier."""

    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def get(self, level: int, index: int) -> bytes:
        """Return the stored hash; raise KeyError naming the subtree if it is missing."""
        try:
            return self.nodes[(level, index)]
        except KeyError:
            raise KeyError(f"no subtree stored at level {level}, index {index}") from None

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store the hash of the perfect subtree at (level, index)."""
        self.nodes[(level, index)] = value


class Frontier:
    """A :class:`SubtreeStore` that keeps only the latest completed perfect subtree per level.

    After n leaves, the latest subtree completed at level L is the one at position ``n // 2**L - 1``. Those are
    exactly the left siblings that :func:`completed_subtrees` reads for leaf n and the pieces that :func:`root`
    folds for size n, so O(log n) hashes give the root at any prefix while streaming the leaves (RFC 9162 §2.1.1).
    """

    def __init__(self) -> None:
        self._latest: dict[int, tuple[int, bytes]] = {}

    def get(self, level: int, index: int) -> bytes:
        """Return the subtree hash if it is the latest at its level; anything older is no longer kept."""
        position, value = self._latest.get(level, (-1, b""))
        if position != index:
            raise KeyError(f"the frontier holds no subtree at level {level}, index {index}")
        return value

    def put(self, level: int, index: int, value: bytes) -> None:
        """Record a newly completed subtree; it replaces the previous one at its level."""
        self._latest[level] = (index, value)


class TreeBuilder:
    """The tree of a stream of leaves in O(log n) memory, for verifiers that read every leaf once.

    After n leaves, ``pieces`` holds the hashes of the perfect subtrees that MTH(D[n]) folds, one per set bit of
    n, largest first: exactly the :class:`Frontier` entries that :func:`completed_subtrees` and :func:`root` read
    for size n. :meth:`append` does what :func:`completed_subtrees` followed by storing its result does, without
    argument checks or a store lookup per level, because a verifier calls it a million times.
    """

    __slots__ = ("pieces", "size")

    def __init__(self) -> None:
        self.size = 0
        self.pieces: list[bytes] = []

    def append(self, leaf_hash: bytes) -> list[bytes]:
        """Add leaf number ``size``; return the hashes it completes, level 0 (the leaf hash itself) upwards: the one
        at level L is the subtree at position ``index >> L`` (see :func:`completed_subtrees`)."""
        completed = [leaf_hash]
        current = leaf_hash
        pieces = self.pieces
        index = self.size
        while index & 1:
            current = hashlib.sha256(NODE_PREFIX + pieces.pop() + current).digest()
            completed.append(current)
            index >>= 1
        pieces.append(current)
        self.size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add the leaves in order, as :meth:`append` one by one would, without listing what each completes (the
        offline verifier needs only roots, for a million leaves)."""
        pieces = self.pieces
        size = self.size
        sha256 = hashlib.sha256
        try:
            for current in leaf_hashes:
                index = size
                while index & 1:
                    current = sha256(NODE_PREFIX + pieces.pop() + current).digest()
                    index >>= 1
                pieces.append(current)
                size += 1
        finally:
            self.size = size

    def extend_completed(self, leaf_hashes: Iterable[bytes]) -> list[bytes]:
        """Add the leaves in order; return every hash they complete, in the order that :meth:`append` one by one
        would return them, one list after the other (the leaf's own hash first, then the levels above it)."""
        completed: list[bytes] = []
        add = completed.append
        pieces = self.pieces
        size = self.size
        sha256 = hashlib.sha256
        try:
            for current in leaf_hashes:
                add(current)
                index = size
                while index & 1:
                    current = sha256(NODE_PREFIX + pieces.pop() + current).digest()
                    add(current)
                    index >>= 1
                pieces.append(current)
                size += 1
        finally:
            self.size = size
        return completed

    def copy(self) -> "TreeBuilder":
        """An independent builder in the same state (a verifier's point to go back to)."""
        other = TreeBuilder()
        other.size = self.size
        other.pieces = list(self.pieces)
        return other

    def root(self) -> bytes:
        """MTH(D[size]) (RFC 9162 section 2.1.1): the right-to-left fold of the pieces, as :func:`subtree_root`."""
        if not self.pieces:
            return EMPTY_ROOT
        result = self.pieces[-1]
        for piece in reversed(self.pieces[:-1]):
            result = node_hash(piece, result)
        return result


def completed_subtrees(index: int, leaf_hash: bytes, store: SubtreeStore) -> list[tuple[int, int, bytes]]:
    """Return the perfect subtrees completed by appending leaf number ``index``.

    The result is a list of ``(level, position, hash)`` tuples, lowest level first:
    ``(0, index, leaf_hash)`` and then, for every level L >= 1 whose subtree range
    [position * 2**L, (position + 1) * 2**L) ends at ``index + 1``, its hash. The left
    siblings needed are read from ``store`` (they were completed by earlier appends);
    the caller is expected to store the returned entries. The hashes are the interior
    nodes of RFC 9162 section 2.1.1 trees.
    """
    _require_int("index", index)
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    result = [(0, index, leaf_hash)]
    current = leaf_hash
    level, position = 0, index
    while position & 1:
        current = node_hash(store.get(level, position - 1), current)
        level, position = level + 1, position >> 1
        result.append((level, position, current))
    return result


# ---------------------------------------------------------------------------
# Roots and proofs from the store (RFC 9162 sections 2.1.1, 2.1.3.1, 2.1.4.1)
# ---------------------------------------------------------------------------


def subtree_root(store: SubtreeStore, start: int, end: int) -> bytes:
    """Return MTH(D[start:end]) (RFC 9162 section 2.1.1) using O(log n) store reads.

    The range must be non-empty and ``start`` must be a multiple of the largest power of
    two <= ``end - start``. Every range that the recursive definitions of MTH, PATH and
    SUBPROOF in RFC 9162 produce has this property, and it is exactly what makes the
    range split into stored perfect subtrees: with width w = 2**b1 + 2**b2 + ... (b1 >
    b2 > ...), the pieces [start, start + 2**b1), [start + 2**b1, start + 2**b1 + 2**b2),
    ... are each aligned to their own width. MTH of the range is the right-to-left fold
    node_hash(p1, node_hash(p2, ... pk)), since the RFC split k = 2**b1 peels off p1.
    """
    _require_int("start", start)
    _require_int("end", end)
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if end <= start:
        raise ValueError(f"subtree range [{start}, {end}) is empty; need start < end")
    width = end - start
    top = 1 << (width.bit_length() - 1)
    if start % top:
        raise ValueError(
            f"subtree range [{start}, {end}) is not aligned: start must be a multiple of {top}, "
            "the largest power of two <= its width"
        )
    pieces: list[bytes] = []
    position = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            pieces.append(store.get(level, position >> level))
            position += 1 << level
    result = pieces[-1]
    for piece in reversed(pieces[:-1]):
        result = node_hash(piece, result)
    return result


def root(store: SubtreeStore, tree_size: int) -> bytes:
    """Return MTH(D[tree_size]) (RFC 9162 section 2.1.1); :data:`EMPTY_ROOT` for size 0."""
    _require_int("tree_size", tree_size)
    if tree_size < 0:
        raise ValueError(f"tree_size must be >= 0, got {tree_size}")
    if tree_size == 0:
        return EMPTY_ROOT
    return subtree_root(store, 0, tree_size)


def inclusion_proof(store: SubtreeStore, index: int, tree_size: int) -> list[bytes]:
    """Return PATH(index, D[tree_size]), the audit path of RFC 9162 section 2.1.3.1.

    Hashes are ordered from the leaf's sibling up to the root's child, as in the RFC.
    The recursion is unrolled from the top: at each range [start, end) with split k the
    sibling is the half not containing the leaf. At most one sibling (the first right
    sibling, which ends at tree_size) is not a single stored subtree, so the proof
    costs O(log n) store reads.
    """
    _require_int("index", index)
    _require_int("tree_size", tree_size)
    if tree_size <= 0:
        raise ValueError(f"tree_size must be > 0 for an inclusion proof, got {tree_size}")
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if index >= tree_size:
        raise ValueError(f"index {index} is out of range for tree_size {tree_size} (need index < tree_size)")
    siblings: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            siblings.append(subtree_root(store, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(store, start, start + k))
            start += k
    siblings.reverse()
    return siblings


def consistency_proof(store: SubtreeStore, first: int, second: int) -> list[bytes]:
    """Return PROOF(first, D[second]) = SUBPROOF(first, D[second], true) (RFC 9162 section 2.1.4.1).

    Empty when first == second. Requires 0 < first <= second. The recursion is unrolled
    from the top; the node MTH(D[first']) that SUBPROOF emits when it reaches a subtree
    equal to the old tree with b == false comes first, followed by the siblings from the
    bottom up, as in the RFC. O(log n) store reads.
    """
    _require_int("first", first)
    _require_int("second", second)
    if first < 0 or second < 0:
        raise ValueError(f"tree sizes must be >= 0, got first={first}, second={second}")
    if first == 0:
        raise ValueError("first must be > 0: there is no consistency proof from the empty tree")
    if first > second:
        raise ValueError(f"first ({first}) must be <= second ({second})")
    if first == second:
        return []
    siblings: list[bytes] = []
    start, end = 0, second
    whole_old_tree = True  # the RFC's b: still on the path of the old tree's root
    while end != first:
        k = largest_power_of_two_below(end - start)
        if first - start <= k:
            siblings.append(subtree_root(store, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(store, start, start + k))
            start += k
            whole_old_tree = False
    siblings.reverse()
    if whole_old_tree:
        return siblings
    return [subtree_root(store, start, end), *siblings]


# ---------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2)
# ---------------------------------------------------------------------------


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Check an inclusion proof with the algorithm of RFC 9162 section 2.1.3.2.

    ``leaf_hash`` is the leaf's hash (SHA-256(0x00 || data)), not the raw entry. Returns
    False, never raises, for malformed input: hashes that are not 32-byte ``bytes``, a
    proof that is not a list or tuple of such hashes, sizes or indices that are not
    ``int`` (``bool`` is refused) or outside 0 <= index < tree_size < 2**64.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_size(index) and _is_size(tree_size)):
        return False
    path = _hash_list(proof)
    if path is None:
        return False
    # 1. leaf_index >= tree_size fails.
    if index >= tree_size:
        return False
    # 2.-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # 4.
    for p in path:
        if sn == 0:  # 4a: the proof is longer than the path
            return False
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # 5.
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """Check a consistency proof with the algorithm of RFC 9162 section 2.1.4.2.

    Conventions beyond the RFC's first < second case: first == second is accepted only
    with an empty proof and equal roots; first == 0 (the empty tree is consistent with
    everything, so there is nothing to prove) and first > second are rejected. Returns
    False, never raises, for malformed input (see :func:`verify_inclusion`).
    """
    if not (_is_size(first) and _is_size(second) and _is_hash(first_root) and _is_hash(second_root)):
        return False
    path = _hash_list(proof)
    if path is None:
        return False
    if first == 0 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    # 1.
    if not path:
        return False
    # 2.
    if first & (first - 1) == 0:
        path = [first_root, *path]
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # 6a
            return False
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # 7.
    return sn == 0 and fr == first_root and sr == second_root


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _require_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_TREE_SIZE


def _hash_list(proof: object) -> list[bytes] | None:
    if not isinstance(proof, list | tuple):
        return None
    items: list[bytes] = []
    for item in proof:
        if not _is_hash(item):
            return None
        items.append(item)
    return items
