"""Informing a suspect (scope ``provider``): clear an entry for his portal, or postpone informing him
(Wmo 2015 art. 5.3.1 lid 2-4; UAVG art. 41(1)(i); the rule in :mod:`gateway.notices`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from gateway import notices
from gateway.api.schema import BODY, problems
from gateway.api.serializers import JUSTIFICATION_MAX, JUSTIFICATION_MIN, StrictSerializer
from gateway.api.views import PartnerAPIView, _caller
from gateway.shapes import NoticeOutSerializer, notice_json

CLEAR, POSTPONE = "clear", "postpone"


class StrictDateField(serializers.DateField):
    """A JSON string ``YYYY-MM-DD``, not a number."""

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class NoticeInSerializer(StrictSerializer):
    action = serializers.ChoiceField(
        choices=[CLEAR, POSTPONE],
        help_text="`clear`: the subject may see the entry from now on. `postpone`: inform him later, on `until`.",
    )
    until = StrictDateField(required=False, help_text="With `postpone`: the new informing day (YYYY-MM-DD).")
    reason = serializers.CharField(
        required=False,
        max_length=JUSTIFICATION_MAX,
        trim_whitespace=True,
        help_text="With `postpone`: why informing must wait, 20 to 2,000 characters. Kept by the gateway for the "
        "privacy officer, never in the audit trail, never shown to the subject.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            wrong = [name for name in ("action", "reason") if name in data and not isinstance(data[name], str)]
            if wrong:
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail("A string.", "invalid_type")] for name in wrong}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        if attrs["action"] == POSTPONE:
            if "until" not in attrs:
                errors["until"] = [serializers.ErrorDetail("A postponement needs the new informing day.", "required")]
            if len(attrs.get("reason") or "") < JUSTIFICATION_MIN:
                code = "too_short" if attrs.get("reason") else "required"
                errors["reason"] = [
                    serializers.ErrorDetail("A postponement needs a reason of 20 to 2,000 characters.", code)
                ]
        else:
            for name in ("until", "reason"):
                if name in attrs:
                    errors[name] = [serializers.ErrorDetail("Only with `postpone`.", "unknown_field")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class HolderNoticeView(PartnerAPIView):
    """Clear or postpone informing the subject of an entry. Allowed to an organisation that holds one of the
    entry's categories, or to a Veilig Thuis organisation in an active case of the subject; anyone else gets the
    same ``404`` as for a request that does not exist."""

    required_scope = "provider"
    serializer_class = NoticeInSerializer

    @extend_schema(
        operation_id="holder_notice",
        request=NoticeInSerializer,
        responses={
            200: NoticeOutSerializer,
            **problems(
                *BODY,
                404,
                409,
                503,
                s404="No such entry for this organisation",
                s409="Cleared already, or the informing day has passed (`already_informed`)",
            ),
        },
        examples=[
            OpenApiExample("Clear", value={"action": CLEAR}, request_only=True),
            OpenApiExample(
                "Postpone",
                value={
                    "action": POSTPONE,
                    "until": "2027-02-15",
                    "reason": "The safety assessment runs; informing him now would endanger the reporter.",
                },
                request_only=True,
            ),
        ],
        summary="Clear an entry for its subject's portal, or postpone informing him",
    )
    def post(self, request: Request, request_id: str) -> Response:
        serializer = NoticeInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = _caller(request)
        if data["action"] == CLEAR:
            notice = notices.notice_clear(
                organisation=caller.organisation, actor=caller.actor(), request_id=request_id[:40]
            )
        else:
            notice = notices.notice_postpone(
                organisation=caller.organisation,
                actor=caller.actor(),
                request_id=request_id[:40],
                until=data["until"],
                reason=data["reason"],
            )
        return Response(notice_json(notice))
