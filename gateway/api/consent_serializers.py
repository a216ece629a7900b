"""Request and response shapes of the consent part of the partner API (api.md, "Consents").

Validation is as strict as for information requests (``gateway/api/serializers.py``): unknown members, unknown
codes, invalid BSNs, wrong types, bad dates, more than 20 entries in a list and duplicates are ``400`` problems
with one entry per field, named by path (``given_by[1].capacity``, ``recipients[0]``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from consent import choices
from consent.bsn import is_valid_bsn
from consent.consents import SECTOR_PREFIX, recipient_codes
from consent.models import Consent, DataCategory, Organisation, Purpose, Sector
from gateway.api.serializers import StrictBooleanField, StrictCharField, StrictSerializer, SubjectSerializer
from gateway.shapes import shaped

MAX_ENTRIES = 20
EVIDENCE_MAX = 2000
REASON_MAX = 2000


@dataclass(frozen=True)
class Vocabulary:
    """The codes a consent may name: categories, purposes, active organisations and sectors."""

    categories: frozenset[str]
    purposes: frozenset[str]
    organisations: frozenset[str]
    sectors: frozenset[str]

    @classmethod
    def current(cls) -> Vocabulary:
        return cls(
            categories=frozenset(DataCategory.objects.values_list("code", flat=True)),
            purposes=frozenset(Purpose.objects.values_list("code", flat=True)),
            organisations=frozenset(Organisation.objects.filter(active=True).values_list("slug", flat=True)),
            sectors=frozenset(Sector.objects.values_list("code", flat=True)),
        )


class StrictChoiceField(serializers.ChoiceField):
    """One of the listed strings; ``1`` or ``true`` is not turned into one."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=str(data)[:20])
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    """A JSON string ``YYYY-MM-DD``, nothing else."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["iso-8601"])
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str) or len(value) != 10:
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


def _codes(help_text: str, max_length: int = 64) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=max_length),
        min_length=1,
        max_length=MAX_ENTRIES,
        help_text=help_text,
    )


class GiverInSerializer(StrictSerializer):
    """A person who gave the consent and the capacity in which they gave it."""

    bsn = StrictCharField(help_text="BSN of the person who gave the consent.")
    capacity = StrictChoiceField(
        choices=choices.ConsentCapacity.choices,
        help_text="self (the subject), parent_with_custody or guardian: a claim, confirmed by the family in the "
        "portal, never by the gateway in its answer.",
    )

    def validate_bsn(self, value: str) -> str:
        if not is_valid_bsn(value):
            raise serializers.ValidationError("Not a valid BSN (nine digits, eleven test).", code="invalid_bsn")
        return value


def _givers_field() -> serializers.ListSerializer:
    return serializers.ListSerializer(
        child=GiverInSerializer(),
        allow_empty=False,
        max_length=MAX_ENTRIES,
        help_text="1 to 20 persons who gave the consent, each in their capacity.",
    )


def _duplicate_givers(givers: list[dict[str, Any]]) -> dict[str, list[serializers.ErrorDetail]]:
    errors: dict[str, list[serializers.ErrorDetail]] = {}
    seen: set[str] = set()
    for position, giver in enumerate(givers):
        if giver["bsn"] in seen:
            errors[f"given_by[{position}].bsn"] = [
                serializers.ErrorDetail("This person is named twice.", "duplicate_giver")
            ]
        seen.add(giver["bsn"])
    return errors


class ConsentInSerializer(StrictSerializer):
    """A consent to record. Unknown members, codes and BSNs are refused, field by field."""

    subject = SubjectSerializer()
    given_by = _givers_field()
    explicit = StrictBooleanField(help_text="Explicit consent (AVG art. 9(2)(a)); required for special categories.")
    purposes = _codes("1 to 20 distinct purpose codes.")
    recipients = _codes("1 to 20 distinct organisation slugs or sector:<code>.", max_length=80)
    categories = _codes("1 to 20 distinct data category codes.")
    case_reference = StrictCharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="An active case the recording organisation takes part in and the subject has a role in; not "
        "needed for categories the organisation holds itself (then a case it takes part in, limiting the consent).",
    )
    valid_from = StrictDateField(help_text="First day (YYYY-MM-DD).")
    valid_until = StrictDateField(required=False, allow_null=True, help_text="Last day (YYYY-MM-DD), optional.")
    evidence = StrictCharField(
        max_length=EVIDENCE_MAX, trim_whitespace=True, help_text="How and when the consent was given (1 to 2,000)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        vocabulary: Vocabulary = self.context["vocabulary"]
        errors = _duplicate_givers(attrs["given_by"])
        for name, known, unknown_code in (
            ("categories", vocabulary.categories, "unknown_category"),
            ("purposes", vocabulary.purposes, "unknown_purpose"),
        ):
            seen: set[str] = set()
            for position, code in enumerate(attrs[name]):
                if code not in known:
                    errors[f"{name}[{position}]"] = [serializers.ErrorDetail("Unknown code.", unknown_code)]
                elif code in seen:
                    errors[f"{name}[{position}]"] = [serializers.ErrorDetail("Named twice.", "duplicate")]
                seen.add(code)
        seen_recipients: set[str] = set()
        for position, recipient in enumerate(attrs["recipients"]):
            path = f"recipients[{position}]"
            if recipient.startswith(SECTOR_PREFIX):
                if recipient.removeprefix(SECTOR_PREFIX) not in vocabulary.sectors:
                    errors[path] = [serializers.ErrorDetail("Unknown sector.", "unknown_sector")]
            elif recipient not in vocabulary.organisations:
                errors[path] = [serializers.ErrorDetail("Unknown organisation.", "unknown_organisation")]
            if path not in errors and recipient in seen_recipients:
                errors[path] = [serializers.ErrorDetail("Named twice.", "duplicate")]
            seen_recipients.add(recipient)
        valid_until = attrs.get("valid_until")
        if valid_until is not None and valid_until < attrs["valid_from"]:
            errors["valid_until"] = [serializers.ErrorDetail("valid_until is before valid_from.", "before_valid_from")]
        elif valid_until is not None and valid_until < timezone.localdate():
            errors["valid_until"] = [serializers.ErrorDetail("valid_until lies in the past.", "in_the_past")]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["case_reference"] = (attrs.get("case_reference") or "").strip() or None
        attrs["valid_until"] = valid_until
        return attrs


class GiversInSerializer(StrictSerializer):
    """More givers for a consent the organisation recorded."""

    given_by = _givers_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = _duplicate_givers(attrs["given_by"])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class WithdrawInSerializer(StrictSerializer):
    """A withdrawal and the reason the person gave."""

    reason = StrictCharField(
        max_length=REASON_MAX, trim_whitespace=True, help_text="Why, as told by the person (1 to 2,000 characters)."
    )


class ConsentSearchInSerializer(StrictSerializer):
    """Whose consents: the BSN travels in the body, never in a URL (access logs keep query strings)."""

    subject = SubjectSerializer()


# --- Responses ----------------------------------------------------------------------------------------------


class ConsentSubjectOutSerializer(serializers.Serializer):
    bsn = serializers.CharField()


class GiverOutSerializer(serializers.Serializer):
    bsn = serializers.CharField()
    capacity = serializers.CharField(help_text="self | parent_with_custody | guardian, as the recorder named it")
    confirmed = serializers.BooleanField(help_text="This person confirmed in the family portal that they gave it.")
    given_at = serializers.DateTimeField()


class ConsentOutSerializer(serializers.Serializer):
    """A recorded consent. Nothing in it derives from the gateway's facts about the subject: the status changes
    only through what the family does in the portal."""

    id = serializers.IntegerField()
    status = serializers.CharField(help_text="awaiting_confirmation | active | withdrawn | expired")
    subject = ConsentSubjectOutSerializer()
    given_by = GiverOutSerializer(many=True, help_text="The givers organisations named, in the order named.")
    explicit = serializers.BooleanField()
    purposes = serializers.ListField(child=serializers.CharField())
    recipients = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())
    case_reference = serializers.CharField(allow_null=True)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    evidence = serializers.CharField()
    recorded_by = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawal_reason = serializers.CharField(allow_null=True)


class ConsentListOutSerializer(serializers.Serializer):
    """The consents about a person that the organisation may see, newest first."""

    results = ConsentOutSerializer(many=True)


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def consent_json(consent: Consent) -> dict[str, Any]:
    """The consent as api.md shows it. Givers a family member added in the portal are left out (they would
    tell who else has custody); a dispute shows as a withdrawal without a reason."""
    values = {
        "id": consent.pk,
        "status": consent.status,
        "subject": {"bsn": consent.subject_bsn},
        "given_by": [
            {
                "bsn": giver.bsn,
                "capacity": giver.capacity,
                "confirmed": giver.confirmed_at is not None,
                "given_at": _timestamp(giver.given_at),
            }
            for giver in sorted(consent.givers.all(), key=lambda g: (g.given_at, g.pk))
            if not giver.added_in_portal
        ],
        "explicit": consent.explicit,
        "purposes": sorted(p.code for p in consent.purposes.all()),
        "recipients": recipient_codes(consent),
        "categories": sorted(c.code for c in consent.categories.all()),
        "case_reference": consent.case.reference if consent.case else None,
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "evidence": consent.evidence,
        "recorded_by": consent.recorded_by.slug,
        "recorded_at": _timestamp(consent.recorded_at),
        "withdrawn_at": _timestamp(consent.withdrawn_at),
        "withdrawal_reason": consent.withdrawal_reason or None,
    }
    return shaped(ConsentOutSerializer, values)


def consent_list_json(consents: list[Consent]) -> dict[str, Any]:
    return shaped(ConsentListOutSerializer, {"results": [consent_json(c) for c in consents]})
