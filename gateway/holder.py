"""Holder decisions (api.md, "Holder decisions"): where a rule leaves the decision to the data holder, the
holder's system lists its pending items and settles them; the gateway then fetches and releases, or denies with
``holder_declined``, and tells the requester (webhook, else polling). Items expire after
``GATEWAY_HOLDER_PENDING_HOURS``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append, payload_digest
from consent.policy import DENY, PERMIT, overall_status
from consent.selectors import policy_current
from gateway.api.auth import Caller
from gateway.api.problems import Problem
from gateway.crypto import seal
from gateway.models import Delivery, InformationRequest, PendingItem, PendingStatus, RequestDecision
from gateway.providers import ProviderUnavailable, provider_fetch
from gateway.services import DELIVERY, audit_unavailable
from gateway.webhooks import webhook_enqueue
from portal.notifications import notify_after_commit

APPROVE, DECLINE = "approve", "decline"


def pending_json(item: PendingItem) -> dict[str, Any]:
    request = item.request
    decision = item.decision
    return {
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
        "created_at": item.created_at.isoformat().replace("+00:00", "Z"),
        "expires_at": item.expires_at.isoformat().replace("+00:00", "Z"),
        "decided_at": item.decided_at.isoformat().replace("+00:00", "Z") if item.decided_at else None,
    }


def pending_for_holder(caller: Caller) -> Any:
    """The open items addressed to the caller's organisation as data holder, oldest first."""
    return (
        PendingItem.objects.filter(
            holder=caller.organisation, status=PendingStatus.PENDING, expires_at__gt=timezone.now()
        )
        .select_related("request__organisation", "decision")
        .order_by("created_at", "id")
    )


def _request_status_refresh(request: InformationRequest) -> str:
    status = overall_status(request.decisions.values_list("outcome", flat=True))
    InformationRequest.objects.filter(pk=request.pk).update(status=status)
    return status


def _settle(
    *,
    item: PendingItem,
    outcome: str,
    reasons: list[dict[str, str]],
    item_status: str,
    actor: Actor,
    note: str,
    fields: list[str] | None = None,
    digest: str | None = None,
    data: Any = None,
    release: bool = False,
) -> None:
    """Inside a transaction: update the decision, the item and the request, audit, and queue the notification."""
    now = timezone.now()
    RequestDecision.objects.filter(pk=item.decision_id).update(
        outcome=outcome, reasons=reasons, released_fields=fields or [], payload_sha256=digest
    )
    PendingItem.objects.filter(pk=item.pk).update(
        status=item_status, decided_at=now, note=note[:2000], decided_by_client=actor.client_id or ""
    )
    if release:
        Delivery.objects.create(
            request=item.request,
            category=item.category,
            data_encrypted=seal(DELIVERY, data),
            expires_at=now + dt.timedelta(hours=settings.GATEWAY_DELIVERY_HOURS),
        )
    status = _request_status_refresh(item.request)
    decision = item.decision
    audit_append(
        EntryDraft(
            kind="holder_decision",
            actor=actor,
            subject=item.request.subject_pseudonym,
            purpose=item.request.purpose,
            case_reference=item.request.case_reference or None,
            emergency=item.request.emergency,
            reference=item.request.id,
            outcome=item_status,
            policy_version=item.request.policy_version_id,
            decisions=[
                {
                    "category": item.category,
                    "provider": decision.provider,
                    "outcome": outcome,
                    "rule": decision.rule,
                    "rule_version": decision.rule_version,
                    "legal_basis": decision.legal_basis,
                    "consent": decision.consent_id,
                    "reasons": [r["code"] for r in reasons],
                    "emergency_access": decision.emergency_access,
                    "fields": fields,
                    "payload_sha256": digest,
                }
            ],
            detail={"pending_item": item.id, "request_status": status, "note_given": bool(note)},
        )
    )
    if release:
        notify_after_commit(item.request.id)
    webhook_enqueue(
        organisation=item.request.organisation,
        event="request.updated",
        payload={"request_id": item.request.id, "status": status, "category": item.category, "outcome": outcome},
    )


def _locked_open_item(item_id: str, holder: Caller) -> PendingItem:
    item = (
        PendingItem.objects.select_for_update()
        .select_related("request__organisation", "decision")
        .filter(pk=item_id, holder=holder.organisation)
        .first()
    )
    if item is None:
        raise Problem(404, "not_found", "Not found", "There is no such pending item for this organisation.")
    if item.status != PendingStatus.PENDING or item.expires_at <= timezone.now():
        raise Problem(409, "already_settled", "Already settled", f"This item is {item.status} and can't be changed.")
    return item


def holder_decide(*, caller: Caller, item_id: str, decision: str, note: str) -> PendingItem:
    """Settle a pending item as its holder. On approval the gateway fetches the category from the holder and
    releases it to the requester; on decline the category is denied with ``holder_declined``."""
    actor = Actor(organisation=caller.organisation.slug, client_id=caller.client_id, acting_user=caller.acting_user)
    with transaction.atomic():
        item = _locked_open_item(item_id, caller)
    result = None
    if decision == APPROVE:
        category = policy_current().categories[item.category]
        try:
            result = provider_fetch(
                holder=caller.organisation.slug,
                category=item.category,
                field_types=category.fields,
                request_id=item.request.id,
                bsn=item.request.subject_bsn,
                purpose=item.request.purpose,
            )
        except ProviderUnavailable:
            raise Problem(
                503,
                "provider_unavailable",
                "Your system could not be reached",
                "The gateway could not fetch the data from your endpoint; the item stays pending. Try again.",
                headers={"Retry-After": "30"},
            ) from None
    try:
        with transaction.atomic():
            item = _locked_open_item(item_id, caller)  # again, under lock: it may have been settled meanwhile
            if result is not None:
                _settle(
                    item=item,
                    outcome=PERMIT,
                    reasons=[],
                    item_status=PendingStatus.APPROVED,
                    actor=actor,
                    note=note,
                    fields=result.fields,
                    digest=payload_digest(result.data),
                    data=result.data,
                    release=True,
                )
            else:
                _settle(
                    item=item,
                    outcome=DENY,
                    item_status=PendingStatus.DECLINED,
                    actor=actor,
                    note=note,
                    reasons=[{"code": "holder_declined", "message": "The data holder declined to provide this."}],
                )
    except AuditWriteError:
        raise audit_unavailable() from None
    item.refresh_from_db()
    return item


def holder_expire_due(*, now: dt.datetime | None = None) -> int:
    """Close the items whose holder did not decide in time: the category is denied (``holder_declined``: the
    holder did not use its right to provide) and the requester is told."""
    now = now or timezone.now()
    expired = 0
    for item_id in PendingItem.objects.filter(status=PendingStatus.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            item = (
                PendingItem.objects.select_for_update(skip_locked=True)
                .select_related("request__organisation", "decision")
                .filter(pk=item_id, status=PendingStatus.PENDING)
                .first()
            )
            if item is None:
                continue
            _settle(
                item=item,
                outcome=DENY,
                item_status=PendingStatus.EXPIRED,
                note="",
                actor=Actor(user="system:holder_expire"),
                reasons=[{"code": "holder_declined", "message": "The data holder did not decide in time."}],
            )
            expired += 1
    return expired
