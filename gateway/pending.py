"""Holder decisions (api.md, "Holder decisions"): where a rule leaves the decision to the data holder, the
holder's system lists its pending items and settles them; the gateway then fetches and releases, or denies with
``holder_declined``, and tells the requester (webhook, else polling). Items expire after
``GATEWAY_HOLDER_PENDING_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append, payload_digest
from consent.policy import (
    DENY,
    PENDING,
    PERMIT,
    CategoryDecision,
    DecisionRequest,
    Policy,
    Reason,
    decide_category,
    overall_status,
)
from consent.selectors import policy_current, subject_facts
from gateway.callers import Caller
from gateway.crypto import DELIVERY, seal
from gateway.decision_record import decision_record, decision_records
from gateway.errors import Conflict, HolderUnreachable, NotFound, WeighingRequired
from gateway.holders import HolderUnavailable, holder_fetch
from gateway.models import Delivery, InformationRequest, PendingItem, PendingStatus, RequestDecision
from gateway.request_flow import releasable_fields
from gateway.signals import entry_recorded
from gateway.webhooks import webhook_enqueue

APPROVE, DECLINE = "approve", "decline"
HOLDER_DECLINED = Reason("holder_declined", "The data holder declined to provide this.")
HOLDER_LATE = Reason("holder_declined", "The data holder did not decide in time.")


def pending_for_holder(caller: Caller) -> Any:
    """The open items addressed to the caller's organisation as data holder, oldest first. An item whose
    category a restriction keeps from the requester (a shielded face) is never offered: the restriction has
    decided already, and the item only waits to expire like one the holder let pass."""
    return (
        PendingItem.objects.filter(
            holder=caller.organisation,
            status=PendingStatus.PENDING,
            expires_at__gt=timezone.now(),
            decision__shielded=False,
        )
        .select_related("request__organisation", "decision")
        .order_by("-urgent", "created_at", "id")
    )


def weighing_digest(weighing: str) -> str:
    """SHA-256 of the weighing text: the trail proves which weighing was recorded without holding it."""
    return hashlib.sha256(weighing.encode("utf-8")).hexdigest()


def _request_status_refresh(request: InformationRequest, *, news: bool = False) -> str:
    """The request's status from its decisions; ``news`` (a release) flags it for the portal in the same UPDATE."""
    status = overall_status(request.decisions.values_list("outcome", flat=True))
    InformationRequest.objects.filter(pk=request.pk).update(status=status, **({"news_pending": True} if news else {}))
    return status


def _settle(
    *,
    item: PendingItem,
    decision: CategoryDecision,
    item_status: str,
    actor: Actor,
    note: str,
    weighing: str = "",
    fields: list[str] | None = None,
    digest: str | None = None,
    data: Any = None,
    release: bool = False,
) -> None:
    """Inside a transaction: record the category's final decision (as the requester is shown it), the item and
    the request; write the ``holder_decision`` entry (the truth); queue the notification and the webhook."""
    now = timezone.now()
    stored = item.decision
    RequestDecision.objects.filter(pk=stored.pk).update(
        outcome=decision.outcome,
        reasons=[r.as_dict() for r in decision.reasons],
        rule=decision.rule or stored.rule,
        rule_version=decision.rule_version or stored.rule_version,
        legal_basis=decision.legal_basis or stored.legal_basis,
        preauthorisation_id=decision.preauthorisation,
        shielded=decision.shielded,
        released_fields=fields or [],
        payload_sha256=digest,
    )
    PendingItem.objects.filter(pk=item.pk).update(
        status=item_status,
        decided_at=now,
        note=note[:2000],
        weighing=weighing[:2000],
        decided_by_client=actor.client_id or "",
    )
    if release:
        Delivery.objects.create(
            request=item.request,
            category=item.category,
            data_encrypted=seal(DELIVERY, data),
            expires_at=now + dt.timedelta(hours=settings.GATEWAY_DELIVERY_HOURS),
        )
    status = _request_status_refresh(item.request, news=release)
    audit_append(
        EntryDraft(
            kind=AuditKind.HOLDER_DECISION,
            actor=actor,
            subject=item.request.subject_pseudonym,
            purpose=item.request.purpose,
            case_reference=item.request.case_reference or None,
            emergency=item.request.emergency,
            reference=item.request.id,
            outcome=item_status,
            policy_version=item.request.policy_version_id,
            decisions=decision_records([decision_record(decision, fields, digest)]),
            detail={
                "pending_item": item.id,
                "request_status": status,
                "note_given": bool(note),
                **({"weighing_sha256": weighing_digest(weighing)} if weighing else {}),
            },
        )
    )
    if release:
        entry_recorded.send(sender=InformationRequest, request_id=item.request.id)
    webhook_enqueue(
        organisation=item.request.organisation,
        event="request.updated",
        payload={
            "request_id": item.request.id,
            "status": status,
            "category": item.category,
            "outcome": decision.outcome,
        },
    )


