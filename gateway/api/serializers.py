"""Request shapes of the partner API (api.md), used for validation and the OpenAPI schema; the response shapes
live in :mod:`gateway.shapes` (the actions produce their bodies through them) and are imported from there.

Validation is strict: unknown fields, unknown codes, an invalid BSN and wrong types are ``400`` problems with
one entry per field in ``errors``. A valid information request becomes the action's typed input
(:class:`gateway.request_flow.RequestInput`): ``validated_data`` is that object, never a loose dict.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from consent.bsn import is_valid_bsn
from consent.policy import Policy
from gateway.request_flow import RequestInput

MAX_CATEGORIES = 20
JUSTIFICATION_MIN = 20
JUSTIFICATION_MAX = 2000


class StrictSerializer(serializers.Serializer):
    """Rejects members it does not know instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("This field is not part of the API.", "unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, not a number or a boolean turned into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``, not ``"yes"`` or ``1``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=str(data)[:20])
        return data


class SubjectSerializer(StrictSerializer):
    bsn = StrictCharField(help_text="Burgerservicenummer: nine digits that pass the eleven test.")

    def validate_bsn(self, value: str) -> str:
        if not is_valid_bsn(value):
            raise serializers.ValidationError("Not a valid BSN (nine digits, eleven test).", code="invalid_bsn")
        return value


class InformationRequestInSerializer(StrictSerializer):
    subject = SubjectSerializer()
    categories = serializers.ListField(
        child=StrictCharField(max_length=64),
        min_length=1,
        max_length=MAX_CATEGORIES,
        help_text="1 to 20 distinct data category codes.",
    )
    purpose = StrictCharField(max_length=64)
    case_reference = StrictCharField(max_length=64, required=False, allow_null=True)
    emergency = StrictBooleanField(required=False, default=False)
    justification = StrictCharField(
        max_length=JUSTIFICATION_MAX,
        required=False,
        allow_null=True,
        trim_whitespace=True,
        help_text="20 to 2,000 characters; required for emergency access and where the legal basis demands it.",
    )
    providers = serializers.DictField(
        child=StrictCharField(max_length=64),
        required=False,
        help_text="Optional: the holding organisation per category, where more than one holds it.",
    )

    def validate(self, attrs: dict[str, Any]) -> RequestInput:
        policy: Policy = self.context["policy"]
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        seen: set[str] = set()
        for position, code in enumerate(attrs["categories"]):
            if code not in policy.categories:
                errors[f"categories[{position}]"] = [
                    serializers.ErrorDetail(f"Unknown data category '{code[:64]}'.", "unknown_category")
                ]
            elif code in seen:
                errors[f"categories[{position}]"] = [
                    serializers.ErrorDetail(f"Category '{code}' is asked twice.", "duplicate_category")
                ]
            seen.add(code)
        if attrs["purpose"] not in policy.purposes:
            errors["purpose"] = [serializers.ErrorDetail("Unknown purpose.", "unknown_purpose")]
        for category, holder in (attrs.get("providers") or {}).items():
            if category not in attrs["categories"]:
                errors[f"providers.{category[:64]}"] = [
                    serializers.ErrorDetail("Names a category that is not asked.", "unknown_category")
                ]
            elif holder not in policy.organisations:
                errors[f"providers.{category}"] = [
                    serializers.ErrorDetail(f"Unknown organisation '{holder[:64]}'.", "unknown_organisation")
                ]
        justification = (attrs.get("justification") or "").strip()
        if justification and len(justification) < JUSTIFICATION_MIN:
            errors["justification"] = [
                serializers.ErrorDetail("A justification has at least 20 characters.", "too_short")
            ]
        elif attrs.get("emergency") and not justification:
            errors["justification"] = [
                serializers.ErrorDetail(
                    "Emergency access needs a justification of 20 to 2,000 characters.",
                    "justification_required",
                )
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return RequestInput(
            subject_bsn=attrs["subject"]["bsn"],
            categories=tuple(attrs["categories"]),
            purpose=attrs["purpose"],
            case_reference=(attrs.get("case_reference") or "").strip() or None,
            emergency=bool(attrs.get("emergency")),
            justification=justification,
            providers=dict(attrs.get("providers") or {}),
        )


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Path of the member, e.g. `categories[1]` or `given_by[0].capacity`.")
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (``application/problem+json``), built by :mod:`gateway.api.problems`."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]
