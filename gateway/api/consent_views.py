"""Views of the consent API (api.md, "Consents"): validate, call one service or selector, serialise.

Scope ``consents``, which only organisations of sectors that may record consent get. Who may do what:

- record: an organisation with standing (:func:`consent.consents.recorder_standing`: an active case with the
  subject that it names and takes part in, or every category held by itself); anyone else ``403 no_standing``,
  the same whatever the gateway knows about the BSN;
- search: the consents it recorded or that name it (or its sector) as recipient, for a BSN sent in the body;
  audited as an ``api_view``;
- add givers: only the recording organisation (anyone else: ``404``);
- withdraw: the recording organisation or a recipient (anyone else: ``404``); see
  :func:`consent.consents.may_withdraw` for why a recipient may.

No answer carries anything derived from the gateway's facts about the subject (docs/api.md, section 6).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from consent.consents import (
    GiverInput,
    consent_givers_add,
    consent_record,
    consent_search,
    consent_withdraw,
    consents_visible_to,
)
from consent.models import Consent, Organisation
from gateway.api.consent_serializers import (
    ConsentInSerializer,
    ConsentListOutSerializer,
    ConsentOutSerializer,
    ConsentSearchInSerializer,
    GiversInSerializer,
    Vocabulary,
    WithdrawInSerializer,
    consent_json,
    consent_list_json,
)
from gateway.api.schema import BODY, problems
from gateway.api.views import ACTING_USER_PARAMETER, PartnerAPIView
from gateway.callers import Caller
from gateway.errors import NotFound
from gateway.models import HolderEndpoint
from gateway.request_flow import api_read_record
from gateway.signals import consent_recorded

WRITE_MEANINGS = {
    "s400": "Invalid consent (problem details with errors per field)",
    "s403": "Token lacks the consents scope; or no_standing when recording",
    "s503": "Audit trail unavailable; nothing recorded",
}
CONSENT_ID = OpenApiParameter("consent_id", int, OpenApiParameter.PATH, description="The consent's id.")


def _caller(request: Request) -> Caller:
    caller = request.auth
    assert isinstance(caller, Caller)
    return caller


def _givers(items: list[dict[str, Any]]) -> list[GiverInput]:
    return [GiverInput(bsn=item["bsn"], capacity=item["capacity"]) for item in items]


def held_categories(organisation: Organisation) -> frozenset[str]:
    """The categories ``organisation`` holds: those its active holder endpoints serve (the partner edge knows
    them; a recorder holding every category named has standing to record, see ``consent_record``)."""
    if not organisation.active:
        return frozenset()
    return frozenset(
        code
        for code in HolderEndpoint.objects.filter(organisation=organisation, active=True).values_list(
            "categories__code", flat=True
        )
        if code
    )


def _visible(caller: Caller, consent_id: int) -> Consent:
    consent = consents_visible_to(caller.organisation).filter(pk=consent_id).first()
    if consent is None:
        raise NotFound("There is no such consent for this organisation.")
    return consent


class ConsentRecordView(PartnerAPIView):
    """Record a consent a family member gave; it waits for their confirmation in the portal."""

    required_scope = "consents"
    serializer_class = ConsentInSerializer

    @extend_schema(
        operation_id="consents_create",
        request=ConsentInSerializer,
        parameters=[ACTING_USER_PARAMETER],
        responses={201: ConsentOutSerializer, **problems(*BODY, 503, **WRITE_MEANINGS)},
        summary="Record a consent (awaiting the family's confirmation in the portal)",
    )
    def post(self, request: Request) -> Response:
        caller = _caller(request)
        serializer = ConsentInSerializer(data=request.data, context={"vocabulary": Vocabulary.current()})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = consent_record(
            recorded_by=caller.organisation,
            recorded_by_user=caller.acting_user,
            client_id=caller.client_id,
            subject_bsn=data["subject"]["bsn"],
            given_by=_givers(data["given_by"]),
            explicit=data["explicit"],
            purposes=data["purposes"],
            recipients=data["recipients"],
            categories=data["categories"],
            case_reference=data["case_reference"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            evidence=data["evidence"],
            held_categories=held_categories(caller.organisation),
        )
        consent_recorded.send(sender=Consent, consent_id=result.consent.pk)
        return Response(consent_json(result.consent), status=201)


class ConsentSearchView(PartnerAPIView):
    """The consents about a person that the organisation recorded or that name it as recipient."""

    required_scope = "consents"
    serializer_class = ConsentSearchInSerializer

    @extend_schema(
        operation_id="consents_search",
        request=ConsentSearchInSerializer,
        responses={
            200: ConsentListOutSerializer,
            **problems(
                *BODY, 503, s403="Token lacks the consents scope", s503="Audit trail unavailable; nothing answered"
            ),
        },
        summary="Consents about a person (BSN in the body) that the organisation recorded or receives",
    )
    def post(self, request: Request) -> Response:
        caller = _caller(request)
        query = ConsentSearchInSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        bsn = query.validated_data["subject"]["bsn"]
        consents = consent_search(organisation=caller.organisation, subject_bsn=bsn)
        api_read_record(caller=caller, read="consents", subject_bsn=bsn, detail={"consents": [c.pk for c in consents]})
        return Response(consent_list_json(list(consents)))


class ConsentGiversView(PartnerAPIView):
    """Add givers to a consent the organisation recorded; like recording, the answer says nothing about them."""

    required_scope = "consents"
    serializer_class = GiversInSerializer

    @extend_schema(
        operation_id="consents_givers_add",
        request=GiversInSerializer,
        parameters=[CONSENT_ID, ACTING_USER_PARAMETER],
        responses={
            200: ConsentOutSerializer,
            **problems(
                *BODY,
                404,
                409,
                503,
                **WRITE_MEANINGS,
                s404="No such consent recorded by this organisation",
                s409="The consent is withdrawn or expired",
            ),
        },
        summary="Add givers to a consent (claims, confirmed by the family in the portal)",
    )
    def post(self, request: Request, consent_id: int) -> Response:
        caller = _caller(request)
        serializer = GiversInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = _visible(caller, consent_id)
        result = consent_givers_add(
            consent=consent,
            by_organisation=caller.organisation,
            by_user=caller.acting_user,
            client_id=caller.client_id,
            given_by=_givers(serializer.validated_data["given_by"]),
        )
        return Response(consent_json(result.consent))


class ConsentWithdrawView(PartnerAPIView):
    """Withdraw a consent: effective at once for every later decision, never for the past (AVG art. 7(3))."""

    required_scope = "consents"
    serializer_class = WithdrawInSerializer

    @extend_schema(
        operation_id="consents_withdraw",
        request=WithdrawInSerializer,
        parameters=[CONSENT_ID, ACTING_USER_PARAMETER],
        responses={
            200: ConsentOutSerializer,
            **problems(
                *BODY,
                404,
                409,
                503,
                **WRITE_MEANINGS,
                s404="No such consent for this organisation",
                s409="Already withdrawn, or expired",
            ),
        },
        summary="Withdraw a consent (the recording organisation or a recipient)",
    )
    def post(self, request: Request, consent_id: int) -> Response:
        caller = _caller(request)
        serializer = WithdrawInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = _visible(caller, consent_id)
        withdrawn = consent_withdraw(
            consent=consent,
            by_organisation=caller.organisation,
            by_user=caller.acting_user,
            client_id=caller.client_id,
            reason=serializer.validated_data["reason"],
        )
        return Response(consent_json(withdrawn))
