"""The holder's side of the API (scope ``provider``): list and settle pending items."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from gateway import pending
from gateway.api.schema import BODY, problems
from gateway.api.serializers import StrictCharField, StrictSerializer
from gateway.api.views import PartnerAPIView, _caller
from gateway.request_flow import api_read_record
from gateway.shapes import PendingItemOutSerializer, PendingListOutSerializer, pending_json, pending_list_json

WEIGHING_MIN, WEIGHING_MAX = 20, 2000


class HolderDecisionInSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[pending.APPROVE, pending.DECLINE])
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    weighing = StrictCharField(
        min_length=WEIGHING_MIN,
        max_length=WEIGHING_MAX,
        required=False,
        help_text="Your weighing (belangenafweging), 20 to 2000 characters; required to approve an item with "
        "weighing_required. Kept with the item; the audit trail holds its SHA-256.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("decision", ""), str):
            raise serializers.ValidationError({"decision": [serializers.ErrorDetail("A string.", "invalid")]})
        return super().to_internal_value(data)


class HolderPendingListView(PartnerAPIView):
    """Items waiting for this organisation's decision as data holder, urgent ones first."""

    required_scope = "provider"
    serializer_class = PendingItemOutSerializer

    @extend_schema(
        operation_id="holder_pending_list",
        responses={
            200: PendingListOutSerializer,
            **problems(503, s503="Audit trail unavailable; nothing answered"),
        },
        summary="List the requests waiting for your decision as data holder",
    )
    def get(self, request: Request) -> Response:
        caller = _caller(request)
        items = list(pending.pending_for_holder(caller)[:500])
        api_read_record(caller=caller, read="holder_pending", detail={"pending_items": [item.id for item in items]})
        return Response(pending_list_json(items))


class HolderPendingDecideView(PartnerAPIView):
    """Approve (the gateway fetches from you and releases) or decline (denied with ``holder_declined``)."""

    required_scope = "provider"
    serializer_class = HolderDecisionInSerializer

    @extend_schema(
        operation_id="holder_pending_decide",
        request=HolderDecisionInSerializer,
        responses={
            200: PendingItemOutSerializer,
            **problems(
                *BODY,
                404,
                409,
                503,
                s400="Invalid request, or weighing_required: the basis leaves the judgement to you and the "
                "approval has no weighing",
                s409="Already settled or expired",
                s503="Audit trail unavailable, or your system could not be reached (provider_unavailable)",
            ),
        },
        summary="Settle a pending item",
    )
    def post(self, request: Request, item_id: str) -> Response:
        serializer = HolderDecisionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = pending.holder_decide(
            caller=_caller(request),
            item_id=item_id[:40],
            decision=serializer.validated_data["decision"],
            note=serializer.validated_data.get("note") or "",
            weighing=(serializer.validated_data.get("weighing") or "").strip(),
        )
        return Response(pending_json(item))
