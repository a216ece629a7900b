"""RFC 9457 problem details for every error of the partner API (api.md, "Errors"): the one place that turns an
error into a response.

The actions below the API raise domain errors (:mod:`gateway.errors`, :class:`consent.consents.ConsentError`,
:class:`gateway.notices.NoticeError`, :class:`audit.ledger.AuditWriteError`); DRF's errors (validation,
authentication, throttling) and the API layer's own :class:`Problem` come here too, through
:func:`problem_exception_handler` (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).

Every error response is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for
invalid input, ``errors`` as a list of ``{"field", "code", "message"}``. A rejected request by an authenticated
client is also written to the audit trail as a ``rejected`` entry.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, InternalError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from audit.ledger import AuditWriteError
from consent.consents import ConsentError
from gateway.errors import AuditUnavailable, FieldError, GatewayError
from gateway.notices import NoticeError

PROBLEM_TYPE_BASE = "urn:veilig-delen:problem:"
PROBLEM_CONTENT_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


class Problem(exceptions.APIException):
    """An API error with a problem type code, shown to the client as problem details."""

    def __init__(
        self,
        status_code: int,
        code: str,
        title: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title, code)
        self.status_code = status_code
        self.problem_code = code
        self.title = title
        self.problem_detail = detail or title
        self.errors = errors or []
        self.headers = headers or {}


def field_error(field: str, code: str, message: str) -> dict[str, str]:
    return FieldError(field, code, message).as_dict()


def invalid_request(errors: list[dict[str, str]], detail: str = "The request is not valid.") -> Problem:
    return Problem(400, "invalid_request", "Invalid request", detail, errors)


def problem_body(
    status_code: int, code: str, title: str, detail: str, errors: list[dict[str, str]] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status_code: int,
    code: str,
    title: str,
    detail: str = "",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = Response(
        problem_body(status_code, code, title, detail or title, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    return response


_DRF_CODES = {
    "required": "required",
    "null": "required",
    "blank": "required",
    "invalid": "invalid",
    "not_a_list": "invalid_type",
    "not_a_dict": "invalid_type",
    "max_length": "too_long",
    "min_length": "too_short",
    "max_value": "too_large",
    "min_value": "too_small",
    "empty": "required",
    "invalid_choice": "unknown_value",
    "not_a_string": "invalid_type",
}


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error structure into the flat ``errors`` list of api.md (``categories[1]``, ...)."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(flatten_errors(value, child))
        return out
    if isinstance(detail, list):
        out = []
        for position, value in enumerate(detail):
            if isinstance(value, dict | list) and not isinstance(value, exceptions.ErrorDetail):
                out.extend(flatten_errors(value, f"{path}[{position}]"))
            else:
                out.extend(flatten_errors(value, path))
        return out
    code = getattr(detail, "code", "invalid") or "invalid"
    return [field_error(path, _DRF_CODES.get(code, code), str(detail))]


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error as problem details; authenticated rejections audited."""
    response = _problem_for(exc)
    if response is None:
        return None
    request = context.get("request")
    if request is not None and response.status_code not in (401, 429):
        from gateway.api.rejected import rejected_attempt_record

        caller = getattr(request, "caller", None)
        if caller is not None:
            rejected_attempt_record(
                caller=caller,
                method=request.method,
                path=request.path,
                status_code=response.status_code,
                code=response.data.get("code", ""),
                errors=response.data.get("errors", []),
            )
    return response


# SQLSTATEs of a database that cannot be reached or written to for now: connection exceptions (class 08), a server
# shutting down or starting (57P01-57P03), a standby that refuses writes during a failover (25006).
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "25006"})