def _locked_open_item(item_id: str, holder: Caller) -> PendingItem:
    # The item and its request only, FOR NO KEY UPDATE: a plain FOR UPDATE over the join would also lock the
    # requester's organisation, and a key lock blocks the foreign-key checks that another request's transaction makes
    # at COMMIT while it holds the audit head, which this one waits for: a deadlock (scripts/drill found it).
    item = (
        PendingItem.objects.select_for_update(of=("self", "request"), no_key=True)
        .select_related("request__organisation", "decision")
        .filter(pk=item_id, holder=holder.organisation, decision__shielded=False)
        .first()
    )
    if item is None:
        raise NotFound("There is no such pending item for this organisation.")
    if item.status != PendingStatus.PENDING or item.expires_at <= timezone.now():
        raise Conflict(
            f"This item is {item.status} and can't be changed.", code="already_settled", title="Already settled"
        )
    return item


def _stored_as_decision(item: PendingItem, outcome: str, reasons: tuple[Reason, ...]) -> CategoryDecision:
    stored = item.decision
    return CategoryDecision(
        category=item.category,
        provider=stored.provider,
        outcome=outcome,
        rule=stored.rule,
        rule_version=stored.rule_version,
        legal_basis=stored.legal_basis,
        consent=stored.consent_id,
        reasons=reasons,
        emergency_access=stored.emergency_access,
        shielded=stored.shielded,
    )


def decide_again(item: PendingItem, policy: Policy) -> CategoryDecision:
    """The item's category decided again, now: the policy, restrictions and consents of this moment, for the
    request as it was made. A restriction set or a consent withdrawn while the item waited wins."""
    request = item.request
    asked = DecisionRequest(
        requester=request.organisation.slug,
        categories=(item.category,),
        providers={item.category: item.decision.provider},
        purpose=request.purpose,
        on=timezone.localdate(),
        case_reference=request.case_reference or None,
        emergency=request.emergency,
        has_justification=bool(request.justification),
    )
    facts = subject_facts(
        subject_bsn=request.subject_bsn,
        requester=request.organisation,
        case_reference=asked.case_reference,
        on=asked.on,
    )
    return decide_category(asked, item.category, policy, facts)


def weighing_needed(policy: Policy, decision: CategoryDecision) -> bool:
    """Whether releasing ``decision`` on the holder's approval needs the holder's recorded weighing: its basis
    gives the holder the judgement (``weighing_required``) and no pre-authorisation of the holder (which carries
    its own weighing) replaced the per-request judgement."""
    basis = policy.bases.get(decision.legal_basis) if decision.legal_basis else None
    return (
        basis is not None
        and basis.weighing_required
        and decision.preauthorisation is None
        and decision.outcome in (PERMIT, PENDING)
        and not decision.shielded
    )


