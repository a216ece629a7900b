"""OAuth2 for partner systems (api.md, "Authentication"), on django-oauth-toolkit.

The toolkit's own token and introspection views are used as they are; what is ours is the scopes backend
(scopes follow from the client's organisation) and a validator that refuses clients of inactive
organisations and writes a ``token`` audit entry in the transaction that stores the token.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from audit.ledger import Actor, EntryDraft, audit_append


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
    """Refuses clients of inactive organisations; audits every issued token."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        organisation = getattr(request.client, "organisation", None)
        return bool(organisation is not None and organisation.active)

    def _save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        result = super()._save_bearer_token(token, request, *args, **kwargs)
        client = request.client
        audit_append(
            EntryDraft(
                kind="token",
                actor=Actor(organisation=client.organisation.slug, client_id=client.client_id),
                outcome="issued",
                detail={"scope": token.get("scope", ""), "expires_in": int(token.get("expires_in", 0))},
            )
        )
        return result
