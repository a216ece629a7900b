"""The errors the partner edge's actions raise, as domain facts (what went wrong), never as HTTP responses.

An action (:mod:`gateway.request_flow`, :mod:`gateway.pending`, ...) raises one of these; the one DRF exception
handler, :func:`gateway.api.problems.problem_exception_handler`, turns it into problem details (RFC 9457). The
status and problem code are part of the error because they are part of the API contract (docs/api.md, "Errors"),
but nothing here knows about DRF or Django's request objects. :class:`audit.ledger.AuditWriteError`,
:class:`consent.consents.ConsentError` and :class:`gateway.notices.NoticeError` go through the same handler.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One entry of a problem's ``errors`` list: which input member failed, and why."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class GatewayError(Exception):
    """An action of the partner edge refused or could not finish; nothing was released."""

    status: int = 400
    code: str = "error"
    title: str = "Error"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: tuple[FieldError, ...] = (),
        code: str | None = None,
        title: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        self.errors = errors
        self.retry_after = retry_after


class InvalidInput(GatewayError):
    """The input is well-formed but cannot be acted on (a named holder that does not hold the category, ...)."""

    status = 400
    code = "invalid_request"
    title = "Invalid request"

    def __init__(self, errors: tuple[FieldError, ...], detail: str = "The request is not valid.") -> None:
        super().__init__(detail, errors=errors)


class WeighingRequired(GatewayError):
    """An approval under a basis that gives the holder the judgement (``weighing_required``) came without the
    holder's recorded weighing; nothing changed."""

    status = 400
    code = "weighing_required"
    title = "Weighing required"

    def __init__(self) -> None:
        super().__init__(
            "The legal basis of this item leaves the judgement to you: record your weighing (belangenafweging) "
            "in weighing, 20 to 2000 characters.",
            errors=(FieldError("weighing", "required", "A weighing of 20 to 2000 characters is required."),),
        )


class NotFound(GatewayError):
    """No such resource *for this caller*: the same answer whether it does not exist or is someone else's."""

    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(GatewayError):
    """The resource is in a state that does not allow the action (settled already, a key reused, ...)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "Idempotency key reused"


class HolderUnreachable(GatewayError):
    """The holder's own system could not be reached while it settles a pending item; the item stays pending."""

    status = 503
    code = "provider_unavailable"
    title = "Your system could not be reached"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after=30)


class AuditUnavailable(GatewayError):
    """The audit entry could not be written, so nothing was released (the handler answers the same for
    :class:`audit.ledger.AuditWriteError`)."""

    status = 503
    code = "audit_unavailable"
    title = "Audit trail unavailable"

    def __init__(
        self,
        detail: str = "The decision could not be recorded in the audit trail, so nothing was released. "
        "Try again later.",
    ) -> None:
        super().__init__(detail, retry_after=5)
