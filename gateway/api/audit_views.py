"""The audit part of the partner API (api.md, "Audit trail"; scope ``audit``): checkpoints and proofs, so that
any partner or regulator can verify the trail with their own tools."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from audit.checkpoints import checkpoint_json
from audit.models import Checkpoint, SigningKeyRecord
from audit.tree import BeyondTrail, consistency_proof_at, inclusion_proof_at, tree_size
from gateway.api.problems import Problem, field_error, invalid_request
from gateway.api.schema import problems
from gateway.api.views import PartnerAPIView

MAX_CHECKPOINTS = 100


class CheckpointSerializer(serializers.Serializer):
    origin = serializers.CharField()
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="Lowercase hex SHA-256.")
    body = serializers.CharField(help_text="C2SP tlog-checkpoint body, the signed bytes.")
    signature = serializers.CharField(help_text="ASCII-armoured OpenPGP detached signature of body.")
    key_fingerprint = serializers.CharField()
    signed_at = serializers.DateTimeField()


PARAMETER_PROBLEMS = problems(400, s400="Bad parameters")


def _int_param(request: Request, name: str, minimum: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise invalid_request([field_error(name, "required", f"'{name}' is required.")])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise invalid_request([field_error(name, "invalid", f"'{name}' must be a whole number.")])
    value = int(raw)
    if value < minimum:
        raise invalid_request([field_error(name, "too_small", f"'{name}' must be at least {minimum}.")])
    return value


def _beyond_tree(name: str) -> Problem:
    return invalid_request([field_error(name, "beyond_tree", f"'{name}' is larger than the audit trail.")])


def _size_within_tree(name: str, value: int) -> None:
    """The check on its own, for the paths that report another error after it (the proofs read the trail's size
    with the tree, in their one query)."""
    if value > tree_size():
        raise _beyond_tree(name)


class AuditAPIView(PartnerAPIView):
    required_scope = "audit"


class LatestCheckpointView(AuditAPIView):
    @extend_schema(
        operation_id="audit_checkpoint_latest",
        responses={200: CheckpointSerializer, **problems(404, s404="No checkpoint signed yet")},
    )
    def get(self, request: Request) -> Response:
        checkpoint = Checkpoint.objects.order_by("-tree_size").first()
        if checkpoint is None:
            raise Problem(404, "not_found", "No checkpoint yet", "No checkpoint has been signed yet.")
        return Response(checkpoint_json(checkpoint))


class CheckpointListView(AuditAPIView):
    @extend_schema(
        operation_id="audit_checkpoints",
        parameters=[OpenApiParameter("after", int, required=True, description="Checkpoints with a larger tree size")],
        responses={
            200: inline_serializer("CheckpointList", {"checkpoints": CheckpointSerializer(many=True)}),
            **PARAMETER_PROBLEMS,
        },
    )
    def get(self, request: Request) -> Response:
        after = _int_param(request, "after")
        checkpoints = Checkpoint.objects.filter(tree_size__gt=after).order_by("tree_size")[:MAX_CHECKPOINTS]
        return Response({"checkpoints": [checkpoint_json(c) for c in checkpoints]})


class InclusionProofView(AuditAPIView):
    @extend_schema(
        operation_id="audit_inclusion_proof",
        parameters=[OpenApiParameter("index", int, required=True), OpenApiParameter("tree_size", int, required=True)],
        responses={
            200: inline_serializer(
                "InclusionProof",
                {
                    "index": serializers.IntegerField(),
                    "tree_size": serializers.IntegerField(),
                    "leaf_hash": serializers.CharField(),
                    "root_hash": serializers.CharField(),
                    "proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **PARAMETER_PROBLEMS,
        },
    )
    def get(self, request: Request) -> Response:
        index = _int_param(request, "index")
        size = _int_param(request, "tree_size", minimum=1)
        if index >= size:
            _size_within_tree("tree_size", size)  # a tree size beyond the trail is reported first
            raise invalid_request([field_error("index", "beyond_tree", "'index' must be smaller than 'tree_size'.")])
        try:  # the trail's size, the leaf, the root and the path in one read
            read = inclusion_proof_at(index, size, within_trail=True)
        except BeyondTrail:
            raise _beyond_tree("tree_size") from None
        return Response(
            {
                "index": index,
                "tree_size": size,
                "leaf_hash": read.leaf_hash.hex(),
                "root_hash": read.root.hex(),
                "proof": [h.hex() for h in read.proof],
            }
        )


class ConsistencyProofView(AuditAPIView):
    @extend_schema(
        operation_id="audit_consistency_proof",
        parameters=[OpenApiParameter("first", int, required=True), OpenApiParameter("second", int, required=True)],
        responses={
            200: inline_serializer(
                "ConsistencyProof",
                {
                    "first": serializers.IntegerField(),
                    "second": serializers.IntegerField(),
                    "first_root": serializers.CharField(),
                    "second_root": serializers.CharField(),
                    "proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **PARAMETER_PROBLEMS,
        },
    )
    def get(self, request: Request) -> Response:
        first = _int_param(request, "first", minimum=1)
        second = _int_param(request, "second", minimum=1)
        if first > second:
            _size_within_tree("second", second)  # a size beyond the trail is reported first
            raise invalid_request([field_error("first", "invalid", "'first' must not be larger than 'second'.")])
        try:  # the trail's size, both roots and the proof in one read
            read = consistency_proof_at(first, second, within_trail=True)
        except BeyondTrail:
            raise _beyond_tree("second") from None
        return Response(
            {
                "first": first,
                "second": second,
                "first_root": read.first_root.hex(),
                "second_root": read.second_root.hex(),
                "proof": [h.hex() for h in read.proof],
            }
        )


def public_key(request: HttpRequest) -> HttpResponse:
    """Every public key the gateway has signed checkpoints with, newest first, ASCII-armoured (no token needed).
    Older keys stay so that checkpoints signed before a rotation keep verifying. Read from the database: gpg
    stays off the request path."""
    keys = list(SigningKeyRecord.objects.order_by("-created_at", "-pk").values_list("public_armored", flat=True))
    if not keys:
        from gateway.api.problems import problem_json

        return problem_json(request, 404, "not_found", "No signing key yet", "No checkpoint has been signed yet.")
    return HttpResponse("\n".join(k.strip() + "\n" for k in keys), content_type="application/pgp-keys; charset=utf-8")
