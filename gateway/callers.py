"""Who is asking: the caller an access token identifies (:mod:`gateway.api.auth` resolves it from the token)."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.ledger import Actor
from consent.models import Organisation


@dataclass(frozen=True)
class Caller:
    """The organisation asking, through which OAuth client, on behalf of which professional (opaque id,
    recorded in the trail and never trusted for authorisation)."""

    organisation: Organisation
    client_id: str
    scopes: frozenset[str]
    acting_user: str | None = None
    #: The configuration token (:mod:`consent.configuration`) read in the same statement as the access token, for
    #: :func:`consent.selectors.policy_current`; ``None`` when not read (then that reads it).
    configuration_token: str | None = field(default=None, compare=False)

    def actor(self) -> Actor:
        """The caller as the audit trail names it."""
        return Actor(organisation=self.organisation.slug, client_id=self.client_id, acting_user=self.acting_user)
