"""The baseline endpoint: authenticate the bearer token, validate a small body, one INSERT in a transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks.baseline.models import Submission

SLUG = r"^[a-z][a-z0-9_]{0,63}$"


class SubjectSerializer(serializers.Serializer):
    bsn = serializers.RegexField(r"^[0-9]{9}$")


class SubmissionSerializer(serializers.Serializer):
    subject = SubjectSerializer()
    categories = serializers.ListField(child=serializers.RegexField(SLUG), min_length=1, max_length=24)
    purpose = serializers.RegexField(SLUG)
    case_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class SubmissionView(APIView):
    required_scopes = ["requests"]

    def post(self, request: Request) -> Response:
        serializer = SubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            stored = Submission.objects.create(
                subject_bsn=data["subject"]["bsn"],
                categories=data["categories"],
                purpose=data["purpose"],
                case_reference=data["case_reference"],
                client_id=_client_id(request.auth),
            )
        return Response({"id": stored.pk, "status": "received"}, status=200)


def _client_id(token: Any) -> str:
    return str(token.application.client_id)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
