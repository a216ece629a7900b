"""The response shapes of the partner API, each defined once as an output serializer (docs/api.md).

The serializers here are the definition: the OpenAPI schema is generated from them (drf-spectacular), and every
body the API answers with is produced through them (:func:`shaped`), so a member that is not in the definition
never reaches the wire and a member the definition names cannot be left out. The ``*_json`` functions gather the
values from the records; the serializer decides the shape. The contract test (``tests/gateway/test_contract.py``)
checks the real responses of the test suite against the generated schema.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import Field, SkipField, _UnvalidatedField
from rest_framework.relations import PKOnlyObject

from audit.models import AuditEntry
from consent.models import Consent, Preauthorisation
from consent.policy import REASON_CODES, CategoryDecision, Policy
from consent.selectors import policy_current
from gateway.crypto import DELIVERY, unseal
from gateway.models import EntryNotice, InformationRequest, PendingItem, RequestDecision
from gateway.notices import inform_on, notice_fact


def shaped(serializer: type[serializers.Serializer], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in the shape ``serializer`` defines: its members only, each present (a missing one raises).

    The same as ``dict(serializer(values).data)``, through the serializer's plan (:class:`_Plan`, made once per
    process) instead of a new serializer with deep copies of its fields every call."""
    plan = _plan_of(serializer)
    if type(values) is dict and plan.members is not None:
        return plan.render(values)
    return dict(serializer(values).data)


# --- How a shape is produced --------------------------------------------------------------------------------
#
# DRF makes every serializer anew with deep copies of its declared fields, and every field's lookup and
# conversion goes through several calls; for the few types our values have, the result is known. A plan is
# made once from one bound instance of the serializer: for each readable field its member, the key it is
# looked up by, and for the exact value types whose conversion is certain, a function giving exactly what the
# field's ``to_representation`` gives. Anything else (a missing member, a value of another type, a field
# class or option the plan does not know) goes through that bound field as DRF's ``Serializer`` does, so a
# result is always DRF's. ``tests/gateway/test_shapes.py`` compares the two on generated values.

_SKIP = object()  # the member is left out (a field that is not required, as DRF's SkipField)

_Convert = Callable[[Any], Any]
_Conversions = dict[type, _Convert]


def _drf_member(field: Field, instance: Any) -> Any:
    """One member exactly as ``Serializer.to_representation`` makes it (``_SKIP`` where DRF leaves it out)."""
    try:
        attribute = field.get_attribute(instance)
    except SkipField:
        return _SKIP
    check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
    return None if check_for_none is None else field.to_representation(attribute)


def _same(value: Any) -> Any:
    return value


def _or_none(value: str) -> str | None:
    return value or None  # DateField and DateTimeField: an empty string is None, any other string as it is


def _boolean(field: serializers.BooleanField) -> _Conversions:
    true, false, null, allow_null = field.TRUE_VALUES, field.FALSE_VALUES, field.NULL_VALUES, field.allow_null

    def from_str(value: str) -> bool | None:
        lowered = value.lower()
        if lowered in true:
            return True
        if lowered in false:
            return False
        if allow_null and lowered in null:
            return None
        return bool(value)

    # A number is True for 1 and False for 0 (both in DRF's sets) and bool() of itself otherwise: bool() always.
    return {bool: _same, int: bool, float: bool, str: from_str}


def _choice(field: serializers.ChoiceField) -> _Conversions:
    table = field.choice_strings_to_values

    def from_str(value: str) -> Any:
        return value if value == "" else table.get(value, value)

    def from_int(value: int) -> Any:
        return table.get(str(value), value)

    return {str: from_str, int: from_int}


def _represent(field: Field) -> _Convert:
    """``field.to_representation`` for any value (a child of a list or dict field is given no other treatment)."""
    if type(field) is _UnvalidatedField:
        return _same
    fast, slow = _conversions(field), field.to_representation

    def represent(value: Any) -> Any:
        convert = fast.get(type(value))
        return convert(value) if convert is not None else slow(value)

    return represent


def _list_field(field: serializers.ListField) -> _Conversions:
    child = _represent(field.child)
    if child is _same:
        return {list: list, tuple: list}

    def from_list(value: list[Any] | tuple[Any, ...]) -> list[Any]:
        return [None if item is None else child(item) for item in value]

    return {list: from_list, tuple: from_list}


