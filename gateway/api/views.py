"""Views of the partner API: validate, call one service or selector, serialise (``shared/style.md``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from consent.selectors import policy_current
from gateway.api.permissions import HasScope
from gateway.api.problems import field_error, invalid_request
from gateway.api.schema import BODY, problems
from gateway.api.serializers import InformationRequestInSerializer
from gateway.callers import Caller
from gateway.errors import NotFound
from gateway.idempotency import StoredResponse
from gateway.models import InformationRequest
from gateway.request_flow import RequestInput, api_read_record, decision_check, information_request_submit
from gateway.shapes import DryRunOutSerializer, InformationRequestOutSerializer, request_json

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="At most 64 printable ASCII characters. The same key with the same body returns the first "
    "response again and writes no second audit entry; with another body it is 409.",
)
ACTING_USER_PARAMETER = OpenApiParameter(
    "X-Acting-User",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Opaque id (at most 128 characters) of the professional on whose behalf the system asks; "
    "recorded in the audit trail, never used for authorisation.",
)
# A request or a dry run: invalid input, a reused Idempotency-Key, the audit trail unavailable.
REQUEST_PROBLEMS = problems(*BODY, 409, 503, s409="Idempotency-Key reused with another body")


def _caller(request: Request) -> Caller:
    caller = request.auth
    assert isinstance(caller, Caller)
    return caller


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise invalid_request(
            [field_error("Idempotency-Key", "invalid", "At most 64 printable ASCII characters, no spaces.")]
        )
    return key


def _run(request: Request, action: Callable[..., StoredResponse]) -> Response:
    """Validate a request body against the policy in force, then run the action (submit or dry run) with it."""
    key = _idempotency_key(request)
    policy = policy_current(_caller(request).configuration_token)
    serializer = InformationRequestInSerializer(data=request.data, context={"policy": policy})
    serializer.is_valid(raise_exception=True)
    asked: RequestInput = serializer.validated_data
    result = action(caller=_caller(request), payload=asked, policy=policy, idempotency_key=key)
    return Response(result.body, status=result.status_code)


class PartnerAPIView(GenericAPIView):
    permission_classes = [HasScope]
    required_scope = "requests"


class RequestPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"

    def get_page_size(self, request: Any) -> int:
        """``limit`` is a whole number from 1; more than 200 reads as 200. Anything else is ``400``, not DRF's
        silent default page: a client that asked for something else should not take 50 for an answer."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        digits = value.lstrip("0")
        if not (value.isascii() and value.isdigit()) or not digits:
            raise invalid_request([field_error("limit", "invalid", "A whole number from 1 to 200.")])
        # a number too long for int() (Python refuses more than 4,300 digits) is just as much over 200
        return self.max_page_size if len(digits) > 3 else min(int(digits), self.max_page_size)


LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1},
    description="Page size, 1 to 200 (more reads as 200); 50 when absent.",
)


class InformationRequestListView(PartnerAPIView):
    """Ask for information about a person, or list the organisation's own requests."""

    serializer_class = InformationRequestInSerializer
    pagination_class = RequestPagination

    def get_queryset(self) -> Any:
        return InformationRequest.objects.filter(
            organisation=_caller(self.request).organisation, pushed_by__isnull=True
        ).prefetch_related("decisions")

    @extend_schema(
        operation_id="requests_create",
        request=InformationRequestInSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, ACTING_USER_PARAMETER],
        responses={
            200: InformationRequestOutSerializer,
            202: OpenApiResponse(InformationRequestOutSerializer, description="At least one category is pending"),
            **REQUEST_PROBLEMS,
        },
        summary="Request information about a person",
    )
    def post(self, request: Request) -> Response:
        return _run(request, information_request_submit)

    @extend_schema(
        operation_id="requests_list",
        responses={
            200: InformationRequestOutSerializer(many=True),
            **problems(400, 404, 503, s404="The cursor is not valid", s503="Audit trail unavailable; nothing answered"),
        },
        parameters=[LIMIT_PARAMETER],
        summary="List the organisation's own requests, newest first",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        bodies = [request_json(r) for r in page]
        api_read_record(
            caller=_caller(request),
            read="requests_list",
            detail={
                "requests": [b["id"] for b in bodies],
                "with_data": [b["id"] for b in bodies if b["data"]],
            },
        )
        return self.get_paginated_response(bodies)


class InformationRequestDetailView(PartnerAPIView):
    """One of the organisation's own requests; anyone else's is 404."""

    serializer_class = InformationRequestOutSerializer

    @extend_schema(
        operation_id="requests_retrieve",
        responses={
            200: InformationRequestOutSerializer,
            **problems(404, 503, s503="Audit trail unavailable; nothing answered"),
        },
        summary="Read one of the organisation's own requests",
    )
    def get(self, request: Request, request_id: str) -> Response:
        stored = (
            InformationRequest.objects.filter(
                id=request_id, organisation=_caller(request).organisation, pushed_by__isnull=True
            )
            .prefetch_related("decisions")
            .first()
            if REQUEST_ID.fullmatch(request_id)
            else None
        )
        if stored is None:
            raise NotFound("There is no such request for this organisation.")
        body = request_json(stored)
        api_read_record(
            caller=_caller(request),
            read="request",
            subject_pseudonym_=stored.subject_pseudonym,
            reference=stored.id,
            detail={"data_categories": sorted(body["data"] or {})},
        )
        return Response(body)


class DecisionCheckView(PartnerAPIView):
    """Dry run: the decisions a request would get, without fetching or releasing anything."""

    serializer_class = InformationRequestInSerializer

    @extend_schema(
        operation_id="decisions_check",
        request=InformationRequestInSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, ACTING_USER_PARAMETER],
        responses={200: DryRunOutSerializer, **REQUEST_PROBLEMS},
        summary="Ask whether a request would be allowed (audited as a check)",
    )
    def post(self, request: Request) -> Response:
        return _run(request, decision_check)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, the audit head exists and the trail holds the last published checkpoint
    (audit/published.py); the broker and the gpg keyring are reported (they are needed for checkpoints and
    notifications, not to answer requests)."""
    from gateway.health import readiness

    checks = readiness()
    ready = all(c["ok"] for c in checks.values() if c["required"])
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)
