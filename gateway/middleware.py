"""Project-wide response headers that keep personal data out of caches (issue 9, item 8).

Every response is ``Cache-Control: no-store`` unless its path is on the short list of public things that carry
nothing about a person: static files, the OpenAPI schema and its docs, the checkpoint signing key and the health
probes. Deny by default, so a new page or API endpoint is never cacheable by accident (AVG art. 32: a shared or
browser cache must not keep a timeline, a decision or a token response).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PUBLIC_PATHS = frozenset(
    {
        "/api/v1/schema/",
        "/api/v1/docs/",
        "/api/v1/redoc/",
        "/api/v1/audit/public-key",
        "/healthz",
        "/readyz",
    }
)


def is_public_path(path: str) -> bool:
    """Whether a response for ``path`` may be cached: static files and the exact public paths above."""
    static = "/" + settings.STATIC_URL.lstrip("/")
    return path in PUBLIC_PATHS or path.startswith(static)


class NoStoreMiddleware:
    """Sets ``Cache-Control: no-store`` on every response that is not public, replacing whatever a view set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_public_path(request.path):
            response.headers["Cache-Control"] = "no-store"
        return response
