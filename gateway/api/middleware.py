"""Refuse bodies over 64 KiB before anything reads them (api.md: ``413``), still auditing the attempt."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gateway.api.problems import problem_json

API_PREFIXES = ("/api/", "/oauth/")


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES):
            raw = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw)
            except ValueError:
                return problem_json(
                    request, 400, "malformed_body", "Malformed request", "Content-Length is not a number."
                )
            if length > settings.GATEWAY_MAX_BODY_BYTES:
                self._audit(request)
                return problem_json(
                    request,
                    413,
                    "body_too_large",
                    "Request body too large",
                    "The body is larger than 64 KiB.",
                )
        return self.get_response(request)

    @staticmethod
    def _audit(request: HttpRequest) -> None:
        from gateway.api.auth import caller_from_meta
        from gateway.api.rejected import rejected_attempt_record

        caller = caller_from_meta(request.META)
        if caller is not None:
            rejected_attempt_record(
                caller=caller,
                method=request.method or "",
                path=request.path,
                status_code=413,
                code="body_too_large",
                errors=[],
            )
