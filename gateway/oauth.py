"""OAuth2 for partner systems (api.md, "Authentication"), on django-oauth-toolkit.

The toolkit does the protocol; what is ours is the scopes backend (scopes follow from the client's organisation),
a validator that refuses clients of inactive organisations and writes a ``token`` audit entry in the transaction
that stores the token, and two thin views over the toolkit's (issue 9, item 8):

- ``/oauth/token/`` is rate limited per presented client id and per client address before any secret is checked,
  and an unknown client id costs the same password hash as a wrong secret, so neither the answer nor its time
  tells whether a client id exists;
- ``/oauth/introspect/`` (RFC 7662) answers ``{"active": false}`` for a token of another organisation, exactly as
  for an unknown token, so one partner cannot learn about another's clients, scopes or activity.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import IntrospectTokenView, TokenView
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from audit.choices import AuditKind
from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append

logger = logging.getLogger(__name__)

# Per request (a context, so threads and requests never share it): whether a real client secret was hashed, and
# which client authenticated. Each view and validator call sets and resets what it uses.
_secret_hashed: ContextVar[bool] = ContextVar("vd_oauth_secret_hashed", default=False)
_authenticated_client: ContextVar[Any] = ContextVar("vd_oauth_authenticated_client", default=None)
_DUMMY_SECRET = "veilig-delen-no-such-client"  # noqa: S105  (hashed for an unknown client id, never accepted)


def organisation_scopes(application: Any) -> list[str]:
    """The scopes an organisation's clients may hold: every organisation may ask (``requests``) and verify
    (``audit``); ``consents`` only for sectors allowed to record consent; ``provider`` only for holders."""
    organisation = getattr(application, "organisation", None)
    if organisation is None or not organisation.active:
        return []
    scopes = ["requests", "audit"]
    if organisation.sector.may_record_consent:
        scopes.append("consents")
    if organisation.endpoints.filter(active=True).exists():
        scopes.append("provider")
    return scopes


class OrganisationScopes(BaseScopes):
    """Scopes backend: available and default scopes are those of the client's organisation."""

    def get_all_scopes(self) -> dict[str, str]:
        return dict(oauth2_settings.SCOPES)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return organisation_scopes(application)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        return organisation_scopes(application)


class GatewayOAuth2Validator(OAuth2Validator):
    """Refuses clients of inactive organisations; costs one password hash whether or not the client id exists;
    audits every issued token."""

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        _secret_hashed.set(True)
        return bool(super()._check_secret(provided_secret, stored_secret))

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        reset = _secret_hashed.set(False)
        try:
            authenticated = super().authenticate_client(request, *args, **kwargs)
            if not _secret_hashed.get():
                # The toolkit returns at once for an unknown client id; the same hash as for a wrong secret keeps
                # the time from telling the two apart (as Django's ModelBackend does for unknown users).
                make_password(_DUMMY_SECRET)
        finally:
            _secret_hashed.reset(reset)
        if not authenticated:
            return False
        organisation = getattr(request.client, "organisation", None)
        if organisation is None or not organisation.active:
            return False
        _authenticated_client.set(request.client)
        return True

    def _save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        result = super()._save_bearer_token(token, request, *args, **kwargs)
        client = request.client
        audit_append(
            EntryDraft(
                kind=AuditKind.TOKEN,
                actor=Actor(organisation=client.organisation.slug, client_id=client.client_id),
                outcome="issued",
                detail={"scope": token.get("scope", ""), "expires_in": int(token.get("expires_in", 0))},
            )
        )
        return result


class _TokenRequestThrottle(SimpleRateThrottle):
    """DRF's cache-based sliding window, keyed by one property of a token request (a hash of it, never the value:
    a client id or an address does not belong in a cache key as it is)."""

    def __init__(self, *, kind: str, value: str, rate: str) -> None:
        self.scope = f"oauth-token-{kind}"
        self.rate = rate
        self.value = value
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = hashlib.sha256(self.value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _presented_client_id(request: HttpRequest) -> str:
    """The client id a token request names (HTTP Basic first, as the toolkit reads it), whether or not it exists."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme == "Basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "<malformed>"
        return unquote_plus(decoded.split(":", 1)[0])
    return str(request.POST.get("client_id", ""))


def _too_many_requests(wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    body = {
        "error": "temporarily_unavailable",
        "error_description": f"Too many token requests. Try again in {seconds} seconds.",
    }
    response = HttpResponse(json.dumps(body), status=429, content_type="application/json")
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _unavailable() -> HttpResponse:
    body = {"error": "temporarily_unavailable", "error_description": "No token could be issued now. Try again later."}
    response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


class GatewayTokenView(TokenView):
    """``POST /oauth/token/``: the toolkit's token endpoint behind a limit per client id and per client address
    (``GATEWAY_TOKEN_RATE_CLIENT``, ``GATEWAY_TOKEN_RATE_ADDRESS``). The limit is checked before any secret is
    hashed, and counts every attempt, so guessing costs the guesser time and the gateway no CPU."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limits = (
            _TokenRequestThrottle(
                kind="address",
                value=get_client_ip_address(request) or "",
                rate=settings.GATEWAY_TOKEN_RATE_ADDRESS,
            ),
            _TokenRequestThrottle(
                kind="client", value=_presented_client_id(request), rate=settings.GATEWAY_TOKEN_RATE_CLIENT
            ),
        )
        for limit in limits:
            if not limit.allow_request(Request(request), self):
                return _too_many_requests(limit.wait() or 1.0)
        reset = _authenticated_client.set(None)
        try:
            return super().post(request, *args, **kwargs)
        except AuditWriteError as exc:  # the token entry could not be written: no token (its row rolled back)
            logger.warning("token not issued, its audit entry could not be written: %s", exc)
            return _unavailable()
        finally:
            _authenticated_client.reset(reset)


class OrganisationIntrospectView(IntrospectTokenView):
    """``POST /oauth/introspect/`` (RFC 7662) for a client of an active organisation, about its own organisation's
    tokens only; any other token is ``{"active": false}``, as an unknown one. POST only: a token in a query string
    ends up in access logs (RFC 7662 §2.1)."""

    http_method_names = ["post", "options"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reset = _authenticated_client.set(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            _authenticated_client.reset(reset)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token_value = request.POST.get("token")
        client = _authenticated_client.get()
        if token_value is not None and not _token_of_organisation(token_value, client):
            return JsonResponse({"active": False})
        return self.get_token_response(token_value)


def _token_of_organisation(token_value: str, client: Any) -> bool:
    """Whether ``token_value`` was issued to a client of the same organisation as ``client`` (``None``: a caller
    that did not authenticate as a client, who may introspect nothing)."""
    organisation_id = getattr(client, "organisation_id", None)
    if organisation_id is None:
        return False
    checksum = hashlib.sha256(token_value.encode("utf-8", "surrogatepass")).hexdigest()
    return (
        get_access_token_model()
        .objects.filter(token_checksum=checksum, application__organisation_id=organisation_id)
        .exists()
    )
