"""Per-client rate limit (api.md: ``429`` with ``Retry-After`` when a client exceeds its rate)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from gateway.api.auth import Caller


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        caller = request.auth
        if not isinstance(caller, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": caller.client_id}
