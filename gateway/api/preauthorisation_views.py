"""Case-level pre-authorisations by a holder (docs/api.md, "Pre-authorisations"; scope ``provider``).

Where the law leaves the judgement to the holder (Wmo 2015 art. 4.1.1 lid 2 sub d/e, ...), the holder may weigh
once for a case: e.g. Veilig Thuis decides, in a high-risk case, that the police and the OM may receive the risk
picture until a date. The decision then cites the pre-authorisation instead of waiting for the holder. Grant, list
and withdraw are audited actions of :mod:`consent.preauthorisations`; a case the holder takes no part in is the
same ``404`` as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from consent.models import Organisation, Sector
from consent.policy import Policy
from consent.selectors import policy_current
from gateway.api.holder_views import WEIGHING_MAX, WEIGHING_MIN
from gateway.api.schema import BODY, problems
from gateway.api.serializers import StrictCharField, StrictSerializer
from gateway.api.views import PartnerAPIView, _caller
from gateway.errors import NotFound
from gateway.preauthorisations import PreauthorisationInput, case_of_holder, preauthorisations_active
from gateway.request_flow import api_read_record
from gateway.shapes import (
    PreauthorisationListOutSerializer,
    PreauthorisationOutSerializer,
    preauthorisation_json,
    preauthorisation_list_json,
)

MAX_CODES = 20


class PreauthorisationInSerializer(StrictSerializer):
    case_reference = StrictCharField(max_length=64)
    recipient_organisation = StrictCharField(max_length=64, required=False, allow_null=True)
    recipient_sector = StrictCharField(max_length=64, required=False, allow_null=True)
    categories = serializers.ListField(child=StrictCharField(max_length=64), min_length=1, max_length=MAX_CODES)
    purposes = serializers.ListField(child=StrictCharField(max_length=64), min_length=1, max_length=MAX_CODES)
    valid_until = serializers.DateField(help_text="The last day it holds; at most GATEWAY_PREAUTHORISATION_MAX_DAYS.")
    weighing = StrictCharField(
        min_length=WEIGHING_MIN,
        max_length=WEIGHING_MAX,
        help_text="Your weighing (belangenafweging), 20 to 2000 characters; kept with the pre-authorisation, its "
        "SHA-256 in the audit trail.",
    )

    def validate(self, attrs: dict[str, Any]) -> PreauthorisationInput:
        policy: Policy = self.context["policy"]
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        organisation = attrs.get("recipient_organisation") or None
        sector = attrs.get("recipient_sector") or None
        if (organisation is None) == (sector is None):
            errors["recipient_organisation"] = [
                serializers.ErrorDetail("Name exactly one of recipient_organisation and recipient_sector.", "invalid")
            ]
        elif organisation is not None and organisation not in policy.organisations:
            errors["recipient_organisation"] = [
                serializers.ErrorDetail("Unknown organisation.", "unknown_organisation")
            ]
        elif sector is not None and sector not in {o.sector for o in policy.organisations.values()}:
            errors["recipient_sector"] = [serializers.ErrorDetail("Unknown sector.", "unknown_sector")]
        for position, code in enumerate(attrs["categories"]):
            if code not in policy.categories:
                errors[f"categories[{position}]"] = [
                    serializers.ErrorDetail("Unknown data category.", "unknown_category")
                ]
        for position, code in enumerate(attrs["purposes"]):
            if code not in policy.purposes:
                errors[f"purposes[{position}]"] = [serializers.ErrorDetail("Unknown purpose.", "unknown_purpose")]
        if errors:
            raise serializers.ValidationError(errors)
        return PreauthorisationInput(
            case_reference=attrs["case_reference"].strip(),
            recipient_organisation=organisation,
            recipient_sector=sector,
            categories=tuple(dict.fromkeys(attrs["categories"])),
            purposes=tuple(dict.fromkeys(attrs["purposes"])),
            valid_until=attrs["valid_until"],
            weighing=attrs["weighing"].strip(),
        )


class PreauthorisationListView(PartnerAPIView):
    """Grant a pre-authorisation for a case you take part in, or list your active ones."""

    required_scope = "provider"
    serializer_class = PreauthorisationInSerializer

    @extend_schema(
        operation_id="preauthorisations_create",
        request=PreauthorisationInSerializer,
        responses={
            201: OpenApiResponse(PreauthorisationOutSerializer, description="Granted and recorded"),
            **problems(
                *BODY,
                404,
                503,
                s400="Invalid request (also a period longer than allowed, or ending in the past)",
                s404="No such case for this organisation (also a case it takes no part in)",
            ),
        },
        summary="Pre-authorise a recipient for a case, after weighing once",
    )
    def post(self, request: Request) -> Response:
        caller = _caller(request)
        serializer = PreauthorisationInSerializer(data=request.data, context={"policy": policy_current()})
        serializer.is_valid(raise_exception=True)
        asked: PreauthorisationInput = serializer.validated_data
        from consent.preauthorisations import preauthorisation_grant

        case = case_of_holder(caller.organisation, asked.case_reference)
        granted = preauthorisation_grant(
            holder=caller.organisation,
            case=case,
            recipient_organisation=Organisation.objects.get(slug=asked.recipient_organisation)
            if asked.recipient_organisation
            else None,
            recipient_sector=Sector.objects.get(code=asked.recipient_sector) if asked.recipient_sector else None,
            categories=list(asked.categories),
            purposes=list(asked.purposes),
            valid_until=asked.valid_until,
            weighing=asked.weighing,
            actor=caller.actor(),
        )
        return Response(preauthorisation_json(granted), status=201)

    @extend_schema(
        operation_id="preauthorisations_list",
        responses={
            200: PreauthorisationListOutSerializer,
            **problems(503, s503="Audit trail unavailable; nothing answered"),
        },
        summary="List your active pre-authorisations",
    )
    def get(self, request: Request) -> Response:
        caller = _caller(request)
        rows = list(preauthorisations_active(caller.organisation, on=timezone.localdate())[:500])
        api_read_record(caller=caller, read="preauthorisations", detail={"preauthorisations": [p.pk for p in rows]})
        return Response(preauthorisation_list_json(rows))


class PreauthorisationWithdrawView(PartnerAPIView):
    """Withdraw one of your pre-authorisations; decisions from now on wait for you again."""

    required_scope = "provider"
    serializer_class = PreauthorisationOutSerializer

    @extend_schema(
        operation_id="preauthorisations_withdraw",
        request=None,
        responses={
            200: PreauthorisationOutSerializer,
            **problems(404, 409, 503, s409="Already withdrawn"),
        },
        summary="Withdraw a pre-authorisation",
    )
    def post(self, request: Request, preauthorisation_id: int) -> Response:
        from consent.preauthorisations import preauthorisation_withdraw

        caller = _caller(request)
        if preauthorisation_id > 2**62:
            raise NotFound("There is no such pre-authorisation for this organisation.")
        withdrawn = preauthorisation_withdraw(
            holder=caller.organisation, preauthorisation_id=preauthorisation_id, actor=caller.actor()
        )
        return Response(preauthorisation_json(withdrawn))
