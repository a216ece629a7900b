"""Bearer tokens (RFC 6750, header only) issued by django-oauth-toolkit, and the caller they identify."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

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


def caller_from_meta(meta: dict[str, Any]) -> Caller | None:
    """Resolve the bearer token in ``Authorization`` to a caller; ``None`` when absent or not valid."""
    header = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    checksum = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    access = (
        get_access_token_model()
        .objects.select_related("application__organisation__sector")
        .filter(token_checksum=checksum)
        .first()
    )
    if access is None or access.expires <= timezone.now() or access.application is None:
        return None
    organisation = getattr(access.application, "organisation", None)
    if organisation is None or not organisation.active:
        return None
    return Caller(
        organisation=organisation,
        client_id=access.application.client_id,
        scopes=frozenset(access.scope.split()),
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
        caller = Caller(caller.organisation, caller.client_id, caller.scopes, acting_user=acting)
        request._request.caller = caller  # type: ignore[attr-defined]
        return PartnerUser(caller), caller

    def authenticate_header(self, request: Request) -> str:
        if request.META.get("HTTP_AUTHORIZATION"):
            return REALM + ', error="invalid_token"'  # RFC 6750 §3.1: a token was sent but is not valid
        return REALM
