"""The provider leg (api.md, "Calls to data holders"): fetch a category from the organisation that holds it.

``builtin`` and ``http`` holders go through :func:`holder_fetch`, and whatever comes back passes
:func:`gateway.holders.minimise.minimise` so that only the category's fields leave the gateway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from consent.choices import HolderKind
from gateway.holders import http
from gateway.holders.directory import EndpointView, HolderDirectory
from gateway.holders.errors import HolderUnavailable
from gateway.holders.minimise import minimise
from gateway.models import HolderEndpoint

__all__ = ["BuiltinRecords", "FetchResult", "HolderUnavailable", "builtin_records_read", "holder_fetch"]


@dataclass(frozen=True)
class FetchResult:
    """The minimised data (``None``: the holder has nothing) and the field names that passed."""

    data: Any
    fields: list[str]


def _endpoint_for(holder: str, category: str, directory: HolderDirectory | None) -> EndpointView:
    if directory is not None:
        found = directory.endpoint(holder, category)
    else:
        row = (
            HolderEndpoint.objects.filter(
                organisation__slug=holder, organisation__active=True, categories__code=category, active=True
            )
            .select_related("organisation")
            .first()
        )
        found = (
            EndpointView(row.organisation_id, holder, row.kind, row.url, row.credential_env, row.timeout_seconds)
            if row is not None
            else None
        )
    if found is None:
        raise HolderUnavailable(f"{holder} has no active endpoint for {category}")
    return found


@dataclass(frozen=True)
class BuiltinRecords:
    """The records of ``builtin`` holders about one BSN, read together for the categories of one request
    (:func:`builtin_records_read`): ``asked`` the (organisation id, category) pairs read, ``found`` those that have a
    record."""

    asked: frozenset[tuple[int, str]]
    found: dict[tuple[int, str], Any]


def _record_data(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def builtin_records_read(*, bsn: str, asks: list[tuple[str, str]], directory: HolderDirectory) -> BuiltinRecords:
    """The records the ``builtin`` holders among ``asks`` (holder, category) keep about ``bsn``, in one query
    whatever the number of categories (plain SQL: it runs on every request that asks such a holder)."""
    asked = set()
    for holder, category in asks:
        endpoint = directory.endpoint(holder, category)
        if endpoint is not None and endpoint.kind == HolderKind.BUILTIN:
            asked.add((endpoint.organisation_id, category))
    found: dict[tuple[int, str], Any] = {}
    if asked:
        organisations, categories = sorted({pk for pk, _c in asked}), sorted({c for _pk, c in asked})
        marks = ", ".join(["%s"] * len(organisations)), ", ".join(["%s"] * len(categories))
        # IN lists of placeholders, not arrays: the same statement on SQLite (scripts/run); only placeholders are
        # formatted in, every value is a parameter.
        sql = (
            "SELECT r.organisation_id, k.code, r.data FROM gateway_builtinrecord r "  # noqa: S608
            "JOIN consent_datacategory k ON k.id = r.category_id "
            f"WHERE r.bsn = %s AND r.organisation_id IN ({marks[0]}) AND k.code IN ({marks[1]})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [bsn, *organisations, *categories])
            for organisation_id, category, data in cursor.fetchall():
                if (organisation_id, category) in asked:  # the two lists also match pairs nobody asked for
                    found[(organisation_id, category)] = _record_data(data)
    return BuiltinRecords(frozenset(asked), found)


def _builtin_record(organisation_id: int, category: str, bsn: str) -> Any:
    """The builtin holder's record (plain SQL), ``None`` when it has none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.data FROM gateway_builtinrecord r JOIN consent_datacategory k ON k.id = r.category_id "
            "WHERE r.organisation_id = %s AND k.code = %s AND r.bsn = %s",
            [organisation_id, category, bsn],
        )
        row = cursor.fetchone()
    return None if row is None else _record_data(row[0])


def holder_fetch(
    *,
    holder: str,
    category: str,
    field_types: tuple[tuple[str, str], ...],
    request_id: str,
    bsn: str,
    purpose: str,
    directory: HolderDirectory | None = None,
    builtin: BuiltinRecords | None = None,
) -> FetchResult:
    """Fetch ``category`` about ``bsn`` from ``holder`` and keep only the category's fields. The endpoint comes
    from ``directory`` when given (:func:`gateway.holders.directory.holder_directory`), else from the tables; a
    builtin holder's record from ``builtin`` when it was read there (:func:`builtin_records_read`, same ``bsn``).

    Raises :class:`HolderUnavailable` when the holder cannot be reached or answers nonsense.
    """
    endpoint = _endpoint_for(holder, category, directory)
    fields = [name for name, _ in field_types]
    raw: Any
    if endpoint.kind == HolderKind.BUILTIN:
        key = (endpoint.organisation_id, category)
        if builtin is not None and key in builtin.asked:
            raw = builtin.found.get(key)
        else:
            raw = _builtin_record(endpoint.organisation_id, category, bsn)
    elif endpoint.kind == HolderKind.HTTP:
        raw = http.fetch(
            url=endpoint.url,
            credential_env=endpoint.credential_env,
            timeout=endpoint.timeout_seconds or settings.GATEWAY_PROVIDER_TIMEOUT,
            retries=settings.GATEWAY_PROVIDER_RETRIES,
            payload={
                "request_id": request_id,
                "subject": {"bsn": bsn},
                "category": category,
                "purpose": purpose,
                "fields": fields,
            },
        )
    else:
        raise HolderUnavailable(f"unknown provider kind {endpoint.kind!r}")
    data, released = minimise(raw, field_types)
    return FetchResult(data=data, fields=released)
