"""Roots and proofs from the stored tree (audit/tree.py): the same as audit.merkle computes over all the nodes in
memory, for every kind of size and index, and each in at most one query whatever the tree's size."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import merkle, tree
from audit.models import AuditHead, TreeNode

ADDED = 300  # leaves appended after the demo world's, so sizes cross several powers of two


@pytest.fixture
def stored(db: Any, django_assert_max_num_queries: Any) -> tuple[int, merkle.InMemoryStore]:
    """The test database's tree grown by ``ADDED`` leaves through :func:`audit.tree.nodes_for_append`, and the same
    tree built in memory with :func:`audit.merkle.completed_subtrees`. Returns (size, in-memory store)."""
    leaves = [
        bytes.fromhex(h) for h in TreeNode.objects.filter(level=0).order_by("position").values_list("hash", flat=True)
    ]
    start = len(leaves)
    leaves += [hashlib.sha256(f"leaf {i}".encode()).digest() for i in range(start, start + ADDED)]
    memory = merkle.InMemoryStore()
    for index, leaf in enumerate(leaves):
        for level, position, value in merkle.completed_subtrees(index, leaf, memory):
            memory.put(level, position, value)
    for index in range(start, len(leaves)):
        with django_assert_max_num_queries(0 if index % 2 == 0 else 1):
            nodes = tree.nodes_for_append(index, leaves[index].hex())
        assert [(n.level, n.position, n.hash) for n in nodes] == [
            (level, position, value.hex())
            for level, position, value in merkle.completed_subtrees(index, leaves[index], memory)
        ]
        TreeNode.objects.bulk_create(nodes)
    return len(leaves), memory


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_roots_and_proofs_equal_the_in_memory_ones_in_one_query(
    data: st.DataObject, stored: tuple[int, merkle.InMemoryStore], django_assert_max_num_queries: Any
) -> None:
    total, memory = stored
    size = data.draw(st.integers(1, total), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")
    with django_assert_max_num_queries(1):
        assert tree.tree_root(size) == merkle.root(memory, size)
    with django_assert_max_num_queries(1):
        assert tree.inclusion(index, size) == merkle.inclusion_proof(memory, index, size)
    with django_assert_max_num_queries(1):
        assert tree.consistency(first, size) == merkle.consistency_proof(memory, first, size)
    with django_assert_max_num_queries(1):
        proof = tree.inclusion_proof_at(index, size)
    assert (proof.leaf_hash, proof.root, proof.proof) == (
        memory.get(0, index),
        merkle.root(memory, size),
        merkle.inclusion_proof(memory, index, size),
    )
    assert merkle.verify_inclusion(proof.leaf_hash, index, size, proof.proof, proof.root)
    with django_assert_max_num_queries(1):
        both = tree.consistency_proof_at(first, size)
    assert (both.first_root, both.second_root, both.proof) == (
        merkle.root(memory, first),
        merkle.root(memory, size),
        merkle.consistency_proof(memory, first, size),
    )
    assert merkle.verify_consistency(first, size, both.first_root, both.second_root, both.proof)


def test_every_size_and_edge_index(stored: tuple[int, merkle.InMemoryStore]) -> None:
    total, memory = stored
    for size in range(1, total + 1):
        assert tree.tree_root(size) == merkle.root(memory, size)
        for index in {0, size // 2, size - 1}:
            assert tree.inclusion(index, size) == merkle.inclusion_proof(memory, index, size)
        assert tree.consistency(1, size) == merkle.consistency_proof(memory, 1, size)


def test_the_empty_tree_and_equal_sizes_read_nothing(stored: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert tree.tree_root(0) == merkle.EMPTY_ROOT
        assert tree.consistency(7, 7) == []


def test_a_missing_node_is_named(stored: tuple[int, merkle.InMemoryStore]) -> None:
    total, _ = stored
    with pytest.raises(KeyError, match="level 0, index"):
        tree.inclusion_proof_at(total, total + 1)
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion(total, total)


def test_within_the_trail_the_same_proofs_with_the_size_in_the_same_query(
    stored: tuple[int, merkle.InMemoryStore], django_assert_num_queries: Any
) -> None:
    total, _ = stored
    head = AuditHead.objects.get().size  # the trail's entries; the fixture's extra nodes lie beyond them
    assert 2 < head < total
    for size in sorted({1, 2, head // 2, head - 1, head}):
        for index in sorted({0, size // 2, size - 1}):
            with django_assert_num_queries(1):
                proof = tree.inclusion_proof_at(index, size, within_trail=True)
            assert proof == tree.inclusion_proof_at(index, size)
        for first in sorted({1, max(size // 2, 1), size}):
            with django_assert_num_queries(1):
                both = tree.consistency_proof_at(first, size, within_trail=True)
            assert both == tree.consistency_proof_at(first, size)


def test_beyond_the_trail_is_refused_even_where_its_nodes_are_stored(
    stored: tuple[int, merkle.InMemoryStore], django_assert_num_queries: Any
) -> None:
    total, _ = stored
    head = AuditHead.objects.get().size
    for size in (head + 1, total, total + 1):
        with django_assert_num_queries(1), pytest.raises(tree.BeyondTrail):
            tree.inclusion_proof_at(0, size, within_trail=True)
        with django_assert_num_queries(1), pytest.raises(tree.BeyondTrail):
            tree.consistency_proof_at(1, size, within_trail=True)
    # No trail holds more entries than a bigint counts: refused before any query (no position overflows one).
    with django_assert_num_queries(0), pytest.raises(tree.BeyondTrail):
        tree.inclusion_proof_at(2**63 - 1, 2**63, within_trail=True)
    with django_assert_num_queries(1), pytest.raises(tree.BeyondTrail):
        tree.consistency_proof_at(1, 2**63 - 1, within_trail=True)


def test_the_trail_size_comes_back_when_no_key_is_stored(stored: tuple[int, merkle.InMemoryStore]) -> None:
    store, size = tree.nodes_fetch_with_size([(0, 10**12), (3, 10**10)])
    assert size == AuditHead.objects.get().size
    with pytest.raises(KeyError):
        store.get(0, 10**12)
    store, size = tree.nodes_fetch_with_size([])
    assert size == AuditHead.objects.get().size