def _dict_field(field: serializers.DictField) -> _Conversions:
    child = _represent(field.child)
    if child is _same:

        def from_dict(value: dict[Any, Any]) -> dict[str, Any]:
            return {str(key): item for key, item in value.items()}

    else:

        def from_dict(value: dict[Any, Any]) -> dict[str, Any]:
            return {str(key): None if item is None else child(item) for key, item in value.items()}

    return {dict: from_dict}


def _many(field: serializers.ListSerializer) -> _Conversions:
    child = field.child
    if not isinstance(child, serializers.Serializer):
        return {}
    represent = _Plan(child).represent

    def from_list(value: list[Any] | tuple[Any, ...]) -> list[Any]:
        return [represent(item) for item in value]  # DRF gives a None item to the child serializer too

    return {list: from_list, tuple: from_list}


def _conversions(field: Field) -> _Conversions:
    """For the value types whose conversion by ``field`` is certain, what its ``to_representation`` gives; an
    exact class only, so that a subclass with its own conversion goes through DRF."""
    if type(field) is serializers.CharField:
        return {str: _same, int: str}
    if type(field) is serializers.IntegerField:
        return {int: _same, bool: int}
    if type(field) is serializers.BooleanField:
        return _boolean(field)
    if type(field) is serializers.ChoiceField:
        return _choice(field)
    if type(field) in (serializers.DateTimeField, serializers.DateField):
        return {str: _or_none}  # a date or a time object depends on the settings: DRF converts it
    if type(field) is serializers.JSONField and not field.binary:
        return dict.fromkeys((dict, list, str, int, float, bool), _same)
    if type(field) is serializers.ListField:
        return _list_field(field)
    if type(field) is serializers.DictField:
        return _dict_field(field)
    if type(field) is serializers.ListSerializer:
        return _many(field)
    if isinstance(field, serializers.Serializer):
        return {dict: _Plan(field).render}
    return {}


class _Plan:
    """How one bound serializer instance represents a dict, made once: ``(member, key, field, conversions)``
    for each readable field in order; ``key`` is None where the field's own lookup is needed (a dotted or
    ``*`` source, a field class with its own ``get_attribute``). ``members`` is None for a serializer class
    with its own ``to_representation``: then it is used as it is."""

    def __init__(self, serializer: serializers.Serializer) -> None:
        self.serializer = serializer
        self.members: tuple[tuple[str, str | None, Field, _Conversions], ...] | None = None
        kind = type(serializer)
        if (
            kind.to_representation is not serializers.Serializer.to_representation
            or kind._readable_fields is not serializers.Serializer._readable_fields
        ):
            return
        members = []
        for name, field in serializer.fields.items():
            if field.write_only:
                continue
            plain = type(field).get_attribute is Field.get_attribute and len(field.source_attrs) == 1
            key = field.source_attrs[0] if plain else None
            members.append((name, key, field, _conversions(field) if plain else {}))
        self.members = tuple(members)

    def render(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.members is None:
            return self.serializer.to_representation(values)
        out = {}
        for member, key, field, conversions in self.members:
            if key is None:
                value = _drf_member(field, values)
            else:
                try:
                    value = values[key]
                except KeyError:
                    value = _drf_member(field, values)  # None for a nullable field, else it raises
                else:
                    if value is not None:
                        convert = conversions.get(type(value))
                        value = convert(value) if convert is not None else _drf_member(field, values)
            if value is not _SKIP:
                out[member] = value
        return out

    def represent(self, instance: Any) -> Any:
        """What the serializer's ``to_representation`` gives for ``instance`` (of any type)."""
        if type(instance) is dict:
            return self.render(instance)
        return self.serializer.to_representation(instance)


@functools.cache
def _plan_of(serializer: type[serializers.Serializer]) -> _Plan:
    """The plan of a serializer class, made from one instance of it (its fields bound once)."""
    return _Plan(serializer())


def timestamp(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, the form of every time the API answers with."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# --- Information requests and dry runs ----------------------------------------------------------------------


class LegalBasisOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    reference = serializers.CharField()


class ReasonOutSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(REASON_CODES))
    message = serializers.CharField()


class DecisionOutSerializer(serializers.Serializer):
    category = serializers.CharField()
    provider = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=["permit", "deny", "pending", "error"])
    rule = serializers.CharField(allow_null=True)
    rule_version = serializers.IntegerField(allow_null=True)
    legal_basis = LegalBasisOutSerializer(allow_null=True)
    consent = serializers.IntegerField(allow_null=True, help_text="Id of the consent the permit rests on.")
    preauthorisation = serializers.IntegerField(
        allow_null=True,
        help_text="Id of the holder's case-level pre-authorisation the permit rests on (it replaced the holder's "
        "per-request judgement).",
    )
    reasons = ReasonOutSerializer(many=True)
    emergency_access = serializers.BooleanField()


class AuditRefSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    leaf_hash = serializers.CharField()


class InformationRequestOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["released", "partial", "denied", "pending"])
    created_at = serializers.DateTimeField()
    purpose = serializers.CharField()
    case_reference = serializers.CharField(allow_null=True)
    emergency = serializers.BooleanField()
    decisions = DecisionOutSerializer(many=True)
    data = serializers.DictField(  # type: ignore[assignment]  # the API member is called data
        allow_null=True,
        help_text="Released data per permitted category (null where the holder has nothing). Present only in "
        "the response that released it; the gateway keeps no copy.",
    )
    audit = AuditRefSerializer()


class DryRunOutSerializer(serializers.Serializer):
    decisions = DecisionOutSerializer(many=True)
    audit = AuditRefSerializer()


def decision_json(decision: CategoryDecision, policy: Policy) -> dict[str, Any]:
    """A decision as the requester is shown it (for a shielded category: what an unknown person would get)."""
    basis = policy.bases.get(decision.legal_basis) if decision.legal_basis else None
    return shaped(
        DecisionOutSerializer,
        {
            "category": decision.category,
            "provider": decision.provider,
            "outcome": decision.outcome,
            "rule": decision.rule,
            "rule_version": decision.rule_version,
            "legal_basis": {"code": basis.code, "reference": basis.reference} if basis else None,
            "consent": decision.consent,
            "preauthorisation": None if decision.shielded else decision.preauthorisation,
            "reasons": [r.as_dict() for r in decision.reasons],
            "emergency_access": decision.emergency_access,
        },
    )


def stored_decision_json(d: RequestDecision) -> dict[str, Any]:
    """A stored decision as the requester is shown it (what :func:`decision_json` answered, or its settlement)."""
    return shaped(
        DecisionOutSerializer,
        {
            "category": d.category,
            "provider": d.provider,
            "outcome": d.outcome,
            "rule": d.rule,
            "rule_version": d.rule_version,
            "legal_basis": {"code": d.legal_basis, "reference": d.legal_basis_reference} if d.legal_basis else None,
            "consent": d.consent_id,
            "preauthorisation": None if d.shielded else d.preauthorisation_id,
            "reasons": d.reasons,
            "emergency_access": d.emergency_access,
        },
    )


def audit_ref(entry: AuditEntry) -> dict[str, Any]:
    return {"index": entry.index, "leaf_hash": entry.leaf_hash}


def deliveries_for(stored: InformationRequest) -> dict[str, Any] | None:
    """Data a holder released after approval, while the requester may still fetch it."""
    rows = stored.deliveries.filter(expires_at__gt=timezone.now())
    return {row.category: unseal(DELIVERY, row.data_encrypted) for row in rows} or None


