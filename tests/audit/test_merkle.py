"""Tests for audit.merkle: RFC 9162 section 2.1 Merkle trees (RFC 6962 hashing).

Layers of evidence, from strongest to broadest:

* known-answer vectors: the RFC 6962 test tree used by the Certificate Transparency Go
  and C++ code (8 leaves, roots for sizes 1..8, every node hash, inclusion and
  consistency proofs);
* a naive recursive transliteration of RFC 9162's MTH / PATH / PROOF written in this
  file, compared against the store-backed implementation for every pair up to size 64;
* differential checks against pymerkle (an independent implementation) for roots of
  every size up to 2000 and for inclusion proofs;
* a generated corpus of corrupted proofs that must all be rejected, with the cases where
  a mutation can legitimately still verify derived from the RFC's proof shapes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pymerkle
import pytest

from audit import merkle

# ---------------------------------------------------------------------------
# RFC 6962 test vectors (CT Go/C++ test code), inline as hex
# ---------------------------------------------------------------------------

VECTOR_LEAVES_HEX = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
VECTOR_LEAVES = [bytes.fromhex(h) for h in VECTOR_LEAVES_HEX]

# MTH of the first n leaves, n = 1..8.
VECTOR_ROOTS_HEX = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

EMPTY_ROOT_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# Every perfect subtree of the 8-leaf tree, keyed like the store: (level, index).
VECTOR_NODES_HEX = {
    (0, 0): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    (0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    (0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    (0, 4): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (0, 5): "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    (0, 6): "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    (0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# (leaf index counted from 0, tree size, audit path). The Go vectors count leaves from 1.
VECTOR_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (first, second, proof)
VECTOR_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def _hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# ---------------------------------------------------------------------------
# Independent RFC 9162 reference, written straight from the recursive definitions
# ---------------------------------------------------------------------------


def _ref_k(n: int) -> int:
    """Largest power of two < n, by counting (independent of the module)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _ref_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, recursive as in RFC 9162 section 2.1.1."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = _ref_k(n)
    return _ref_node(_ref_mth(hashes[:k]), _ref_mth(hashes[k:]))


def _ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1."""
    n = len(hashes)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*_ref_path(m, hashes[:k]), _ref_mth(hashes[k:])]
    return [*_ref_path(m - k, hashes[k:]), _ref_mth(hashes[:k])]


def _ref_subproof(m: int, hashes: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1."""
    n = len(hashes)
    if m == n:
        return [] if b else [_ref_mth(hashes)]
    k = _ref_k(n)
    if m <= k:
        return [*_ref_subproof(m, hashes[:k], b), _ref_mth(hashes[k:])]
    return [*_ref_subproof(m - k, hashes[k:], False), _ref_mth(hashes[:k])]


def _ref_path_shape(m: int, n: int) -> tuple[str, ...] | None:
    """Which side each PATH sibling is on ('R' or 'L'), bottom up; None if no proof exists.

    The RFC 9162 verifier combines proof element j to the left or the right according
    to exactly this sequence, which it derives from (index, tree_size) alone. So a
    proof made for one (index, size) also passes for another (index', size') with the
    same shape, and for no other (barring SHA-256 collisions and given distinct leaves).
    """
    if not 0 <= m < n:
        return None
    if n == 1:
        return ()
    k = _ref_k(n)
    if m < k:
        inner = _ref_path_shape(m, k)
        assert inner is not None
        return (*inner, "R")
    inner = _ref_path_shape(m - k, n - k)
    assert inner is not None
    return (*inner, "L")


def _ref_proof_shape(m: int, n: int) -> tuple[str, ...] | None:
    """Layout of PROOF(m, D[n]): 'old' for the emitted MTH(D[m']) plus sibling sides.

    'L' siblings are inside the old tree (the verifier folds them into both fr and sr),
    'R' siblings only into sr; 'old' present means the first element is the seed (it is
    absent exactly when m is a power of two, and the verifier then seeds with
    first_root). None when no proof exists; ('equal',) when m == n.
    """
    if not 0 < m <= n:
        return None
    if m == n:
        return ("equal",)

    def sub(m: int, n: int, b: bool) -> tuple[str, ...]:
        if m == n:
            return () if b else ("old",)
        k = _ref_k(n)
        if m <= k:
            return (*sub(m, k, b), "R")
        return (*sub(m - k, n - k, False), "L")

    return sub(m, n, True)


# ---------------------------------------------------------------------------
# Fixture data (module-level caches; no conftest)
# ---------------------------------------------------------------------------

BIG_N = 2000


def _build_store(leaf_hashes: Sequence[bytes]) -> merkle.InMemoryStore:
    store = merkle.InMemoryStore()
    for i, h in enumerate(leaf_hashes):
        for level, position, value in merkle.completed_subtrees(i, h, store):
            store.put(level, position, value)
    return store


@functools.cache
def _random_leaves() -> tuple[bytes, ...]:
    rng = random.Random(20240917)
    # The index prefix keeps every leaf distinct; the corruption tests rely on that.
    leaves = tuple(i.to_bytes(4, "big") + rng.randbytes(rng.randrange(0, 48)) for i in range(BIG_N))
    assert len(set(leaves)) == BIG_N
    return leaves


