"""Push disclosures (docs/api.md, "Push disclosures"): a holder shares on its own initiative (scope ``provider``),
and the recipient reads what it received (scope ``requests``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from consent.policy import Policy
from consent.selectors import policy_current
from gateway.api.schema import BODY, problems
from gateway.api.serializers import (
    JUSTIFICATION_MAX,
    JUSTIFICATION_MIN,
    StrictCharField,
    StrictSerializer,
    SubjectSerializer,
)
from gateway.api.views import (
    ACTING_USER_PARAMETER,
    IDEMPOTENCY_PARAMETER,
    LIMIT_PARAMETER,
    PartnerAPIView,
    RequestPagination,
    _caller,
    _idempotency_key,
)
from gateway.disclosures import DisclosureInput, disclosure_push
from gateway.holders.minimise import value_valid
from gateway.models import InformationRequest
from gateway.request_flow import api_read_record
from gateway.shapes import DisclosureReceivedOutSerializer, DisclosureSentOutSerializer, disclosure_received_json

MAX_FIELDS = 100


class DisclosureInSerializer(StrictSerializer):
    recipient = StrictCharField(max_length=64, help_text="The receiving organisation's slug.")
    subject = SubjectSerializer()
    category = StrictCharField(max_length=64)
    purpose = StrictCharField(max_length=64)
    case_reference = StrictCharField(max_length=64, required=False, allow_null=True)
    justification = StrictCharField(
        max_length=JUSTIFICATION_MAX,
        required=False,
        allow_null=True,
        help_text="20 to 2,000 characters: why you share; where the legal basis leaves the judgement to you, this "
        "is your recorded weighing.",
    )
    data = serializers.DictField(  # type: ignore[assignment]  # the API member is called data
        help_text="The category's fields (of their declared types); no other member is accepted."
    )

    def validate(self, attrs: dict[str, Any]) -> DisclosureInput:
        policy: Policy = self.context["policy"]
        sender: str = self.context["sender"]
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        recipient = policy.organisations.get(attrs["recipient"])
        if recipient is None or not recipient.active:
            errors["recipient"] = [serializers.ErrorDetail("Unknown organisation.", "unknown_organisation")]
        elif recipient.slug == sender:
            errors["recipient"] = [serializers.ErrorDetail("You cannot disclose to yourself.", "invalid")]
        view = policy.categories.get(attrs["category"])
        if view is None:
            errors["category"] = [serializers.ErrorDetail("Unknown data category.", "unknown_category")]
        if attrs["purpose"] not in policy.purposes:
            errors["purpose"] = [serializers.ErrorDetail("Unknown purpose.", "unknown_purpose")]
        data = attrs["data"]
        if not data:
            errors["data"] = [serializers.ErrorDetail("At least one field of the category.", "required")]
        elif len(data) > MAX_FIELDS:
            errors["data"] = [serializers.ErrorDetail("Too many members.", "too_long")]
        elif view is not None:
            types = dict(view.fields)
            for name, value in data.items():
                if name not in types:
                    errors[f"data.{name[:64]}"] = [
                        serializers.ErrorDetail("Not a field of this category.", "unknown_field")
                    ]
                elif not value_valid(value, types[name]):
                    errors[f"data.{name}"] = [serializers.ErrorDetail(f"Not a {types[name]}.", "invalid_type")]
        justification = (attrs.get("justification") or "").strip()
        if justification and len(justification) < JUSTIFICATION_MIN:
            errors["justification"] = [
                serializers.ErrorDetail("A justification has at least 20 characters.", "too_short")
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return DisclosureInput(
            recipient=attrs["recipient"],
            subject_bsn=attrs["subject"]["bsn"],
            category=attrs["category"],
            purpose=attrs["purpose"],
            data=dict(data),
            case_reference=(attrs.get("case_reference") or "").strip() or None,
            justification=justification,
        )


class DisclosurePagination(RequestPagination):
    """The same pages and ``limit`` as the requests list."""


class DisclosureView(PartnerAPIView):
    """POST: share on your own initiative as data holder (scope ``provider``). GET: the disclosures your
    organisation received (scope ``requests``), newest first."""

    serializer_class = DisclosureInSerializer
    pagination_class = DisclosurePagination

    @property
    def required_scope(self) -> str:  # type: ignore[override]
        method = getattr(getattr(self, "request", None), "method", "GET")
        return "provider" if method == "POST" else "requests"

    def get_queryset(self) -> Any:
        return (
            InformationRequest.objects.filter(
                organisation=_caller(self.request).organisation,
                pushed_by__isnull=False,
                status="released",
                decisions__shielded=False,
            )
            .select_related("pushed_by")
            .prefetch_related("decisions")
        )

    @extend_schema(
        operation_id="disclosures_create",
        request=DisclosureInSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, ACTING_USER_PARAMETER],
        responses={
            201: OpenApiResponse(DisclosureSentOutSerializer, description="Decided and recorded: released or denied"),
            **problems(*BODY, 409, 503, s409="Idempotency-Key reused with another body"),
        },
        summary="Share information on your own initiative as data holder",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        policy = policy_current()
        caller = _caller(request)
        serializer = DisclosureInSerializer(
            data=request.data, context={"policy": policy, "sender": caller.organisation.slug}
        )
        serializer.is_valid(raise_exception=True)
        result = disclosure_push(caller=caller, payload=serializer.validated_data, policy=policy, idempotency_key=key)
        return Response(result.body, status=result.status_code)

    @extend_schema(
        operation_id="disclosures_list",
        responses={
            200: DisclosureReceivedOutSerializer(many=True),
            **problems(400, 404, 503, s404="The cursor is not valid", s503="Audit trail unavailable; nothing answered"),
        },
        parameters=[LIMIT_PARAMETER],
        summary="List the disclosures your organisation received, newest first",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        bodies = [disclosure_received_json(d) for d in page]
        api_read_record(
            caller=_caller(request),
            read="disclosures_list",
            detail={
                "disclosures": [b["id"] for b in bodies],
                "with_data": [b["id"] for b in bodies if b["data"] is not None],
            },
        )
        return self.get_paginated_response(bodies)
