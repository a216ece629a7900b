"""The request flow of the partner edge: decide, fetch, audit and release as one action.

Each public function here is one action that owns its transaction and writes its audit entry in it
(``shared/style.md``). Data is fetched from holders *before* the transaction opens, so no lock is held across
the network, but nothing fetched is returned unless the transaction that records the decision and the
audit entry commits. If the audit write fails, the caller gets ``503`` and nothing is released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from ulid import ULID

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append, audit_append_many, payload_digest
from audit.pseudonym import subject_pseudonym
from consent.models import Organisation
from consent.policy import (
    ERROR,
    PENDING,
    PERMIT,
    CategoryDecision,
    DecisionRequest,
    Policy,
    Reason,
    decide,
    overall_status,
)
from consent.selectors import subject_facts
from gateway.callers import Caller
from gateway.decision_record import decision_record, decision_records
from gateway.errors import AuditUnavailable
from gateway.holders import HolderUnavailable, builtin_records_read, holder_fetch
from gateway.holders.directory import holder_directory
from gateway.holders.resolve import holders_resolve
from gateway.idempotency import StoredResponse, body_digest, idempotency_store, idempotent_replay
from gateway.inserts import insert_together
from gateway.models import EmergencyReview, InformationRequest, PendingItem, RequestDecision
from gateway.shapes import dry_run_json, request_json
from gateway.signals import entry_recorded


@dataclass(frozen=True)
class RequestInput:
    """An information request (or its dry run) as the API accepted it: validated against the policy in force
    (:class:`gateway.api.serializers.InformationRequestInSerializer`), the justification trimmed, an empty case
    reference ``None``."""

    subject_bsn: str
    categories: tuple[str, ...]
    purpose: str
    case_reference: str | None = None
    emergency: bool = False
    justification: str = ""
    providers: dict[str, str] = field(default_factory=dict)

    def canonical(self) -> dict[str, Any]:
        """The request as a JSON object in the API's own member names: what an ``Idempotency-Key`` is bound to."""
        return {
            "subject": {"bsn": self.subject_bsn},
            "categories": list(self.categories),
            "purpose": self.purpose,
            "case_reference": self.case_reference,
            "emergency": self.emergency,
            "justification": self.justification,
            "providers": dict(self.providers),
        }


# --- The actions -------------------------------------------------------------------------------------------


def _decide(
    caller: Caller, asked: RequestInput, policy: Policy
) -> tuple[DecisionRequest, tuple[CategoryDecision, ...]]:
    providers = holders_resolve(
        categories=list(asked.categories),
        named=asked.providers,
        case_reference=asked.case_reference,
        requester=caller.organisation,
        directory=holder_directory(policy.token),
    )
    request = DecisionRequest(
        requester=caller.organisation.slug,
        categories=asked.categories,
        providers=providers,
        purpose=asked.purpose,
        on=timezone.localdate(),
        case_reference=asked.case_reference,
        emergency=asked.emergency,
        has_justification=bool(asked.justification),
    )
    facts = subject_facts(
        subject_bsn=asked.subject_bsn,
        requester=caller.organisation,
        case_reference=asked.case_reference,
        on=request.on,
    )
    return request, decide(request, policy, facts)


HOLDER_UNAVAILABLE = Reason("provider_unavailable", "The data holder could not be reached; nothing was released.")


def releasable_fields(policy: Policy, decision: CategoryDecision) -> tuple[tuple[str, str], ...]:
    """The fields of the decision's category that may be asked for and released: all declared fields but
    those a restriction withholds (:attr:`CategoryDecision.redact`). The holder is not even asked for those."""
    fields = policy.categories[decision.category].fields
    return tuple((name, kind) for name, kind in fields if name not in decision.redact)


def decision_row(
    decision: CategoryDecision,
    *,
    policy: Policy,
    position: int = 0,
    provider: str | None = None,
    released_fields: list[str] | None = None,
    payload_sha256: str | None = None,
    emergency_access: bool | None = None,
) -> RequestDecision:
    """The stored row of one category's decision (unsaved): the rule, basis with its reference, consent,
    pre-authorisation and reasons it rests on. ``provider`` and ``emergency_access`` default to the decision's own."""
    return RequestDecision(
        position=position,
        category=decision.category,
        provider=decision.provider if provider is None else provider,
        outcome=decision.outcome,
        rule=decision.rule,
        rule_version=decision.rule_version,
        legal_basis=decision.legal_basis,
        legal_basis_reference=policy.bases[decision.legal_basis].reference if decision.legal_basis else None,
        consent_id=decision.consent,
        preauthorisation_id=decision.preauthorisation,
        reasons=[r.as_dict() for r in decision.reasons],
        emergency_access=decision.emergency_access if emergency_access is None else emergency_access,
        shielded=decision.shielded,
        released_fields=released_fields or [],
        payload_sha256=payload_sha256,
    )


