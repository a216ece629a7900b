"""RFC 8785 (JSON Canonicalization Scheme) bytes, with a fast path through the standard library's C encoder.

``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives exactly the RFC 8785 text
when ``value`` holds only objects with string keys, arrays, strings, booleans, null and integers of at most 2**53 - 1
in magnitude, and no object key has a character outside the Basic Multilingual Plane:

- whitespace: none, with these separators (RFC 8785 §3.2.1);
- literals ``true``, ``false``, ``null`` (§3.2.2.1);
- strings (§3.2.2.2): both escape exactly ``"``, ``\\``, and the controls U+0000..U+001F, the ones with a short
  form as ``\\b \\f \\n \\r \\t`` and the others as ``\\u00xx`` in lowercase hex; everything else, U+007F and U+2028
  included, is written as it is (``ensure_ascii=False``), then encoded as UTF-8;
- integers (§3.2.2.3): ES6 Number.prototype.toString of a safe integer is its decimal digits, which is ``repr(int)``;
  beyond the safe range JCS has no exact form (the ``rfc8785`` package refuses them), so they take the slow path;
- object members are sorted by their keys as arrays of UTF-16 code units (§3.2.3). Python compares strings by code
  point, which is the same order for keys made of BMP characters (one code unit each, equal to the code point);
  a key with a character outside the BMP (a surrogate pair in UTF-16, which sorts below U+E000..U+FFFF) takes the
  slow path.

Anything else (a float, a large integer, such a key, a subclass of a built-in type, a type JSON does not have) goes
to the ``rfc8785`` package, which either serialises it or raises as before. ``tests/audit/test_canonical.py``
checks the equality against ``rfc8785`` on generated values.
"""

from __future__ import annotations

import json
from _json import make_encoder
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer RFC 8785 (as ES6 numbers) serialises exactly."""

_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False)
# The C encoder that ``_encoder.encode`` builds on every call (CPython's JSONEncoder.iterencode for ``indent=None``
# and ``_one_shot``), built once with the same arguments: the same text without the per-call set-up, which cost as
# much as encoding a small value. CPython has the C accelerator (``_json``); this project runs on CPython only.
_iterencode = make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", True, False, True)


def _encode(value: Any) -> str:
    return "".join(_iterencode(value, 0))


class NotPlainJSON(ValueError):
    """The value needs the full RFC 8785 serialiser (a float, a large integer, a key outside the BMP)."""


def _bmp_key(key: object) -> bool:
    return type(key) is str and (key.isascii() or max(key, default="") <= "\uffff")


def is_plain(value: Any) -> bool:
    """True when :func:`canonical_bytes` may use the standard library's encoder for ``value`` (module docstring)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is dict:
        return all(_bmp_key(key) and is_plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(is_plain(item) for item in value)
    return False


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 serialisation of ``value``: the same bytes as ``rfc8785.dumps(value)``, mostly much faster."""
    if is_plain(value):
        return _encode(value).encode("utf-8")
    return rfc8785.dumps(value)


def plain_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a value the caller knows to be plain (:func:`is_plain`), without checking it again: for
    values decoded with :func:`plain_loads` and built around them from scalars."""
    return _encode(value).encode("utf-8")


def plain_text(value: Any) -> str:
    """:func:`plain_bytes` before the UTF-8 encoding, to be put together with other canonical text."""
    return _encode(value)


def _plain_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise NotPlainJSON(f"integer {text} is beyond the safe range")
    return value


def _not_plain(text: str) -> Any:
    raise NotPlainJSON(f"number {text} is not an integer")


_plain_decoder = json.JSONDecoder(parse_float=_not_plain, parse_int=_plain_int, parse_constant=_not_plain)
_plain_scan: Callable[[str, int], tuple[Any, int]] = _plain_decoder.scan_once  # type: ignore[attr-defined] # set in __init__


def plain_loads(text: str) -> Any:
    """Decode JSON text into a plain value (:func:`is_plain`) or raise :class:`NotPlainJSON`.

    Floats and unsafe integers are refused by the decoder's hooks, at C speed when there are none. A key outside the
    BMP could only come from a non-BMP character in the text or from an escaped surrogate (``\\ud800``..``\\udbff``),
    so such texts are refused as a whole without looking further (the caller then takes the slow path).
    """
    if not text.isascii() and max(text) > "\uffff":
        raise NotPlainJSON("a character outside the BMP")
    if "\\u" in text and ("\\ud" in text or "\\uD" in text):
        raise NotPlainJSON("an escaped surrogate")
    # The decoder's scanner straight away: what ``decode`` calls between skipping whitespace at both ends. A text
    # with whitespace around its value, or none at all, goes through ``decode`` for its answer or its error.
    try:
        value, end = _plain_scan(text, 0)
    except StopIteration:
        return _plain_decoder.decode(text)
    if end != len(text):
        return _plain_decoder.decode(text)
    return value
