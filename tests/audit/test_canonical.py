"""audit.canonical: the standard library's encoder gives RFC 8785 bytes for plain values, checked against the
``rfc8785`` package on generated values (and on the cases where the two would differ, which take the slow path)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.canonical import MAX_SAFE_INTEGER, NotPlainJSON, canonical_bytes, is_plain, plain_bytes, plain_loads

# Every code point, surrogates included (a Python str can hold a lone one; UTF-8 cannot encode it).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None), max_size=12)
BMP_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12)
EDGY_TEXT = st.text(st.sampled_from('a"\\/\b\f\n\r\t\x00\x01\x1f\x7f\u2028\u2029\ue000\uffff\U0001f600é€'), max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-MAX_SAFE_INTEGER - 2, -MAX_SAFE_INTEGER + 2)
    | st.integers(MAX_SAFE_INTEGER - 2, MAX_SAFE_INTEGER + 2)
    | st.floats()
    | ANY_TEXT
    | EDGY_TEXT
)


def json_values(scalars: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=25,
    )


ANY_VALUES = json_values(SCALARS, ANY_TEXT | EDGY_TEXT)
PLAIN_VALUES = json_values(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | ANY_TEXT | EDGY_TEXT,
    BMP_TEXT | EDGY_TEXT.filter(lambda key: "\U0001f600" not in key),
)


def outcome(function: Any, value: Any) -> bytes | str:
    """The bytes, or the fact that it raised (which exception does not matter: both refuse the value)."""
    try:
        return bytes(function(value))
    except (ValueError, TypeError, UnicodeEncodeError, rfc8785.CanonicalizationError):
        return "raises"


@settings(max_examples=800, deadline=None)
@given(ANY_VALUES)
def test_canonical_bytes_are_rfc8785(value: Any) -> None:
    assert outcome(canonical_bytes, value) == outcome(rfc8785.dumps, value)


@settings(max_examples=800, deadline=None)
@given(PLAIN_VALUES)
def test_the_standard_encoder_is_rfc8785_without_floats_large_integers_or_keys_beyond_the_bmp(value: Any) -> None:
    """The claim itself: ``json.dumps(sort_keys, compact separators, ensure_ascii=False)`` is RFC 8785 here."""
    assert is_plain(value)

    def stdlib(v: Any) -> bytes:
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    assert outcome(stdlib, value) == outcome(rfc8785.dumps, value)
    assert outcome(plain_bytes, value) == outcome(rfc8785.dumps, value)


@settings(max_examples=600, deadline=None)
@given(ANY_VALUES, st.booleans())
def test_plain_loads_refuses_what_the_fast_path_cannot_take(value: Any, ascii_only: bool) -> None:
    try:
        text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    except ValueError:
        return
    try:
        decoded = plain_loads(text)
    except NotPlainJSON:
        return
    except ValueError:  # NaN and Infinity are not JSON: refused as well
        return
    assert is_plain(decoded)
    assert decoded == json.loads(text)
    assert outcome(plain_bytes, decoded) == outcome(rfc8785.dumps, decoded)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"\ue000": 1, "\U0001f600": 2}, False),  # UTF-16 puts the surrogate pair first, code points the other way
        ({"a": 1.0}, False),
        ({"a": 2**53}, False),
        ({"a": -(2**53) + 1, "b": [True, None, "\x00\u2028\x7f"]}, True),
        ({1: "a"}, False),
        ((1, 2), True),
    ],
)
def test_what_takes_the_slow_path(value: Any, plain: bool) -> None:
    assert is_plain(value) is plain
    assert outcome(canonical_bytes, value) == outcome(rfc8785.dumps, value)


@pytest.mark.parametrize(
    "text",
    ['{"a":1.5}', '{"a":1e3}', '{"a":9007199254740992}', '{"\U0001f600":1}', '{"\\ud83d\\ude00":1}', '["\\uD800"]'],
)
def test_plain_loads_refusals(text: str) -> None:
    with pytest.raises(NotPlainJSON):
        plain_loads(text)