def holder_decide(*, caller: Caller, item_id: str, decision: str, note: str, weighing: str = "") -> PendingItem:
    """Settle a pending item as its holder.

    On approval the gateway decides again (:func:`decide_again`): if the category is still permitted or left to
    the holder, it fetches it from the holder and releases it; if the decision of this moment denies it, the item
    is ``refused`` and the requester is shown that denial (for a restriction it may not know of: what an unknown
    person would get). On decline the category is denied with ``holder_declined``. An approval under a basis that
    gives the holder the judgement needs ``weighing`` (:func:`weighing_needed`), else :class:`WeighingRequired`
    and nothing changes; the weighing is kept on the item and its SHA-256 goes in the ``holder_decision`` entry.
    """
    actor = caller.actor()
    with transaction.atomic(durable=True):
        item = _locked_open_item(item_id, caller)
    now_decided: CategoryDecision | None = None
    result = None
    if decision == APPROVE:
        policy = policy_current()
        now_decided = decide_again(item, policy)
        if not weighing and weighing_needed(policy, now_decided):
            raise WeighingRequired()
        if now_decided.outcome in (PERMIT, PENDING) and not now_decided.shielded:
            try:
                result = holder_fetch(
                    holder=caller.organisation.slug,
                    category=item.category,
                    field_types=releasable_fields(policy, now_decided),
                    request_id=item.request.id,
                    bsn=item.request.subject_bsn,
                    purpose=item.request.purpose,
                )
            except HolderUnavailable:
                raise HolderUnreachable(
                    "The gateway could not fetch the data from your endpoint; the item stays pending. Try again."
                ) from None
    with transaction.atomic(durable=True):
        item = _locked_open_item(item_id, caller)  # again, under lock: it may have been settled meanwhile
        if now_decided is None:
            _settle(
                item=item,
                decision=_stored_as_decision(item, DENY, (HOLDER_DECLINED,)),
                item_status=PendingStatus.DECLINED,
                actor=actor,
                note=note,
                weighing=weighing,
            )
        elif result is not None:
            _settle(
                item=item,
                decision=replace(now_decided, outcome=PERMIT, urgent=False),
                item_status=PendingStatus.APPROVED,
                actor=actor,
                note=note,
                weighing=weighing,
                fields=result.fields,
                digest=payload_digest(result.data),
                data=result.data,
                release=True,
            )
        elif now_decided.shielded and now_decided.outcome in (PERMIT, PENDING):
            # Shown as an approval where the holder had nothing, exactly as for a person nobody knows.
            _settle(
                item=item,
                decision=replace(now_decided, outcome=PERMIT, urgent=False),
                item_status=PendingStatus.REFUSED,
                actor=actor,
                note=note,
                weighing=weighing,
                data=None,
                release=True,
            )
        else:
            _settle(
                item=item,
                decision=now_decided,
                item_status=PendingStatus.REFUSED,
                actor=actor,
                note=note,
                weighing=weighing,
            )
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
        with transaction.atomic(durable=True):
            item = (
                PendingItem.objects.select_for_update(skip_locked=True, of=("self", "request"), no_key=True)
                .select_related("request__organisation", "decision")
                .filter(pk=item_id, status=PendingStatus.PENDING)
                .first()
            )
            if item is None:
                continue
            _settle(
                item=item,
                decision=_stored_as_decision(item, DENY, (HOLDER_LATE,)),
                item_status=PendingStatus.EXPIRED,
                note="",
                actor=Actor(user="system:holder_expire"),
            )
            expired += 1
    return expired


def urgent_escalate_due(*, now: dt.datetime | None = None) -> int:
    """Escalate the urgent items still open at their escalation time, once each: an ``urgent_escalation`` entry
    (the holder as the decision's provider, so the holder's officers see it) and the webhook ``pending.escalated``
    to the holder, in one transaction. The body names the item, never the person."""
    now = now or timezone.now()
    escalated = 0
    due = PendingItem.objects.filter(
        urgent=True, status=PendingStatus.PENDING, escalated_at__isnull=True, escalate_at__lte=now, expires_at__gt=now
    ).values_list("pk", flat=True)
    for item_id in list(due):
        with transaction.atomic(durable=True):
            item = (
                PendingItem.objects.select_for_update(skip_locked=True, of=("self", "request"), no_key=True)
                .select_related("request", "holder")
                .filter(pk=item_id, status=PendingStatus.PENDING, escalated_at__isnull=True)
                .first()
            )
            if item is None:
                continue
            PendingItem.objects.filter(pk=item.pk).update(escalated_at=now)
            audit_append(
                EntryDraft(
                    kind=AuditKind.URGENT_ESCALATION,
                    actor=Actor(user="system:urgent_escalate"),
                    subject=item.request.subject_pseudonym,
                    purpose=item.request.purpose,
                    case_reference=item.request.case_reference or None,
                    emergency=item.request.emergency,
                    reference=item.request.id,
                    outcome="escalated",
                    policy_version=item.request.policy_version_id,
                    decisions=[{"category": item.category, "provider": item.holder.slug}],
                    detail={
                        "pending_item": item.id,
                        "open_minutes": int((now - item.created_at).total_seconds() // 60),
                        "expires_at": item.expires_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    },
                )
            )
            webhook_enqueue(
                organisation=item.holder,
                event="pending.escalated",
                payload={
                    "pending_item": item.id,
                    "request_id": item.request.id,
                    "category": item.category,
                    "expires_at": item.expires_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                },
            )
            escalated += 1
    return escalated
