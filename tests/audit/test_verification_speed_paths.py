"""The verifier's fast paths (audit/verification.py) give exactly what the ledger's own definition gives: the leaf
rebuilt from a row's columns equals ``rfc8785.dumps(leaf_object(...))`` for generated columns, and PostgreSQL's
formatting of ``at`` equals :func:`audit.ledger.format_time`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.ledger import ENTRY_COLUMNS, format_time, leaf_object
from audit.verification import _pg_time_text, columns_canonical, leaf_canonical
from tests.audit.test_canonical import ANY_VALUES, EDGY_TEXT, PLAIN_VALUES

TEXT = st.none() | st.text(max_size=10) | EDGY_TEXT
TIMES = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31), timezones=st.just(dt.UTC))


@st.composite
def rows(draw: st.DrawFn) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """A row as the verifier reads it, and the ledger's leaf object for the same columns (None if it has none)."""
    json_value = draw(st.sampled_from([PLAIN_VALUES, ANY_VALUES]))
    columns: dict[str, Any] = {
        "index": draw(st.integers(0, 2**54)),
        "kind": draw(st.text(max_size=10)),
        "at": draw(TIMES),
        "organisation": draw(TEXT),
        "client_id": draw(TEXT),
        "acting_user": draw(TEXT),
        "user": draw(TEXT),
        "subject": draw(TEXT),
        "purpose": draw(TEXT),
        "case_reference": draw(TEXT),
        "emergency": draw(st.booleans()),
        "reference": draw(TEXT),
        "outcome": draw(TEXT),
        "policy_version": draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
        "decisions": draw(json_value),
        "detail": draw(json_value),
    }
    try:
        decisions_text = json.dumps(columns["decisions"], ensure_ascii=draw(st.booleans()))
        detail_text = json.dumps(columns["detail"], ensure_ascii=draw(st.booleans()))
    except ValueError:
        decisions_text = detail_text = "null"
        columns["decisions"] = columns["detail"] = None
    texts = {
        "at": format_time(columns["at"]),
        "decisions": decisions_text,
        "detail": detail_text,
        "leaf": "",
        "leaf_hash": "",
    }
    row = tuple(texts[name] if name in texts else columns[name] for name in ENTRY_COLUMNS)
    columns["decisions"], columns["detail"] = json.loads(decisions_text), json.loads(detail_text)
    return row, leaf_object(**columns)


def expected(leaf: dict[str, Any] | None) -> bytes | None:
    try:
        return rfc8785.dumps(leaf)
    except Exception:
        return None


@settings(max_examples=800, deadline=None)
@given(rows())
def test_the_rebuilt_leaf_is_the_ledgers(case: tuple[tuple[Any, ...], dict[str, Any] | None]) -> None:
    row, leaf = case
    want = expected(leaf)
    assert columns_canonical(row) == want
    assert leaf_canonical(row) == want


@settings(max_examples=300, deadline=None)
@given(TIMES)
def test_postgresql_time_text_is_format_time(moment: dt.datetime) -> None:
    text = "AD " + moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rjust(26, "0")
    assert _pg_time_text(text) == format_time(moment)


@pytest.mark.parametrize("text", ["BC 2000-01-01T00:00:00.000000", "AD 10000-01-01T00:00:00.000000", "2026-01-01"])
def test_times_python_cannot_hold_have_no_leaf_text(text: str) -> None:
    assert _pg_time_text(text) is None


def test_to_char_agrees_with_format_time(db: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's to_char")
    from audit.verification import _PG_TIME

    moments = [
        dt.datetime(2026, 12, 1, 14, 43, 43, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2030, 6, 30, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=dt.UTC),
    ]
    with connection.cursor() as cursor:
        for moment in moments:
            cursor.execute(f"SELECT {_PG_TIME} FROM (SELECT %s::timestamptz AS at) AS t", [moment])
            assert _pg_time_text(cursor.fetchone()[0]) == format_time(moment), moment
