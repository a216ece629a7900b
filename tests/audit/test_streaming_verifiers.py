"""The pieces that make the verifiers fast and show their progress: merkle.TreeBuilder against the stored-subtree
functions, the offline verifier's member reader against json.loads, and the progress bar of both verifiers."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle
from audit.offline_verify import Progress, members
from tests.audit.test_canonical import ANY_VALUES


def test_tree_builder_gives_the_completed_subtrees_and_every_root() -> None:
    builder = merkle.TreeBuilder()
    store = merkle.InMemoryStore()
    assert builder.root() == merkle.EMPTY_ROOT
    for index in range(1100):
        leaf = hashlib.sha256(index.to_bytes(4, "big")).digest()
        expected = merkle.completed_subtrees(index, leaf, store)
        assert builder.append(leaf) == [value for _, _, value in expected]
        for level, position, value in expected:
            assert position == index >> level
            store.put(level, position, value)
        assert builder.size == index + 1
        assert builder.root() == merkle.root(store, index + 1)


def test_tree_builder_extend_is_append_one_by_one() -> None:
    leaves = [hashlib.sha256(index.to_bytes(4, "big")).digest() for index in range(1100)]
    one_by_one, extended = merkle.TreeBuilder(), merkle.TreeBuilder()
    for leaf in leaves:
        one_by_one.append(leaf)
    start = 0
    for stop in (0, 1, 2, 7, 64, 65, 513, 1100):  # uneven runs, some empty, as the verifier hands them over
        extended.extend(leaves[start:stop])
        start = stop
        assert extended.size == stop
        assert extended.root() == merkle.root_from_leaf_hashes(leaves[:stop])
    assert (extended.size, extended.pieces) == (one_by_one.size, one_by_one.pieces)


def _members_or_error(text: str) -> Any:
    try:
        return members(text)
    except ValueError:
        return "not JSON"


def _nested_objects_as_none(value: Any) -> Any:
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        return [_nested_objects_as_none(item) for item in value]
    return value


def _loads_or_error(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(value, dict):
        return None
    return {key: _nested_objects_as_none(item) for key, item in value.items()}


@settings(max_examples=600, deadline=None)
@given(ANY_VALUES, st.sampled_from(["", " ", "\n", "x", "}", " \t"]), st.sampled_from(["", " ", "\t"]))
def test_members_reads_what_json_loads_reads(value: Any, tail: str, head: str) -> None:
    """Same verdict (JSON or not, object or not) and the same non-object members (nested objects stand as None)."""
    try:
        text = head + json.dumps(value, allow_nan=False) + tail
    except ValueError:
        return
    assert _members_or_error(text) == _loads_or_error(text)


@pytest.mark.parametrize("text", ["", "nul", '{"a":1', '{"a":1}}', "[1,]", '{"index":3} {"index":4}'])
def test_members_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(ValueError):
        members(text)


def test_members_of_nested_and_top_level_objects() -> None:
    assert members('{"a":{"index":1},"index":2,"b":[{"c":3}]}') == {"a": None, "index": 2, "b": [None]}
    assert members('[{"index":2}]') is None
    assert members("null") is None
    assert members("{}") == {}


def test_progress_draws_count_share_rate_and_time_left() -> None:
    out = io.StringIO()
    progress = Progress(out, interval=0)
    progress.update(250, 1000)
    progress.update(500, None, fraction=0.5)
    progress.close()
    frames = out.getvalue().split("\r")[1:]
    assert "25.0%" in frames[0] and "250/1,000 entries" in frames[0] and "/s" in frames[0] and "left" in frames[0]
    assert "50.0%" in frames[1] and "500 entries" in frames[1]
    assert out.getvalue().endswith("\n")


def test_progress_redraws_at_most_every_interval() -> None:
    out = io.StringIO()
    progress = Progress(out, interval=3600)
    for done in range(1, 1000):
        progress.update(done, 1000)
    assert out.getvalue().count("\r") == 1  # the first update only


def test_audit_verify_shows_progress_on_request_and_not_with_json(db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    call_command("audit_verify", "--progress", stdout=out)
    assert "entries" in capsys.readouterr().err and "intact" in out.getvalue()
    call_command("audit_verify", "--json", stdout=io.StringIO())
    assert capsys.readouterr().err == ""


@settings(max_examples=600, deadline=None)
@given(
    st.integers(-5, 10**12) | st.booleans(),
    st.text(max_size=40) | st.integers(),
    st.text(st.sampled_from('0123456789abcdefABX\\"\u00e9\x01'), min_size=60, max_size=68) | st.none(),
    st.booleans(),
    st.sampled_from(["", "\n", " \n", "x"]),
)
def test_the_fast_line_reader_agrees_with_json(index: Any, leaf: Any, stated: Any, ascii_only: bool, end: str) -> None:
    """Whatever _export_line reads from a line is what json.loads reads; lines of any other shape are left to it."""
    from audit.offline_verify import _export_line

    item: dict[str, Any] = {"index": index, "leaf": leaf}
    if stated is not None:
        item["leaf_hash"] = stated
    line = json.dumps(item, ensure_ascii=ascii_only, separators=(",", ":")) + end
    fast = _export_line(line)
    if fast is not None:
        parsed = json.loads(line)
        assert fast == (parsed["index"], parsed["leaf"], parsed["leaf_hash"])
        assert type(fast[0]) is int and type(parsed["index"]) is int
    elif type(index) is int and index >= 0 and isinstance(leaf, str) and isinstance(stated, str) and end in ("", "\n"):
        # only these well-formed lines are left over: the hash is not 64 plain characters
        assert len(stated) != 64 or '"' in stated or "\\" in stated or not stated.isprintable()
