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
