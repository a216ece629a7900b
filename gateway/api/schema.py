"""OpenAPI: the bearer tokens are OAuth 2.0 client credentials, each operation names the scope it needs."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "gateway.api.auth.BearerTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": "OAuth 2.0 client credentials (RFC 6749 §4.4); send the token as `Authorization: Bearer`.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token/",
                    "scopes": cast(dict[str, str], settings.OAUTH2_PROVIDER["SCOPES"]),
                }
            },
        }

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        scope = getattr(auto_schema.view, "required_scope", None)
        return {self.name: [scope] if scope else []}


# What each error status means on this API; an operation lists the ones it can answer with (docs/api.md, "Errors").
PROBLEM_MEANINGS = {
    400: "Invalid request (problem details with an entry per field in errors)",
    401: "Missing, expired or invalid token",
    403: "Token lacks the scope",
    404: "No such resource for this organisation",
    409: "Conflict with the resource's state",
    413: "Body over 64 KiB",
    415: "Not application/json",
    429: "Rate exceeded; see Retry-After",
    503: "Audit trail unavailable; nothing released",
}
# Every operation can answer these: no valid token, a token without the scope, a client over its rate.
ALWAYS = (401, 403, 429)
# And every operation with a JSON body these.
BODY = (400, 413, 415)


def problems(*statuses: int, **meanings: str) -> dict[Any, Any]:
    """The error responses of an operation, each ``application/problem+json`` with the problem schema:
    ``problems(404, 409, *BODY, s409="Already settled")`` (a ``s<status>`` keyword overrides the meaning)."""
    from drf_spectacular.utils import OpenApiResponse

    from gateway.api.problems import PROBLEM_CONTENT_TYPE
    from gateway.api.serializers import ProblemSerializer

    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=meanings.get(f"s{status}", PROBLEM_MEANINGS[status])
        )
        for status in sorted({*ALWAYS, *statuses})
    }
