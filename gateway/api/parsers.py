"""A strict JSON parser: UTF-8 only, no duplicate keys, no NaN or Infinity, bounded nesting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

MAX_DEPTH = 20


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level + 1)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level + 1)
    return level


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        charset = ""
        if media_type and "charset=" in media_type.lower():
            charset = media_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
        if charset and charset not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(media_type or "")
        try:
            raw = stream.read() if stream is not None else b""
        except RequestDataTooBig:
            raise
        if not raw:
            raise exceptions.ParseError("The body is empty; send a JSON object.")
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {str(exc)[:200]}") from None
        if _depth(data) > MAX_DEPTH:
            raise exceptions.ParseError("The JSON is nested too deeply.")
        return data
