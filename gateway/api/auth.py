"""Bearer tokens (RFC 6750, header only) issued by django-oauth-toolkit, and the caller they identify."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import replace
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from oauth2_provider.models import get_access_token_model, get_application_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from consent.models import Organisation, Sector
from consent.selectors import CONFIGURATION_READ_SQL
from gateway.callers import Caller

MAX_ACTING_USER = 128
REALM = 'Bearer realm="veilig-delen"'


class PartnerUser:
    """What DRF sees as ``request.user`` for a partner client: authenticated, never staff."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.username = caller.client_id
        self.pk = None


def _acting_user(meta: dict[str, Any]) -> str | None:
    value = meta.get("HTTP_X_ACTING_USER")
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_ACTING_USER or not value.isprintable():
        raise exceptions.ValidationError(
            {"X-Acting-User": [exceptions.ErrorDetail("An opaque id of at most 128 printable characters.", "invalid")]}
        )
    return value


@functools.cache
def _token_query() -> tuple[str, list[str], list[str]]:
    """The statement that resolves a token checksum to its expiry, scope, client and organisation with its sector,
    and the configuration token of this moment (:func:`consent.selectors.configuration_token`), and the
    organisation's and sector's field names in its columns. Built once from the models' metadata (no input
    reaches it); one statement, which the connection keeps prepared (it runs on every partner request)."""
    organisation_fields = [f.attname for f in Organisation._meta.concrete_fields]
    sector_fields = [f.attname for f in Sector._meta.concrete_fields]
    columns = ", ".join(
        ["t.expires", "t.scope", "a.client_id"]
        + [f"o.{connection.ops.quote_name(name)}" for name in organisation_fields]
        + [f"s.{connection.ops.quote_name(name)}" for name in sector_fields]
        # the configuration token rides along: a request's policy then costs no statement of its own
        + [f"({CONFIGURATION_READ_SQL})"]
    )
    sql = (
        f"SELECT {columns} FROM {get_access_token_model()._meta.db_table} t "  # noqa: S608  # names from the models
        f"JOIN {get_application_model()._meta.db_table} a ON a.id = t.application_id "
        "JOIN consent_organisation o ON o.id = a.organisation_id JOIN consent_sector s ON s.id = o.sector_id "
        "WHERE t.token_checksum = %s"
    )
    return sql, organisation_fields, sector_fields


def caller_from_meta(meta: dict[str, Any]) -> Caller | None:
    """Resolve the bearer token in ``Authorization`` to a caller; ``None`` when absent or not valid."""
    header = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    checksum = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    sql, organisation_fields, sector_fields = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    expires, scope, client_id = row[:3]
    if isinstance(expires, str):  # SQLite gives text
        expires = parse_datetime(expires)
    if expires is None:
        return None
    if timezone.is_naive(expires):
        expires = timezone.make_aware(expires, dt.UTC)
    if expires <= timezone.now():
        return None
    split = 3 + len(organisation_fields)
    organisation = Organisation.from_db(connection.alias, organisation_fields, row[3:split])
    sector = Sector.from_db(connection.alias, sector_fields, row[split:-1])
    Organisation._meta.get_field("sector").set_cached_value(organisation, sector)  # as select_related would
    if not organisation.active:
        return None
    return Caller(
        organisation=organisation, client_id=client_id, scopes=frozenset(scope.split()), configuration_token=row[-1]
    )


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates a partner client by its access token; sets ``request.caller``."""

    def authenticate(self, request: Request) -> tuple[PartnerUser, Caller] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        caller = caller_from_meta(request.META)
        if caller is None:
            raise exceptions.AuthenticationFailed("The access token is missing, expired or not valid.")
        request._request.caller = caller  # type: ignore[attr-defined]  # a bad X-Acting-User is still audited
        acting = _acting_user(request.META)
        caller = replace(caller, acting_user=acting)
        request._request.caller = caller  # type: ignore[attr-defined]
        return PartnerUser(caller), caller

    def authenticate_header(self, request: Request) -> str:
        if request.META.get("HTTP_AUTHORIZATION"):
            return REALM + ', error="invalid_token"'  # RFC 6750 §3.1: a token was sent but is not valid
        return REALM