def request_json(
    stored: InformationRequest,
    policy: Policy | None = None,
    decisions: tuple[CategoryDecision, ...] | list[CategoryDecision] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The response body of api.md for a stored request (``data`` only in the response that released it; read
    again, the data a holder released later while it may still be fetched)."""
    if decisions is not None and policy is not None:
        decision_list = [decision_json(d, policy) for d in decisions]
    else:
        decision_list = [stored_decision_json(d) for d in stored.decisions.all()]
        data = deliveries_for(stored)
    return shaped(
        InformationRequestOutSerializer,
        {
            "id": stored.id,
            "status": stored.status,
            "created_at": timestamp(stored.created_at),
            "purpose": stored.purpose,
            "case_reference": stored.case_reference or None,
            "emergency": stored.emergency,
            "decisions": decision_list,
            "data": data,
            "audit": {"index": stored.audit_index, "leaf_hash": stored.audit_leaf_hash},
        },
    )


def dry_run_json(decisions: tuple[CategoryDecision, ...], policy: Policy, entry: AuditEntry) -> dict[str, Any]:
    """The answer to a dry run: the decisions a request would get, and the ``check`` entry that records it."""
    return shaped(
        DryRunOutSerializer,
        {"decisions": [decision_json(d, policy) for d in decisions], "audit": audit_ref(entry)},
    )


# --- Holder decisions ---------------------------------------------------------------------------------------


class PendingConsentOutSerializer(serializers.Serializer):
    """The consent a pending category rests on (a consent awaiting confirmation waits for the holder)."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    recorded_by = serializers.CharField()
    explicit = serializers.BooleanField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    evidence = serializers.CharField()


class PendingItemOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "approved", "declined", "expired", "refused"])
    request_id = serializers.CharField()
    requester = serializers.CharField()
    subject = serializers.DictField()
    category = serializers.CharField()
    purpose = serializers.CharField()
    case_reference = serializers.CharField(allow_null=True)
    emergency = serializers.BooleanField()
    justification = serializers.CharField(allow_null=True)
    legal_basis = serializers.DictField()
    rule = serializers.CharField(allow_null=True)
    consent = PendingConsentOutSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    urgent = serializers.BooleanField(
        help_text="The urgent lane: an emergency request. Listed first, with a short expiry and an escalation."
    )
    escalated_at = serializers.DateTimeField(allow_null=True, help_text="When the open urgent item was escalated.")
    weighing_required = serializers.BooleanField(
        help_text="The basis leaves the judgement to you: an approval needs your recorded weighing."
    )


class PendingListOutSerializer(serializers.Serializer):
    results = PendingItemOutSerializer(many=True)


def _consent_summary(consent_id: int | None) -> dict[str, Any] | None:
    """The consent a pending category rests on, for the holder to weigh: a consent recorded by another
    organisation and not yet confirmed by the person waits for the holder, whose approval is its confirmation."""
    if consent_id is None:
        return None
    consent = Consent.objects.select_related("recorded_by").filter(pk=consent_id).first()
    if consent is None:
        return None
    return {
        "id": consent.pk,
        "status": consent.status,
        "recorded_by": consent.recorded_by.slug,
        "explicit": consent.explicit,
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
        "evidence": consent.evidence,
    }


def pending_json(item: PendingItem, policy: Policy | None = None) -> dict[str, Any]:
    """A pending item as its holder sees it: the request it belongs to, and what the decision rests on."""
    request = item.request
    decision = item.decision
    basis = (policy or policy_current()).bases.get(decision.legal_basis or "")
    return shaped(
        PendingItemOutSerializer,
        {
            "id": item.id,
            "status": item.status,
            "request_id": request.id,
            "requester": request.organisation.slug,
            "subject": {"bsn": request.subject_bsn},
            "category": item.category,
            "purpose": request.purpose,
            "case_reference": request.case_reference or None,
            "emergency": request.emergency,
            "justification": request.justification or None,
            "legal_basis": {"code": decision.legal_basis, "reference": decision.legal_basis_reference},
            "rule": decision.rule,
            "consent": _consent_summary(decision.consent_id),
            "created_at": timestamp(item.created_at),
            "expires_at": timestamp(item.expires_at),
            "decided_at": timestamp(item.decided_at),
            "urgent": item.urgent,
            "escalated_at": timestamp(item.escalated_at),
            "weighing_required": bool(basis and basis.weighing_required),
        },
    )


def pending_list_json(items: list[PendingItem]) -> dict[str, Any]:
    policy = policy_current()
    return shaped(PendingListOutSerializer, {"results": [pending_json(item, policy) for item in items]})


# --- Informing a suspect ------------------------------------------------------------------------------------


class NoticeOutSerializer(serializers.Serializer):
    request_id = serializers.CharField()
    cleared = serializers.BooleanField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    inform_on = serializers.DateField(
        help_text="The day from which the entry may be shown to its subject if it is not cleared before."
    )
    postponed_until = serializers.DateField(allow_null=True)


def notice_json(notice: EntryNotice) -> dict[str, Any]:
    """The state of informing about one entry, as the API answers it."""
    fact = notice_fact(notice.request, notice)
    return shaped(
        NoticeOutSerializer,
        {
            "request_id": notice.request_id,
            "cleared": notice.cleared_at is not None,
            "cleared_at": timestamp(notice.cleared_at),
            "inform_on": inform_on(fact, inform_days=settings.GATEWAY_PORTAL_INFORM_DAYS).isoformat(),
            "postponed_until": notice.postponed_until.isoformat() if notice.postponed_until else None,
        },
    )


