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

__all__ = ["FetchResult", "HolderUnavailable", "holder_fetch"]


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


def _builtin_record(organisation_id: int, category: str, bsn: str) -> Any:
    """The builtin holder's record (plain SQL: it runs once per category of a request), ``None`` when it has none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.data FROM gateway_builtinrecord r JOIN consent_datacategory k ON k.id = r.category_id "
            "WHERE r.organisation_id = %s AND k.code = %s AND r.bsn = %s",
            [organisation_id, category, bsn],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return json.loads(row[0]) if isinstance(row[0], str | bytes) else row[0]


def holder_fetch(
    *,
    holder: str,
    category: str,
    field_types: tuple[tuple[str, str], ...],
    request_id: str,
    bsn: str,
    purpose: str,
    directory: HolderDirectory | None = None,
) -> FetchResult:
    """Fetch ``category`` about ``bsn`` from ``holder`` and keep only the category's fields. The endpoint comes
    from ``directory`` when given (:func:`gateway.holders.directory.holder_directory`), else from the tables.

    Raises :class:`HolderUnavailable` when the holder cannot be reached or answers nonsense.
    """
    endpoint = _endpoint_for(holder, category, directory)
    fields = [name for name, _ in field_types]
    raw: Any
    if endpoint.kind == HolderKind.BUILTIN:
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
