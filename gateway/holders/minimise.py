"""Data minimisation: only the category's fields, of the declared type, ever pass (AVG art. 5(1)(c))."""

from __future__ import annotations

import datetime as dt
from typing import Any

MAX_ITEMS = 200
MAX_STRING = 10_000


def value_valid(value: Any, kind: str) -> bool:
    """Whether ``value`` is of the declared field type (``None`` always is: no value)."""
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str) and len(value) <= MAX_STRING
    if kind == "date":
        if not isinstance(value, str):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return (
            isinstance(value, list)
            and len(value) <= MAX_ITEMS
            and all(isinstance(v, str | int) and not isinstance(v, bool) for v in value)
        )
    return False


def _record(raw: Any, field_types: dict[str, str], seen: set[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    kept = {name: value for name, value in raw.items() if name in field_types and value_valid(value, field_types[name])}
    seen.update(kept)
    return kept


def minimise(raw: Any, field_types: tuple[tuple[str, str], ...]) -> tuple[Any, list[str]]:
    """Keep only declared fields with values of the declared type. An object stays an object, a list of
    objects a list (at most 200); anything else is no data. Returns the data and the field names released."""
    types = dict(field_types)
    seen: set[str] = set()
    if raw is None:
        return None, []
    if isinstance(raw, list):
        records = [r for r in (_record(item, types, seen) for item in raw[:MAX_ITEMS]) if r]
        return (records or None), sorted(seen)
    record = _record(raw, types, seen)
    return (record or None), sorted(seen)