@functools.cache
def _random_leaf_hashes() -> tuple[bytes, ...]:
    return tuple(merkle.leaf_hash(d) for d in _random_leaves())


@functools.cache
def _random_store() -> merkle.InMemoryStore:
    return _build_store(_random_leaf_hashes())


@functools.cache
def _random_roots() -> tuple[bytes, ...]:
    """Store-backed roots, index n = size n (index 0 is the empty tree)."""
    store = _random_store()
    return tuple(merkle.root(store, n) for n in range(BIG_N + 1))


@functools.cache
def _pymerkle_tree() -> Any:
    # Default security mode: 0x00 leaf and 0x01 node prefixes (the RFC 6962 hashing).
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for data in _random_leaves():
        tree.append_entry(data)
    return tree


@functools.cache
def _vector_store() -> merkle.InMemoryStore:
    return _build_store([merkle.leaf_hash(d) for d in VECTOR_LEAVES])


class RecordingStore:
    """Wraps a store, counts reads and fails on any read of a subtree past ``limit``."""

    def __init__(self, inner: merkle.SubtreeStore, limit: int | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.reads: list[tuple[int, int]] = []

    def get(self, level: int, index: int) -> bytes:
        end = (index + 1) << level
        if self.limit is not None:
            assert end <= self.limit, f"read ({level}, {index}) covers leaves up to {end} > {self.limit}"
        self.reads.append((level, index))
        return self.inner.get(level, index)


# ---------------------------------------------------------------------------
# Hash primitives and helpers
# ---------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert merkle.EMPTY_ROOT.hex() == EMPTY_ROOT_HEX
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert merkle.root(merkle.InMemoryStore(), 0) == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"").hex() == VECTOR_NODES_HEX[(0, 0)]
    assert merkle.leaf_hash(b"\x00").hex() == VECTOR_NODES_HEX[(0, 1)]
    # Domain separation: a leaf is not the plain hash, and the prefixes differ.
    assert merkle.leaf_hash(b"") != hashlib.sha256(b"").digest()
    left, right = bytes.fromhex(VECTOR_NODES_HEX[(0, 0)]), bytes.fromhex(VECTOR_NODES_HEX[(0, 1)])
    assert merkle.node_hash(left, right).hex() == VECTOR_NODES_HEX[(1, 0)]
    assert merkle.node_hash(right, left) != merkle.node_hash(left, right)
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


def test_largest_power_of_two_below() -> None:
    table = {2: 1, 3: 2, 4: 2, 5: 4, 7: 4, 8: 4, 9: 8, 16: 8, 17: 16, 2**40: 2**39, 2**40 + 1: 2**40}
    for n, k in table.items():
        assert merkle.largest_power_of_two_below(n) == k, n
    for n in range(2, 1100):
        assert merkle.largest_power_of_two_below(n) == _ref_k(n)


# ---------------------------------------------------------------------------
# Known-answer vectors
# ---------------------------------------------------------------------------


def test_vector_store_holds_exactly_the_rfc_node_hashes() -> None:
    store = _vector_store()
    assert {key: value.hex() for key, value in store.nodes.items()} == VECTOR_NODES_HEX


@pytest.mark.parametrize("size", range(1, 9))
def test_vector_roots(size: int) -> None:
    expected = VECTOR_ROOTS_HEX[size - 1]
    hashes = [merkle.leaf_hash(d) for d in VECTOR_LEAVES[:size]]
    assert merkle.root(_vector_store(), size).hex() == expected
    assert merkle.root_from_leaf_hashes(hashes).hex() == expected
    assert _ref_mth(hashes).hex() == expected


@pytest.mark.parametrize(("index", "size", "path"), VECTOR_INCLUSION)
def test_vector_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    store = _vector_store()
    proof = merkle.inclusion_proof(store, index, size)
    assert _hexes(proof) == path
    leaf = merkle.leaf_hash(VECTOR_LEAVES[index])
    root = bytes.fromhex(VECTOR_ROOTS_HEX[size - 1])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    assert merkle.verify_inclusion(leaf, index, size, [bytes.fromhex(h) for h in path], root)


@pytest.mark.parametrize(("first", "second", "path"), VECTOR_CONSISTENCY)
def test_vector_consistency_proofs(first: int, second: int, path: list[str]) -> None:
    store = _vector_store()
    proof = merkle.consistency_proof(store, first, second)
    assert _hexes(proof) == path
    first_root = bytes.fromhex(VECTOR_ROOTS_HEX[first - 1])
    second_root = bytes.fromhex(VECTOR_ROOTS_HEX[second - 1])
    assert merkle.verify_consistency(first, second, first_root, second_root, proof)