# --- Push disclosures ---------------------------------------------------------------------------------------


class DisclosureSentOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["released", "denied"])
    recipient = serializers.CharField()
    created_at = serializers.DateTimeField()
    purpose = serializers.CharField()
    case_reference = serializers.CharField(allow_null=True)
    decision = DecisionOutSerializer()
    audit = AuditRefSerializer()


class DisclosureReceivedOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    sender = serializers.CharField(help_text="The holder that shared on its own initiative.")
    subject = serializers.DictField()
    category = serializers.CharField()
    purpose = serializers.CharField()
    case_reference = serializers.CharField(allow_null=True)
    legal_basis = LegalBasisOutSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    data = serializers.JSONField(  # type: ignore[assignment]  # the API member is called data
        allow_null=True,
        help_text="The minimised data while it is kept (GATEWAY_DELIVERY_HOURS); null afterwards.",
    )


def disclosure_sent_json(stored: InformationRequest, policy: Policy, decision: CategoryDecision) -> dict[str, Any]:
    """The answer to the sender of a push: the decision as the sender is shown it (for a shielded category, what an
    unknown person would get) and the ``disclosure`` entry that records it."""
    return shaped(
        DisclosureSentOutSerializer,
        {
            "id": stored.id,
            "status": stored.status,
            "recipient": stored.organisation.slug,
            "created_at": timestamp(stored.created_at),
            "purpose": stored.purpose,
            "case_reference": stored.case_reference or None,
            "decision": decision_json(decision, policy),
            "audit": {"index": stored.audit_index, "leaf_hash": stored.audit_leaf_hash},
        },
    )


def disclosure_received_json(stored: InformationRequest) -> dict[str, Any]:
    """A released push as its recipient reads it."""
    decision = stored.decisions.all()[0]
    delivered = deliveries_for(stored) or {}
    return shaped(
        DisclosureReceivedOutSerializer,
        {
            "id": stored.id,
            "sender": stored.pushed_by.slug if stored.pushed_by else "",
            "subject": {"bsn": stored.subject_bsn},
            "category": decision.category,
            "purpose": stored.purpose,
            "case_reference": stored.case_reference or None,
            "legal_basis": {"code": decision.legal_basis, "reference": decision.legal_basis_reference}
            if decision.legal_basis
            else None,
            "created_at": timestamp(stored.created_at),
            "data": delivered.get(decision.category),
        },
    )


# --- Pre-authorisations -------------------------------------------------------------------------------------


class PreauthorisationOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["active", "withdrawn", "expired", "scheduled"])
    case_reference = serializers.CharField()
    recipient_organisation = serializers.CharField(allow_null=True)
    recipient_sector = serializers.CharField(allow_null=True)
    categories = serializers.ListField(child=serializers.CharField())
    purposes = serializers.ListField(child=serializers.CharField())
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    granted_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)


class PreauthorisationListOutSerializer(serializers.Serializer):
    results = PreauthorisationOutSerializer(many=True)


def preauthorisation_json(row: Preauthorisation) -> dict[str, Any]:
    """A pre-authorisation as its holder sees it (the weighing stays with the row)."""
    today = timezone.localdate()
    if row.withdrawn_at is not None:
        status = "withdrawn"
    elif row.valid_until < today:
        status = "expired"
    elif row.valid_from > today:
        status = "scheduled"
    else:
        status = "active"
    return shaped(
        PreauthorisationOutSerializer,
        {
            "id": row.pk,
            "status": status,
            "case_reference": row.case.reference,
            "recipient_organisation": row.recipient_organisation.slug if row.recipient_organisation else None,
            "recipient_sector": row.recipient_sector.code if row.recipient_sector else None,
            "categories": sorted(c.code for c in row.categories.all()),
            "purposes": sorted(p.code for p in row.purposes.all()),
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat(),
            "granted_at": timestamp(row.granted_at),
            "withdrawn_at": timestamp(row.withdrawn_at),
        },
    )


def preauthorisation_list_json(rows: list[Preauthorisation]) -> dict[str, Any]:
    return shaped(PreauthorisationListOutSerializer, {"results": [preauthorisation_json(row) for row in rows]})
