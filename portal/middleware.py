"""Security headers for the portal's pages: nothing loads from elsewhere (CSP ``default-src 'self'``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PORTAL_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class PortalSecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(("/portal/", "/privacy/")):
            response.headers["Content-Security-Policy"] = PORTAL_CSP
            response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes browsers send Origin: null
            response.headers["Cache-Control"] = "no-store"
        return response
