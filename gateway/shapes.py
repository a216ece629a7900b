"""The response shapes of the partner API, each defined once as an output serializer (docs/api.md).

The serializers here are the definition: the OpenAPI schema is generated from them (drf-spectacular), and every
body the API answers with is produced through them (:func:`shaped`), so a member that is not in the definition
never reaches the wire and a member the definition names cannot be left out. The ``*_json`` functions gather the
values from the records; the serializer decides the shape. The contract test (``tests/gateway/test_contract.py``)
checks the real responses of the test suite against the generated schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from audit.models import AuditEntry
from consent.models import Consent, Preauthorisation
from consent.policy import REASON_CODES, CategoryDecision, Policy
from consent.selectors import policy_current
from gateway.crypto import DELIVERY, unseal
from gateway.models import EntryNotice, InformationRequest, PendingItem, RequestDecision
from gateway.notices import inform_on, notice_fact


def shaped(serializer: type[serializers.Serializer], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in the shape ``serializer`` defines: its members only, each present (a missing one raises)."""
    return dict(serializer(values).data)


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