def database_unavailable(exc: Exception) -> bool:
    """The database is restarting or failing over (the connection was lost, or it landed on a standby): the request
    is answered like an unwritable trail, ``503`` with ``Retry-After``, for the partner to retry with its
    Idempotency-Key; any other database error stays a ``500``."""
    if not isinstance(exc, OperationalError | InterfaceError | InternalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


def _domain_problem(exc: Exception) -> Response | None:
    """The problem for an error an action raised (nothing was released), or ``None`` when it is not one."""
    if isinstance(exc, AuditWriteError):
        logger.warning("audit entry not written, nothing released: %s", exc)
        exc = AuditUnavailable()
    elif database_unavailable(exc):
        logger.warning("database unavailable, nothing released: %s", exc)
        exc = AuditUnavailable()
    if isinstance(exc, GatewayError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        errors = [error.as_dict() for error in exc.errors]
        return problem_response(exc.status, exc.code, exc.title, exc.detail, errors, headers)
    if isinstance(exc, ConsentError):
        return problem_response(exc.status_code, exc.code, exc.title, exc.detail, exc.errors)
    if isinstance(exc, NoticeError):
        if exc.code == "not_found":
            return problem_response(404, "not_found", "Not found", exc.message)
        if exc.field is not None:
            return problem_response(
                400,
                "invalid_request",
                "Invalid request",
                "The request is not valid.",
                [field_error(exc.field, exc.code, exc.message)],
            )
        return problem_response(409, exc.code, "Conflict", exc.message)
    return None


def _problem_for(exc: Exception) -> Response | None:
    domain = _domain_problem(exc)
    if domain is not None:
        return domain
    if isinstance(exc, Problem):
        return problem_response(
            exc.status_code, exc.problem_code, exc.title, exc.problem_detail, exc.errors, exc.headers
        )
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            400, "invalid_request", "Invalid request", "The request is not valid.", flatten_errors(exc.detail)
        )
    if isinstance(exc, exceptions.ParseError):
        return problem_response(400, "malformed_body", "Malformed request body", str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem_response(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body as application/json in UTF-8.",
        )
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "body_too_large", "Request body too large", "The body is larger than 64 KiB.")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers = {"WWW-Authenticate": getattr(exc, "auth_header", None) or 'Bearer realm="veilig-delen"'}
        return problem_response(
            401, "unauthorized", "Unauthorized", "A valid bearer access token is required.", headers=headers
        )
    if isinstance(exc, exceptions.PermissionDenied):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "forbidden"
        title = "Insufficient scope" if code == "insufficient_scope" else "Forbidden"
        return problem_response(403, str(code), title, str(exc.detail))
    if isinstance(exc, exceptions.NotFound | Http404):
        return problem_response(404, "not_found", "Not found", "There is no such resource for this client.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem_response(405, "method_not_allowed", "Method not allowed", str(exc.detail))
    if isinstance(exc, exceptions.NotAcceptable):
        return problem_response(406, "not_acceptable", "Not acceptable", "This API answers in JSON.")
    if isinstance(exc, exceptions.Throttled):
        wait = int(getattr(exc, "wait", None) or 1)
        return problem_response(
            429,
            "rate_limited",
            "Too many requests",
            f"This client exceeded its rate; retry after {wait} seconds.",
            headers={"Retry-After": str(max(wait, 1))},
        )
    if isinstance(exc, exceptions.APIException):
        return problem_response(exc.status_code, "error", "Error", str(exc.detail))
    return None


def problem_json(request: HttpRequest, status_code: int, code: str, title: str, detail: str) -> JsonResponse:
    """A problem response outside DRF (Django's 404/500 handlers, middleware)."""
    return JsonResponse(
        problem_body(status_code, code, title, detail, None),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Problem details on the API; Django's page for people everywhere else (the portal, the admin)."""
    if request.path.startswith(("/api/", "/oauth/")):
        return problem_json(request, 404, "not_found", "Not found", "There is no such resource.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> JsonResponse:
    logger.error("unhandled error on %s %s", request.method, request.path)
    return problem_json(
        request,
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal error",
        "Nothing was released.",
    )