def intent_draft(
    *,
    actor: Actor,
    subject_bsn: str,
    purpose: str,
    case_reference: str | None,
    emergency: bool,
    reference: str,
    policy_version: int,
    asking: list[CategoryDecision],
) -> EntryDraft | None:
    """The ``intent`` entry, written before any holder is asked (asking a holder already discloses to it that the
    requester is interested in this person); None when nobody is asked."""
    if not asking:
        return None
    return EntryDraft(
        kind=AuditKind.INTENT,
        actor=actor,
        subject=subject_pseudonym(subject_bsn),
        purpose=purpose,
        case_reference=case_reference,
        emergency=emergency,
        reference=reference,
        outcome="asking",
        policy_version=policy_version,
        decisions=[{"category": d.category, "provider": d.provider} for d in asking],
    )


def intent_record(**intent: Any) -> None:
    """The :func:`intent_draft` entry in its own transaction, committed before a holder over the network is asked,
    so that disclosure is on the trail even when nothing comes back (a crash, an outage). If it cannot be written
    (:class:`audit.ledger.AuditWriteError`), no holder is asked."""
    draft = intent_draft(**intent)
    if draft is None:
        return
    with transaction.atomic(durable=True):
        audit_append(draft)


def api_read_record(
    *,
    caller: Caller,
    read: str,
    subject_bsn: str | None = None,
    subject_pseudonym_: str | None = None,
    reference: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write an ``api_view`` entry for a read of personal data through the API (a request read again with its
    delivered data, a holder's pending list, a consent search), before the answer leaves: who read, what
    (``read``), about whom. If it cannot be written (:class:`audit.ledger.AuditWriteError`), nothing is answered."""
    subject = subject_pseudonym_ or (subject_pseudonym(subject_bsn) if subject_bsn else None)
    with transaction.atomic(durable=True):
        audit_append(
            EntryDraft(
                kind=AuditKind.API_VIEW,
                actor=caller.actor(),
                subject=subject,
                reference=reference,
                outcome=read,
                detail=detail or {},
            )
        )


def _record_once(
    *, caller: Caller, endpoint: str, key: str | None, digest: str, write: Callable[[], StoredResponse]
) -> StoredResponse:
    """Run ``write`` (which records, audits and builds the response) in one transaction, with the response stored
    under the ``Idempotency-Key`` in that same transaction. If two retries with the same key race, the loser
    answers as the winner did; if the audit entry cannot be written, nothing is released (``503``)."""
    try:
        with transaction.atomic(durable=True):
            result = write()
            if key:
                idempotency_store(
                    caller=caller,
                    endpoint=endpoint,
                    key=key,
                    digest=digest,
                    status_code=result.status_code,
                    body=result.body,
                )
    except IntegrityError:
        replay = idempotent_replay(caller=caller, endpoint=endpoint, key=key, digest=digest)
        if replay is not None:
            return replay
        raise AuditUnavailable() from None
    return result


def information_request_submit(
    *, caller: Caller, payload: RequestInput, policy: Policy, idempotency_key: str | None
) -> StoredResponse:
    """Decide each category, fetch what is permitted, and record, audit and release it in one transaction."""
    digest = body_digest(payload.canonical())
    replay = idempotent_replay(caller=caller, endpoint="requests", key=idempotency_key, digest=digest)
    if replay is not None:
        return replay
    request_id = f"req_{ULID()}"
    request, decisions = _decide(caller, payload, policy)
    bsn = payload.subject_bsn
    directory = holder_directory(policy.token)
    asking = [d for d in decisions if d.outcome == PERMIT]
    intent: dict[str, Any] = {
        "actor": caller.actor(),
        "subject_bsn": bsn,
        "purpose": request.purpose,
        "case_reference": request.case_reference,
        "emergency": request.emergency,
        "reference": request_id,
        "policy_version": policy.version,
        "asking": asking,
    }
    # Asking a holder over the network tells it of the interest: the intent entry commits first. When every holder
    # asked keeps its records in the gateway, nothing leaves before the commit, so the reads, the intent and the
    # request entry share one transaction, and both entries are appended together (the intent at the index before).
    asks_here = all(directory.kept_here(d.provider or "", d.category) for d in asking)
    if not asks_here:
        intent_record(**intent)

    final: list[CategoryDecision] = []
    data: dict[str, Any] = {}
    released: dict[str, tuple[list[str], str]] = {}

    def fetch() -> None:
        builtin = builtin_records_read(
            bsn=bsn, asks=[(d.provider or "", d.category) for d in asking], directory=directory
        )
        for decision in decisions:
            if decision.outcome != PERMIT:
                final.append(decision)
                continue
            try:
                result = holder_fetch(
                    holder=decision.provider or "",
                    category=decision.category,
                    field_types=releasable_fields(policy, decision),
                    request_id=request_id,
                    bsn=bsn,
                    purpose=request.purpose,
                    directory=directory,
                    builtin=builtin,
                )
            except HolderUnavailable:
                final.append(replace(decision, outcome=ERROR, reasons=(HOLDER_UNAVAILABLE,)))
                continue
            final.append(decision)
            if decision.shielded:
                # What an unknown person gets: the holder had nothing. The holder was asked all the same, so that
                # nothing (its answer, its outage, the time taken) tells the two apart; its answer is dropped here.
                data[decision.category] = None
                continue
            data[decision.category] = result.data
            released[decision.category] = (result.fields, payload_digest(result.data))

    if not asks_here:
        fetch()

    def write() -> StoredResponse:
        if asks_here:
            fetch()
        status = overall_status(d.outcome for d in final)
        status_code = 202 if status == "pending" else 200
        drafts = [intent_draft(**intent)] if asks_here else []
        drafts.append(
            EntryDraft(
                kind=AuditKind.REQUEST,
                actor=caller.actor(),
                subject=subject_pseudonym(bsn),
                purpose=request.purpose,
                case_reference=request.case_reference,
                emergency=request.emergency,
                reference=request_id,
                outcome=status,
                policy_version=policy.version,
                decisions=decision_records(
                    [decision_record(d, *(released.get(d.category) or (None, None))) for d in final]
                ),
            )
        )
        entry = audit_append_many([d for d in drafts if d is not None])[-1]
        stored = InformationRequest(
            id=request_id,
            organisation=caller.organisation,
            client_id=caller.client_id,
            acting_user=caller.acting_user or "",
            subject_bsn=bsn,
            subject_pseudonym=entry.subject or "",
            purpose=request.purpose,
            case_reference=request.case_reference or "",
            emergency=request.emergency,
            justification=payload.justification,
            status=status,
            created_at=entry.at,
            policy_version_id=policy.version,
            audit_index=entry.index,
            audit_leaf_hash=entry.leaf_hash,
            news_pending=True,
        )
        stored_decisions = []
        for position, d in enumerate(final):
            fields, digest = released.get(d.category) or ([], None)
            row = decision_row(d, policy=policy, position=position, released_fields=fields, payload_sha256=digest)
            row.request = stored
            stored_decisions.append(row)
        insert_together(stored, stored_decisions)  # one statement for the request and its decisions
        _follow_ups_create(stored, stored_decisions, caller, urgent={d.category for d in final if d.urgent})
        entry_recorded.send(sender=InformationRequest, request_id=stored.id)
        body = request_json(stored, policy, final, data)
        return StoredResponse(status_code, body)

    return _record_once(caller=caller, endpoint="requests", key=idempotency_key, digest=digest, write=write)


def pending_expiry(*, created_at: dt.datetime, urgent: bool) -> tuple[dt.datetime, dt.datetime | None]:
    """When a new pending item expires, and (urgent lane) when it is escalated if still open."""
    if not urgent:
        return created_at + dt.timedelta(hours=settings.GATEWAY_HOLDER_PENDING_HOURS), None
    return (
        created_at + dt.timedelta(hours=settings.GATEWAY_URGENT_EXPIRY_HOURS),
        created_at + dt.timedelta(minutes=settings.GATEWAY_URGENT_ESCALATE_MINUTES),
    )


def _follow_ups_create(
    stored: InformationRequest, decisions: list[RequestDecision], caller: Caller, *, urgent: set[str]
) -> None:
    """In the request's transaction: a pending item for each category the holder decides (in the urgent lane for
    the ``urgent`` categories, :mod:`gateway.pending`), and a review item when emergency access was used."""
    now = timezone.now()
    pending = []
    for d in decisions:
        if d.outcome != PENDING or not d.provider:
            continue
        expires_at, escalate_at = pending_expiry(created_at=now, urgent=d.category in urgent)
        pending.append(
            PendingItem(
                id=f"hld_{ULID()}",
                request=stored,
                decision=d,
                holder_id=Organisation.objects.values_list("pk", flat=True).get(slug=d.provider),
                category=d.category,
                created_at=now,
                expires_at=expires_at,
                urgent=d.category in urgent,
                escalate_at=escalate_at,
            )
        )
    PendingItem.objects.bulk_create(pending)
    if any(d.emergency_access for d in decisions):
        EmergencyReview.objects.create(
            request=stored,
            organisation=caller.organisation,
            created_at=now,
            due_at=now + dt.timedelta(days=settings.GATEWAY_REVIEW_DAYS),
        )


def decision_check(
    *, caller: Caller, payload: RequestInput, policy: Policy, idempotency_key: str | None
) -> StoredResponse:
    """A dry run: the decisions a request would get, without fetching or releasing; audited as ``check``."""
    digest = body_digest(payload.canonical())
    replay = idempotent_replay(caller=caller, endpoint="decisions", key=idempotency_key, digest=digest)
    if replay is not None:
        return replay
    request, decisions = _decide(caller, payload, policy)

    def write() -> StoredResponse:
        entry = audit_append(
            EntryDraft(
                kind=AuditKind.CHECK,
                actor=caller.actor(),
                subject=subject_pseudonym(payload.subject_bsn),
                purpose=request.purpose,
                case_reference=request.case_reference,
                emergency=request.emergency,
                outcome=overall_status(d.outcome for d in decisions),
                policy_version=policy.version,
                decisions=decision_records([decision_record(d) for d in decisions]),
            )
        )
        return StoredResponse(200, dry_run_json(decisions, policy, entry))

    return _record_once(caller=caller, endpoint="decisions", key=idempotency_key, digest=digest, write=write)