def test_pymerkle_is_configured_for_rfc_hashing() -> None:
    """The differential tests are only meaningful if pymerkle reproduces the RFC vectors."""
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    assert tree.security is True
    assert (tree.leaf_prefix, tree.node_prefix) == (b"\x00", b"\x01")
    for data in VECTOR_LEAVES:
        tree.append_entry(data)
    assert [tree.get_root(n).hex() for n in range(1, 9)] == VECTOR_ROOTS_HEX
    assert tree.get_root(0).hex() == EMPTY_ROOT_HEX
    for index, size, path in VECTOR_INCLUSION:
        # pymerkle counts leaves from 1 and puts the leaf hash itself first in its path.
        theirs = tree.prove_inclusion(index + 1, size).path
        assert theirs[0] == merkle.leaf_hash(VECTOR_LEAVES[index])
        assert _hexes(theirs[1:]) == path


# ---------------------------------------------------------------------------
# Differential and reference comparisons
# ---------------------------------------------------------------------------


def test_roots_match_pymerkle_and_linear_root_for_every_size_up_to_2000() -> None:
    tree = _pymerkle_tree()
    hashes = _random_leaf_hashes()
    roots = _random_roots()
    assert roots[0] == merkle.EMPTY_ROOT
    mismatches = []
    for n in range(1, BIG_N + 1):
        theirs = tree.get_root(n)
        linear = merkle.root_from_leaf_hashes(hashes[:n])
        if not roots[n] == theirs == linear:
            mismatches.append(n)
    assert mismatches == []
    assert len(set(roots)) == BIG_N + 1  # every size has a different root


def test_roots_match_recursive_reference_up_to_300() -> None:
    hashes = _random_leaf_hashes()
    roots = _random_roots()
    for n in range(0, 301):
        assert roots[n] == _ref_mth(hashes[:n]), n


def test_inclusion_proofs_match_reference_for_all_pairs_up_to_64() -> None:
    store = _random_store()
    hashes = _random_leaf_hashes()
    tree = _pymerkle_tree()
    for n in range(1, 65):
        for i in range(n):
            proof = merkle.inclusion_proof(store, i, n)
            assert proof == _ref_path(i, hashes[:n]), (i, n)
            assert proof == tree.prove_inclusion(i + 1, n).path[1:], (i, n)
            assert merkle.verify_inclusion(hashes[i], i, n, proof, _random_roots()[n]), (i, n)


def test_inclusion_proofs_match_pymerkle_for_a_sample_up_to_2000() -> None:
    store = _random_store()
    hashes = _random_leaf_hashes()
    roots = _random_roots()
    tree = _pymerkle_tree()
    rng = random.Random(7)
    pairs = [(rng.randrange(n), n) for n in (rng.randrange(1, BIG_N + 1) for _ in range(600))]
    pairs += [(0, BIG_N), (BIG_N - 1, BIG_N), (1023, 1024), (1024, 1025), (0, 1025), (1024, 2000)]
    for i, n in pairs:
        proof = merkle.inclusion_proof(store, i, n)
        theirs = tree.prove_inclusion(i + 1, n).path
        assert theirs[0] == hashes[i]
        assert proof == theirs[1:], (i, n)
        assert merkle.verify_inclusion(hashes[i], i, n, theirs[1:], roots[n]), (i, n)
        assert merkle.verify_inclusion(hashes[i], i, n, proof, roots[n]), (i, n)


def test_consistency_proofs_match_reference_for_all_pairs_up_to_64() -> None:
    store = _random_store()
    hashes = _random_leaf_hashes()
    roots = _random_roots()
    for n in range(1, 65):
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(store, m, n)
            expected = [] if m == n else _ref_subproof(m, hashes[:n], True)
            assert proof == expected, (m, n)
            assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)


def test_consistency_proofs_agree_with_pymerkle_for_a_sample_up_to_2000() -> None:
    """pymerkle's consistency proofs use their own layout (they descend to a single leaf
    where RFC 9162 stops at the old tree's subtree), so the hash lists cannot be compared.
    Compare what both must agree on instead: pymerkle's proof resolves to our roots of
    both sizes, and ours verify with the RFC algorithm.
    """
    store = _random_store()
    roots = _random_roots()
    tree = _pymerkle_tree()
    rng = random.Random(11)
    pairs = [(1, 1), (1, 2), (1024, 2000), (1023, 1024), (1024, 1025), (1999, 2000), (1, 2000)]
    for _ in range(400):
        n = rng.randrange(1, BIG_N + 1)
        pairs.append((rng.randrange(1, n + 1), n))
    for m, n in pairs:
        theirs = tree.prove_consistency(m, n)
        assert theirs.retrieve_prior_state() == roots[m], (m, n)
        assert theirs.compute_root() == roots[n], (m, n)
        pymerkle.verify_consistency(roots[m], roots[n], theirs)  # raises if invalid
        proof = merkle.consistency_proof(store, m, n)
        assert merkle.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)


def test_subtree_root_for_every_aligned_range_up_to_64() -> None:
    store = _random_store()
    hashes = _random_leaf_hashes()
    checked = 0
    for start in range(64):
        for end in range(start + 1, 65):
            width = end - start
            top = 1 << (width.bit_length() - 1)
            if start % top:
                with pytest.raises(ValueError, match="not aligned"):
                    merkle.subtree_root(store, start, end)
                continue
            assert merkle.subtree_root(store, start, end) == _ref_mth(hashes[start:end]), (start, end)
            checked += 1
    assert checked > 300


def test_reads_stay_inside_the_requested_tree() -> None:
    """The store holds subtrees of a bigger tree; answers for a smaller size must not use them."""
    big = _random_store()
    roots = _random_roots()
    for n in range(1, 70):
        store = RecordingStore(big, limit=n)
        assert merkle.root(store, n) == roots[n]
        for i in range(n):
            merkle.inclusion_proof(store, i, n)
        for m in range(1, n + 1):
            merkle.consistency_proof(store, m, n)


def test_store_reads_are_logarithmic() -> None:
    big = _random_store()
    rng = random.Random(3)
    worst = {"root": 0.0, "inclusion": 0.0, "consistency": 0.0}
    sizes = [*range(1, 130), 1023, 1024, 1025, 1365, 1366, 1999, 2000]
    sizes += [rng.randrange(2, BIG_N + 1) for _ in range(100)]
    for n in sizes:
        bits = n.bit_length()
        store = RecordingStore(big)
        merkle.root(store, n)
        assert len(store.reads) == bin(n).count("1")
        worst["root"] = max(worst["root"], len(store.reads) / bits)
        for i in {0, n // 3, n // 2, n - 1, rng.randrange(n)}:
            store = RecordingStore(big)
            merkle.inclusion_proof(store, i, n)
            assert len(store.reads) <= 2 * bits, (i, n)
            worst["inclusion"] = max(worst["inclusion"], len(store.reads) / bits)
        for m in {1, n // 3 or 1, n // 2 or 1, n - 1 or 1, rng.randrange(1, n + 1)}:
            store = RecordingStore(big)
            merkle.consistency_proof(store, m, n)
            assert len(store.reads) <= 2 * bits + 1, (m, n)
            worst["consistency"] = max(worst["consistency"], len(store.reads) / bits)
    assert all(value <= 2.5 for value in worst.values()), worst


# ---------------------------------------------------------------------------
# Incremental builder
# ---------------------------------------------------------------------------


def test_completed_subtrees_builder_gives_the_linear_roots() -> None:
    hashes = _random_leaf_hashes()[:600]
    store = merkle.InMemoryStore()
    for i, h in enumerate(hashes):
        done = merkle.completed_subtrees(i, h, store)
        # Level 0 first, then one entry per trailing one bit of i, each ending at i + 1.
        assert done[0] == (0, i, h)
        trailing_ones = (i ^ (i + 1)).bit_length() - 1
        assert [level for level, _, _ in done] == list(range(trailing_ones + 1))
        for level, position, _ in done:
            assert (position + 1) << level == i + 1
            assert (level, position) not in store.nodes
        for level, position, value in done:
            store.put(level, position, value)
        assert merkle.root(store, i + 1) == merkle.root_from_leaf_hashes(hashes[: i + 1]), i
    n = len(hashes)
    assert len(store.nodes) == 2 * n - bin(n).count("1")
    for (level, position), value in store.nodes.items():
        start = position << level
        assert value == merkle.root_from_leaf_hashes(hashes[start : start + (1 << level)])


def test_completed_subtrees_reads_left_siblings_only() -> None:
    store = RecordingStore(_random_store())
    h = _random_leaf_hashes()[7]
    done = merkle.completed_subtrees(7, h, store)
    assert store.reads == [(0, 6), (1, 2), (2, 0)]
    assert done[-1] == (3, 0, _random_store().get(3, 0))
    assert merkle.completed_subtrees(8, h, RecordingStore(merkle.InMemoryStore())) == [(0, 8, h)]
    with pytest.raises(KeyError, match="level 0, index 4"):
        merkle.completed_subtrees(5, h, merkle.InMemoryStore())


# ---------------------------------------------------------------------------
# Argument errors
# ---------------------------------------------------------------------------

_STORE_FOR_ERRORS = _build_store([merkle.leaf_hash(bytes([i])) for i in range(10)])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: merkle.largest_power_of_two_below(1), r"n >= 2, got 1"),
        (lambda: merkle.largest_power_of_two_below(0), r"n >= 2, got 0"),
        (lambda: merkle.largest_power_of_two_below(-4), r"n >= 2, got -4"),
        (lambda: merkle.root(_STORE_FOR_ERRORS, -1), r"tree_size must be >= 0, got -1"),
        (lambda: merkle.subtree_root(_STORE_FOR_ERRORS, 3, 3), r"\[3, 3\) is empty"),
        (lambda: merkle.subtree_root(_STORE_FOR_ERRORS, 4, 2), r"\[4, 2\) is empty"),
        (lambda: merkle.subtree_root(_STORE_FOR_ERRORS, -1, 2), r"start must be >= 0, got -1"),
        (lambda: merkle.subtree_root(_STORE_FOR_ERRORS, 1, 3), r"\[1, 3\) is not aligned.*multiple of 2"),
        (lambda: merkle.subtree_root(_STORE_FOR_ERRORS, 2, 7), r"\[2, 7\) is not aligned.*multiple of 4"),
        (lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, 0, 0), r"tree_size must be > 0.*got 0"),
        (lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, 0, -3), r"tree_size must be > 0.*got -3"),
        (lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, 5, 5), r"index 5 is out of range for tree_size 5"),
        (lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, 9, 3), r"index 9 is out of range for tree_size 3"),
        (lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, -1, 5), r"index must be >= 0, got -1"),
        (lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, 0, 3), r"first must be > 0"),
        (lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, 0, 0), r"first must be > 0"),
        (lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, 5, 3), r"first \(5\) must be <= second \(3\)"),
        (lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, -1, 3), r"must be >= 0, got first=-1"),
        (lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, 1, -3), r"must be >= 0.*second=-3"),
        (lambda: merkle.completed_subtrees(-1, b"\x00" * 32, _STORE_FOR_ERRORS), r"index must be >= 0"),
    ],
)
def test_value_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: merkle.root(_STORE_FOR_ERRORS, 2.0),
        lambda: merkle.root(_STORE_FOR_ERRORS, True),
        lambda: merkle.inclusion_proof(_STORE_FOR_ERRORS, "0", 3),
        lambda: merkle.consistency_proof(_STORE_FOR_ERRORS, 1, None),
        lambda: merkle.largest_power_of_two_below(4.0),
    ],
)
def test_type_errors(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        call()


def test_in_memory_store_reports_missing_subtree() -> None:
    with pytest.raises(KeyError, match="level 2, index 5"):
        merkle.InMemoryStore().get(2, 5)
    # Asking for a size the store does not have fails loudly, not with a wrong root.
    with pytest.raises(KeyError):
        merkle.root(_STORE_FOR_ERRORS, 11)


# ---------------------------------------------------------------------------
# Corrupted-proof corpus
# ---------------------------------------------------------------------------

CORPUS_MAX = 33


def _flip(value: bytes, byte: int, bit: int) -> bytes:
    out = bytearray(value)
    out[byte] ^= 1 << bit
    return bytes(out)


def _bit_positions() -> list[tuple[int, int]]:
    """Every bit of byte 0, plus one bit of each other byte, cycling through bit numbers."""
    return [(0, bit) for bit in range(8)] + [(byte, byte % 8) for byte in range(1, 32)]


def _proof_content_mutations(proof: list[bytes], extra: bytes) -> list[tuple[str, list[bytes]]]:
    """Changes to the proof list that must always be rejected.

    * bit flips: every element is hashed into the computed root, so any change to one
      changes the result (SHA-256 collision resistance);
    * appending, prepending or removing an element: the verifier consumes exactly as
      many elements as (index, size) or (first, second) dictate, so a longer proof hits
      "sn is 0" before its end and a shorter one ends with sn != 0. This includes
      appending to an empty proof;
    * reordering: only generated when it changes the list; the elements are distinct
      subtree hashes, so a different order combines different values.
    """
    out: list[tuple[str, list[bytes]]] = []
    for j, element in enumerate(proof):
        for byte, bit in _bit_positions():
            mutated = list(proof)
            mutated[j] = _flip(element, byte, bit)
            out.append((f"flip proof[{j}] byte {byte} bit {bit}", mutated))
    out.append(("append random hash", [*proof, extra]))
    if proof:
        out.append(("append copy of last", [*proof, proof[-1]]))
        out.append(("prepend copy of first", [proof[0], *proof]))
    out.append(("prepend random hash", [extra, *proof]))
    for j in range(len(proof)):
        out.append((f"remove proof[{j}]", proof[:j] + proof[j + 1 :]))
    if list(reversed(proof)) != proof:
        out.append(("reversed", list(reversed(proof))))
    for j in range(len(proof) - 1):
        swapped = list(proof)
        swapped[j], swapped[j + 1] = swapped[j + 1], swapped[j]
        if swapped != proof:
            out.append((f"swap {j},{j + 1}", swapped))
    return out


def inclusion_corpus(n: int) -> list[tuple[str, tuple[Any, ...], bool]]:
    """Mutants of every valid inclusion proof in a tree of size n (leaves from _random_leaves).

    Each entry is (label, verify_inclusion arguments, expected result). Only the size and
    index mutations can legitimately still verify: the verifier takes the path shape from
    (index, tree_size), so a mutant passes exactly when its RFC path shape equals the
    original's (e.g. leaf 0 of size 8 and of size 7 both go left three times). Invalid
    (index, size) combinations, such as index >= size or size 0, must fail.
    """
    store = _random_store()
    hashes = _random_leaf_hashes()
    roots = _random_roots()
    data = _random_leaves()
    extra = hashlib.sha256(b"unrelated").digest()
    corpus: list[tuple[str, tuple[Any, ...], bool]] = []
    for i in range(n):
        proof = merkle.inclusion_proof(store, i, n)
        leaf, root = hashes[i], roots[n]
        label = f"i={i} n={n}"
        corpus.append((f"{label} original", (leaf, i, n, proof, root), True))
        shape = _ref_path_shape(i, n)
        for name, (i2, n2) in {
            "index-1": (i - 1, n),
            "index+1": (i + 1, n),
            "index=size": (n, n),
            "size-1": (i, n - 1),
            "size+1": (i, n + 1),
            "size*2": (i, 2 * n),
            "size=0": (i, 0),
            "size=1": (i, 1),
            "size=index": (i, i),
        }.items():
            if (i2, n2) == (i, n) or i2 < 0:
                continue
            expected = _ref_path_shape(i2, n2) == shape
            corpus.append((f"{label} {name} -> ({i2}, {n2})", (leaf, i2, n2, proof, root), expected))
        for name, mutated in _proof_content_mutations(proof, extra):
            corpus.append((f"{label} {name}", (leaf, i, n, mutated, root), False))
        # Wrong leaf: another leaf's hash, the unprefixed hash of the data, a flipped bit.
        wrong_leaves = {
            "raw sha256 of data": hashlib.sha256(data[i]).digest(),
            "leaf flipped byte 0": _flip(leaf, 0, 0),
            "leaf flipped byte 31": _flip(leaf, 31, 7),
        }
        if n > 1:
            wrong_leaves["neighbour's leaf"] = hashes[(i + 1) % n]
        for name, wrong in wrong_leaves.items():
            corpus.append((f"{label} {name}", (wrong, i, n, proof, root), False))
        # Wrong root: another size's root, flipped bits.
        corpus.append((f"{label} root of size n+1", (leaf, i, n, proof, roots[n + 1]), False))
        corpus.append((f"{label} root flipped", (leaf, i, n, proof, _flip(root, 5, 2)), False))
    return corpus


def consistency_corpus(n: int) -> list[tuple[str, tuple[Any, ...], bool]]:
    """Mutants of every valid consistency proof PROOF(m, D[n]), 1 <= m <= n.

    Size mutants pass exactly when their RFC proof layout equals the original's (the
    verifier derives the layout from (first, second)); first == 0 and first > second
    must fail, and first == second needs an empty proof and equal roots. Everything
    else (proof contents, swapped or altered roots) must fail.
    """
    store = _random_store()
    roots = _random_roots()
    extra = hashlib.sha256(b"unrelated").digest()
    corpus: list[tuple[str, tuple[Any, ...], bool]] = []
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(store, m, n)
        r1, r2 = roots[m], roots[n]
        label = f"m={m} n={n}"
        corpus.append((f"{label} original", (m, n, r1, r2, proof), True))
        shape = _ref_proof_shape(m, n)
        for name, (m2, n2) in {
            "first-1": (m - 1, n),
            "first+1": (m + 1, n),
            "second-1": (m, n - 1),
            "second+1": (m, n + 1),
            "second*2": (m, 2 * n),
            "first=0": (0, n),
            "first=1": (1, n),
            "first=second": (n, n),
            "second=first": (m, m),
            "sizes swapped": (n, m),
            "first>second": (n + 1, n),
        }.items():
            if (m2, n2) == (m, n) or m2 < 0 or n2 < 0:
                continue
            # For m2 == n2 only an empty proof with equal roots passes (r1 == r2 iff m == n).
            expected = (not proof and r1 == r2) if m2 == n2 else _ref_proof_shape(m2, n2) == shape
            corpus.append((f"{label} {name} -> ({m2}, {n2})", (m2, n2, r1, r2, proof), expected))
        for name, mutated in _proof_content_mutations(proof, extra):
            corpus.append((f"{label} {name}", (m, n, r1, r2, mutated), False))
        if m & (m - 1) == 0 and m < n:
            # For a power-of-two first size the RFC proof leaves out MTH(D[m]); sending it
            # anyway makes the proof one element too long.
            corpus.append((f"{label} redundant first root", (m, n, r1, r2, [r1, *proof]), False))
        if m < n:
            corpus.append((f"{label} roots swapped", (m, n, r2, r1, proof), False))
            corpus.append((f"{label} first root = second root", (m, n, r2, r2, proof), False))
            corpus.append((f"{label} second root = first root", (m, n, r1, r1, proof), False))
        corpus.append((f"{label} first root of size m-1", (m, n, roots[m - 1], r2, proof), False))
        corpus.append((f"{label} second root of size n+1", (m, n, r1, roots[n + 1], proof), False))
        corpus.append((f"{label} first root flipped", (m, n, _flip(r1, 0, 7), r2, proof), False))
        corpus.append((f"{label} second root flipped", (m, n, r1, _flip(r2, 31, 0), proof), False))
    return corpus


@pytest.mark.parametrize("n", range(1, CORPUS_MAX + 1))
def test_inclusion_corpus(n: int) -> None:
    wrong = [
        (label, expected)
        for label, args, expected in inclusion_corpus(n)
        if merkle.verify_inclusion(*args) is not expected
    ]
    assert wrong == []


@pytest.mark.parametrize("n", range(1, CORPUS_MAX + 1))
def test_consistency_corpus(n: int) -> None:
    wrong = [
        (label, expected)
        for label, args, expected in consistency_corpus(n)
        if merkle.verify_consistency(*args) is not expected
    ]
    assert wrong == []


def test_corpus_is_what_it_claims() -> None:
    """Pin down the corpus so a generator bug cannot make the corruption tests vacuous."""
    inc = inclusion_corpus(8)
    labels = {label for label, _, _ in inc}
    assert "i=3 n=8 flip proof[2] byte 0 bit 7" in labels
    assert "i=3 n=8 remove proof[1]" in labels
    assert "i=0 n=8 size-1 -> (0, 7)" in labels
    # Leaf 0 (and leaf 4) of size 8 share their path shape with size 7, so those size-1
    # mutants legitimately pass; leaf 6 of size 7 has a shorter path, and leaf 7 of
    # size 7 is out of range.
    outcome = {label: expected for label, _, expected in inc}
    assert outcome["i=0 n=8 size-1 -> (0, 7)"] is True
    assert outcome["i=4 n=8 size-1 -> (4, 7)"] is True
    assert outcome["i=6 n=8 size-1 -> (6, 7)"] is False
    assert outcome["i=7 n=8 size-1 -> (7, 7)"] is False
    assert outcome["i=0 n=8 size*2 -> (0, 16)"] is False
    assert outcome["i=0 n=8 size=1 -> (0, 1)"] is False

    totals = {"inclusion": [0, 0], "consistency": [0, 0]}
    for n in range(1, CORPUS_MAX + 1):
        for kind, corpus in (("inclusion", inclusion_corpus(n)), ("consistency", consistency_corpus(n))):
            for _, _, expected in corpus:
                totals[kind][expected] += 1
    # [rejected, accepted]: over 100k mutants each, and as the only accepted entries the
    # originals plus the shape-preserving size mutants (at most 9 and 11 per original,
    # in practice about 1.5).
    n_pairs = CORPUS_MAX * (CORPUS_MAX + 1) // 2
    for kind in totals:
        rejected, accepted = totals[kind]
        assert rejected > 100_000, totals
        assert n_pairs < accepted < 3 * n_pairs, totals

    cons = {label: expected for label, _, expected in consistency_corpus(8)}
    assert "m=3 n=8 redundant first root" not in cons  # only generated for powers of two
    assert cons["m=4 n=8 redundant first root"] is False
    assert cons["m=8 n=8 append random hash"] is False  # appending to an empty proof
    assert cons["m=6 n=8 roots swapped"] is False


def test_tree_size_is_not_bound_by_the_proof_alone() -> None:
    """Documented property of RFC 9162 verification: callers must take the size from the
    same signed tree head as the root."""
    roots = _random_roots()
    hashes = _random_leaf_hashes()
    proof = merkle.inclusion_proof(_random_store(), 0, 8)
    assert merkle.verify_inclusion(hashes[0], 0, 7, proof, roots[8])
    # An interior node presented as a leaf: accepted only under a wrong size ...
    store = _random_store()
    interior = store.get(1, 0)
    assert merkle.verify_inclusion(interior, 0, 2, [store.get(1, 1)], roots[4])
    # ... and rejected for the real size, whatever position is claimed.
    for i in range(4):
        assert not merkle.verify_inclusion(interior, i, 4, [store.get(1, 1)], roots[4])
        assert not merkle.verify_inclusion(interior, i, 4, merkle.inclusion_proof(store, i, 4), roots[4])


# ---------------------------------------------------------------------------
# Malformed input to the verifiers
# ---------------------------------------------------------------------------

_H = hashlib.sha256(b"h").digest()


def _good_inclusion() -> tuple[bytes, int, int, list[bytes], bytes]:
    store = _random_store()
    return _random_leaf_hashes()[5], 5, 13, merkle.inclusion_proof(store, 5, 13), _random_roots()[13]


def _good_consistency() -> tuple[int, int, bytes, bytes, list[bytes]]:
    roots = _random_roots()
    return 6, 13, roots[6], roots[13], merkle.consistency_proof(_random_store(), 6, 13)


@pytest.mark.parametrize(
    ("position", "bad"),
    [
        (0, _H[:31]),
        (0, _H + b"\x00"),
        (0, None),
        (0, _H.hex()),
        (0, bytearray(_H)),
        (1, -1),
        (1, "5"),
        (1, 5.0),
        (1, None),
        (1, 2**64 + 5),
        (2, 0),
        (2, -13),
        (2, True),
        (2, 13.0),
        (2, 2**64),
        (3, b"".join([_H, _H, _H, _H])),
        (3, "proof"),
        (3, None),
        (3, {_H}),
        (3, [_H[:16], _H, _H, _H]),
        (3, [_H, _H, _H, None]),
        (3, [_H.hex()] * 4),
        (4, _H[:31]),
        (4, None),
        (4, 0),
    ],
)
def test_verify_inclusion_rejects_malformed_input(position: int, bad: object) -> None:
    args: list[Any] = list(_good_inclusion())
    assert merkle.verify_inclusion(*args)
    args[position] = bad
    assert merkle.verify_inclusion(*args) is False


@pytest.mark.parametrize(
    ("position", "bad"),
    [
        (0, 0),
        (0, -6),
        (0, 6.0),
        (0, "6"),
        (0, None),
        (1, 5),
        (1, -13),
        (1, 2**64),
        (1, False),
        (2, _H[:31]),
        (2, None),
        (3, _H + _H),
        (3, str(_H)),
        (4, None),
        (4, b"".join([_H, _H, _H])),
        (4, [_H, _H, 3]),
        (4, []),
    ],
)
def test_verify_consistency_rejects_malformed_input(position: int, bad: object) -> None:
    args: list[Any] = list(_good_consistency())
    assert merkle.verify_consistency(*args)
    args[position] = bad
    assert merkle.verify_consistency(*args) is False


def test_verifiers_check_types_even_when_the_arithmetic_would_pass() -> None:
    """Inputs that would verify if the type and length checks were missing."""
    short = _H[:31]
    assert merkle.verify_inclusion(_H, 0, 1, [], _H)
    assert not merkle.verify_inclusion(short, 0, 1, [], short)
    assert not merkle.verify_inclusion(_H, False, 1, [], _H)
    assert not merkle.verify_inclusion(_H, 0, True, [], _H)
    assert merkle.verify_consistency(1, 1, _H, _H, [])
    assert not merkle.verify_consistency(1, 1, short, short, [])
    assert not merkle.verify_consistency(True, True, _H, _H, [])
    assert merkle.verify_consistency(1, 1, _H, _H, ())
    # A 64-byte "hash" that happens to be two valid hashes is still one wrong element.
    roots = _random_roots()
    hashes = _random_leaf_hashes()
    proof = merkle.inclusion_proof(_random_store(), 0, 4)
    assert not merkle.verify_inclusion(hashes[0], 0, 4, [proof[0] + proof[1]], roots[4])


def test_verifier_edge_cases() -> None:
    roots = _random_roots()
    hashes = _random_leaf_hashes()
    # Size 1: the root is the leaf hash and the proof is empty.
    assert merkle.verify_inclusion(hashes[0], 0, 1, [], roots[1])
    assert roots[1] == hashes[0]
    assert not merkle.verify_inclusion(hashes[0], 0, 1, [hashes[1]], roots[1])
    assert not merkle.verify_inclusion(hashes[0], 1, 1, [], roots[1])
    assert not merkle.verify_inclusion(hashes[0], 0, 0, [], merkle.EMPTY_ROOT)
    # A proof given as a tuple is fine.
    as_tuple = tuple(merkle.inclusion_proof(_random_store(), 2, 3))
    assert merkle.verify_inclusion(hashes[2], 2, 3, as_tuple, roots[3])
    # first == second: only the empty proof with equal roots.
    assert merkle.verify_consistency(5, 5, roots[5], roots[5], [])
    assert not merkle.verify_consistency(5, 5, roots[5], roots[6], [])
    assert not merkle.verify_consistency(5, 5, roots[5], roots[5], [roots[5]])
    # first == 0: not verifiable, even against the empty root.
    assert not merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, roots[5], [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, roots[5], [roots[5]])
    # first > second, with the proof for the sizes the other way round.
    proof = merkle.consistency_proof(_random_store(), 3, 7)
    assert merkle.verify_consistency(3, 7, roots[3], roots[7], proof)
    assert not merkle.verify_consistency(7, 3, roots[7], roots[3], proof)
    assert not merkle.verify_consistency(7, 3, roots[3], roots[7], proof)
    # first < second with an empty proof (RFC step 1).
    assert not merkle.verify_consistency(3, 7, roots[3], roots[7], [])
    # Huge but valid-typed sizes do not blow up.
    assert not merkle.verify_inclusion(hashes[0], 2**63, 2**64 - 1, [_H] * 64, roots[1])
    assert not merkle.verify_consistency(2**62 + 1, 2**64 - 1, _H, _H, [_H] * 130)


# ---------------------------------------------------------------------------
# Standalone use
# ---------------------------------------------------------------------------


def test_module_is_standard_library_only_and_loads_standalone() -> None:
    path = Path(merkle.__file__)
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            assert node.module is not None
            imported.add(node.module.split(".")[0])
    assert imported <= {"hashlib", "typing", "dataclasses", "collections"}, imported

    # Loaded from its path under another name, without registering it in sys.modules
    # (as a script copied next to an offline verifier might be).
    spec = importlib.util.spec_from_file_location("standalone_merkle", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    hashes = [module.leaf_hash(d) for d in VECTOR_LEAVES]
    assert module.root_from_leaf_hashes(hashes).hex() == VECTOR_ROOTS_HEX[-1]


def test_extend_completed_returns_what_append_returns_one_by_one() -> None:
    leaves = [merkle.leaf_hash(bytes([n])) for n in range(37)]
    one_by_one = merkle.TreeBuilder()
    expected = [value for leaf in leaves for value in one_by_one.append(leaf)]
    at_once = merkle.TreeBuilder()
    first = at_once.extend_completed(leaves[:5])
    back = at_once.copy()
    assert first + at_once.extend_completed(leaves[5:]) == expected
    assert (at_once.size, at_once.root()) == (37, one_by_one.root())
    assert (back.size, back.root()) == (5, _root_of(leaves[:5]))  # the copy did not move with the builder


def _root_of(leaves: list[bytes]) -> bytes:
    builder = merkle.TreeBuilder()
    builder.extend(leaves)
    return builder.root()
