"""The request flow of the partner edge: decide, fetch, audit and release as one action.

Each public function here is one action that owns its transaction and writes its audit entry in it
(``shared/style.md``). Data is fetched from holders *before* the transaction opens, so no lock is held across
the network, but nothing fetched is returned unless the transaction that records the decision and the
audit entry commits. If the audit write fails, the caller gets ``503`` and nothing is released.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import rfc8785
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from ulid import ULID

from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append, payload_digest
from audit.models import AuditEntry
from audit.pseudonym import subject_pseudonym
from consent.models import Case, Organisation
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
from consent.selectors import person_by_bsn, subject_facts
from gateway.api.auth import Caller
from gateway.api.problems import Problem, field_error, invalid_request
from gateway.crypto import seal, unseal
from gateway.holders import HolderUnavailable, holder_fetch
from gateway.models import (
    EmergencyReview,
    HolderEndpoint,
    IdempotencyRecord,
    InformationRequest,
    PendingItem,
    RequestDecision,
)
from gateway.signals import entry_recorded

IDEMPOTENCY = b"idempotency v1"
DELIVERY = b"delivery v1"

# --- Holders -----------------------------------------------------------------------------------------------


def holders_resolve(
    *, categories: list[str], named: dict[str, str], case_reference: str | None, requester: Organisation
) -> dict[str, str | None]:
    """Which organisation to ask for each category, from policy data only (never from facts about the person).

    A named holder must hold the category. Otherwise the sole holder; or, among several, the one that takes
    part in the case the request names (if the requester takes part in it too). Still ambiguous: ``400``.
    """
    holders: dict[str, list[str]] = {c: [] for c in categories}
    for slug, code in HolderEndpoint.objects.filter(
        active=True, organisation__active=True, categories__code__in=categories
    ).values_list("organisation__slug", "categories__code"):
        if slug not in holders[code]:
            holders[code].append(slug)
    case_members: set[str] = set()
    if case_reference:
        case = Case.objects.filter(reference=case_reference, participants=requester).first()
        if case is not None:
            case_members = set(case.participants.values_list("slug", flat=True))
    resolved: dict[str, str | None] = {}
    errors = []
    for category in categories:
        candidates = sorted(holders[category])
        if category in named:
            if named[category] not in candidates:
                errors.append(
                    field_error(
                        f"providers.{category}",
                        "not_a_holder",
                        f"{named[category]} does not hold {category}.",
                    )
                )
            resolved[category] = named[category]
        elif len(candidates) <= 1:
            resolved[category] = candidates[0] if candidates else None
        else:
            in_case = [c for c in candidates if c in case_members]
            if len(in_case) == 1:
                resolved[category] = in_case[0]
            else:
                errors.append(
                    field_error(
                        f"providers.{category}",
                        "provider_required",
                        f"Several organisations hold {category}; name one of: {', '.join(candidates)}.",
                    )
                )
    if errors:
        raise invalid_request(errors)
    return resolved


# --- Output shapes -----------------------------------------------------------------------------------------


def decision_json(decision: CategoryDecision, policy: Policy) -> dict[str, Any]:
    """A decision as the requester is shown it (for a shielded category: what an unknown person would get)."""
    basis = policy.bases.get(decision.legal_basis) if decision.legal_basis else None
    return {
        "category": decision.category,
        "provider": decision.provider,
        "outcome": decision.outcome,
        "rule": decision.rule,
        "rule_version": decision.rule_version,
        "legal_basis": {"code": basis.code, "reference": basis.reference} if basis else None,
        "consent": decision.consent,
        "reasons": [r.as_dict() for r in decision.reasons],
        "emergency_access": decision.emergency_access,
    }


def audit_decision(decision: CategoryDecision, fields: list[str] | None, digest: str | None) -> dict[str, Any]:
    """A decision as the trail records it: the truth. For a shielded category that is the restriction's denial,
    with what the requester was shown beside it (``shown``); the trail is for privacy officers, never for the
    requester (partners get only leaf hashes and proofs)."""
    recorded = decision.as_recorded()
    entry: dict[str, Any] = {
        "category": decision.category,
        "provider": decision.provider,
        "outcome": recorded.outcome,
        "rule": recorded.rule,
        "rule_version": recorded.rule_version,
        "legal_basis": recorded.legal_basis,
        "consent": recorded.consent,
        "reasons": recorded.reason_codes,
        "emergency_access": decision.emergency_access,
        "fields": None if decision.shielded else fields,
        "payload_sha256": None if decision.shielded else digest,
    }
    if decision.shielded:
        entry["shielded"] = True
        entry["shown"] = {"outcome": decision.outcome, "rule": decision.rule, "reasons": decision.reason_codes}
    if decision.redact:
        entry["withheld_fields"] = list(decision.redact)
    return entry


def _audit_ref(entry: AuditEntry) -> dict[str, Any]:
    return {"index": entry.index, "leaf_hash": entry.leaf_hash}


# --- Idempotency -------------------------------------------------------------------------------------------


def body_digest(payload: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def idempotent_replay(*, caller: Caller, endpoint: str, key: str | None, digest: str) -> StoredResponse | None:
    """The stored first response for this key and body; ``409`` when the key was used with another body."""
    if not key:
        return None
    cutoff = timezone.now() - dt.timedelta(hours=settings.GATEWAY_IDEMPOTENCY_HOURS)
    record = IdempotencyRecord.objects.filter(
        organisation=caller.organisation, endpoint=endpoint, key=key, created_at__gte=cutoff
    ).first()
    if record is None:
        return None
    if record.body_sha256 != digest:
        raise Problem(
            409,
            "idempotency_conflict",
            "Idempotency key reused",
            "This Idempotency-Key was used with a different body.",
        )
    try:
        body = unseal(IDEMPOTENCY, record.response_encrypted)
    except ValueError:
        raise Problem(
            409, "idempotency_conflict", "Idempotency key reused", "The stored response cannot be read."
        ) from None
    return StoredResponse(record.status_code, body)


def _idempotency_store(
    *, caller: Caller, endpoint: str, key: str, digest: str, status_code: int, body: dict[str, Any]
) -> None:
    cutoff = timezone.now() - dt.timedelta(hours=settings.GATEWAY_IDEMPOTENCY_HOURS)
    IdempotencyRecord.objects.filter(
        organisation=caller.organisation, endpoint=endpoint, key=key, created_at__lt=cutoff
    ).delete()
    IdempotencyRecord.objects.create(
        organisation=caller.organisation,
        endpoint=endpoint,
        key=key,
        body_sha256=digest,
        status_code=status_code,
        response_encrypted=seal(IDEMPOTENCY, body),
    )


# --- The actions -------------------------------------------------------------------------------------------


def _decision_request(caller: Caller, payload: dict[str, Any], providers: dict[str, str | None]) -> DecisionRequest:
    return DecisionRequest(
        requester=caller.organisation.slug,
        categories=tuple(payload["categories"]),
        providers=providers,
        purpose=payload["purpose"],
        on=timezone.localdate(),
        case_reference=payload["case_reference"],
        emergency=bool(payload.get("emergency")),
        has_justification=bool(payload.get("justification")),
    )


def _decide(
    caller: Caller, payload: dict[str, Any], policy: Policy
) -> tuple[DecisionRequest, tuple[CategoryDecision, ...]]:
    providers = holders_resolve(
        categories=payload["categories"],
        named=payload["providers"],
        case_reference=payload["case_reference"],
        requester=caller.organisation,
    )
    request = _decision_request(caller, payload, providers)
    person = person_by_bsn(payload["subject"]["bsn"])
    facts = subject_facts(
        person=person,
        subject_bsn=payload["subject"]["bsn"],
        requester=caller.organisation,
        case_reference=payload["case_reference"],
        on=request.on,
    )
    return request, decide(request, policy, facts)


def _actor(caller: Caller) -> Actor:
    return Actor(organisation=caller.organisation.slug, client_id=caller.client_id, acting_user=caller.acting_user)


def audit_unavailable() -> Problem:
    return Problem(
        503,
        "audit_unavailable",
        "Audit trail unavailable",
        "The decision could not be recorded in the audit trail, so nothing was released. Try again later.",
        headers={"Retry-After": "5"},
    )


HOLDER_UNAVAILABLE = Reason("provider_unavailable", "The data holder could not be reached; nothing was released.")


def releasable_fields(policy: Policy, decision: CategoryDecision) -> tuple[tuple[str, str], ...]:
    """The fields of the decision's category that may be asked for and released: all declared fields but
    those a restriction withholds (:attr:`CategoryDecision.redact`). The holder is not even asked for those."""
    fields = policy.categories[decision.category].fields
    return tuple((name, kind) for name, kind in fields if name not in decision.redact)


def intent_record(
    *,
    actor: Actor,
    subject_bsn: str,
    purpose: str,
    case_reference: str | None,
    emergency: bool,
    reference: str,
    policy_version: int,
    asking: list[CategoryDecision],
) -> None:
    """Write an ``intent`` entry before any holder is asked: asking a holder already discloses to it that the
    requester is interested in this person, so that disclosure is on the trail even when nothing comes back
    (a crash, an outage). Its own transaction; if it cannot be written, no holder is asked (``503``)."""
    if not asking:
        return
    try:
        with transaction.atomic():
            audit_append(
                EntryDraft(
                    kind="intent",
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
            )
    except AuditWriteError:
        raise audit_unavailable() from None


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
    (``read``), about whom. If it cannot be written, nothing is answered (``503``)."""
    subject = subject_pseudonym_ or (subject_pseudonym(subject_bsn) if subject_bsn else None)
    try:
        with transaction.atomic():
            audit_append(
                EntryDraft(
                    kind="api_view",
                    actor=_actor(caller),
                    subject=subject,
                    reference=reference,
                    outcome=read,
                    detail=detail or {},
                )
            )
    except AuditWriteError:
        raise audit_unavailable() from None


def _record_once(
    *, caller: Caller, endpoint: str, key: str | None, digest: str, write: Callable[[], StoredResponse]
) -> StoredResponse:
    """Run ``write`` (which records, audits and builds the response) in one transaction, with the response stored
    under the ``Idempotency-Key`` in that same transaction. If two retries with the same key race, the loser
    answers as the winner did; if the audit entry cannot be written, nothing is released (``503``)."""
    try:
        with transaction.atomic():
            result = write()
            if key:
                _idempotency_store(
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
        raise audit_unavailable() from None
    except AuditWriteError:
        raise audit_unavailable() from None
    return result


def information_request_submit(
    *, caller: Caller, payload: dict[str, Any], policy: Policy, idempotency_key: str | None
) -> StoredResponse:
    """Decide each category, fetch what is permitted, and record, audit and release it in one transaction."""
    digest = body_digest(payload)
    replay = idempotent_replay(caller=caller, endpoint="requests", key=idempotency_key, digest=digest)
    if replay is not None:
        return replay
    request_id = f"req_{ULID()}"
    request, decisions = _decide(caller, payload, policy)
    bsn = payload["subject"]["bsn"]
    intent_record(
        actor=_actor(caller),
        subject_bsn=bsn,
        purpose=request.purpose,
        case_reference=request.case_reference,
        emergency=request.emergency,
        reference=request_id,
        policy_version=policy.version,
        asking=[d for d in decisions if d.outcome == PERMIT],
    )

    final: list[CategoryDecision] = []
    data: dict[str, Any] = {}
    released: dict[str, tuple[list[str], str]] = {}
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

    status = overall_status(d.outcome for d in final)
    status_code = 202 if status == "pending" else 200

    def write() -> StoredResponse:
        entry = audit_append(
            EntryDraft(
                kind="request",
                actor=_actor(caller),
                subject=subject_pseudonym(bsn),
                purpose=request.purpose,
                case_reference=request.case_reference,
                emergency=request.emergency,
                reference=request_id,
                outcome=status,
                policy_version=policy.version,
                decisions=[audit_decision(d, *(released.get(d.category) or (None, None))) for d in final],
            )
        )
        stored = InformationRequest.objects.create(
            id=request_id,
            organisation=caller.organisation,
            client_id=caller.client_id,
            acting_user=caller.acting_user or "",
            subject_bsn=bsn,
            subject_pseudonym=entry.subject or "",
            purpose=request.purpose,
            case_reference=request.case_reference or "",
            emergency=request.emergency,
            justification=payload.get("justification") or "",
            status=status,
            created_at=entry.at,
            policy_version_id=policy.version,
            audit_index=entry.index,
            audit_leaf_hash=entry.leaf_hash,
        )
        stored_decisions = RequestDecision.objects.bulk_create(
            [
                RequestDecision(
                    request=stored,
                    position=position,
                    category=d.category,
                    provider=d.provider,
                    outcome=d.outcome,
                    rule=d.rule,
                    rule_version=d.rule_version,
                    legal_basis=d.legal_basis,
                    legal_basis_reference=policy.bases[d.legal_basis].reference if d.legal_basis else None,
                    consent_id=d.consent,
                    reasons=[r.as_dict() for r in d.reasons],
                    emergency_access=d.emergency_access,
                    shielded=d.shielded,
                    released_fields=(released.get(d.category) or ([], None))[0],
                    payload_sha256=(released.get(d.category) or ([], None))[1],
                )
                for position, d in enumerate(final)
            ]
        )
        _follow_ups_create(stored, stored_decisions, caller)
        entry_recorded.send(sender=InformationRequest, request_id=stored.id)
        body = request_json(stored, policy, final, data)
        return StoredResponse(status_code, body)

    return _record_once(caller=caller, endpoint="requests", key=idempotency_key, digest=digest, write=write)


def _follow_ups_create(stored: InformationRequest, decisions: list[RequestDecision], caller: Caller) -> None:
    """In the request's transaction: a pending item for each category the holder decides, and a review item
    when emergency access was used."""
    now = timezone.now()
    pending = [
        PendingItem(
            id=f"hld_{ULID()}",
            request=stored,
            decision=d,
            holder_id=Organisation.objects.values_list("pk", flat=True).get(slug=d.provider),
            category=d.category,
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.GATEWAY_HOLDER_PENDING_HOURS),
        )
        for d in decisions
        if d.outcome == PENDING and d.provider
    ]
    PendingItem.objects.bulk_create(pending)
    if any(d.emergency_access for d in decisions):
        EmergencyReview.objects.create(
            request=stored,
            organisation=caller.organisation,
            created_at=now,
            due_at=now + dt.timedelta(days=settings.GATEWAY_REVIEW_DAYS),
        )


def deliveries_for(stored: InformationRequest) -> dict[str, Any] | None:
    """Data a holder released after approval, while the requester may still fetch it."""
    rows = stored.deliveries.filter(expires_at__gt=timezone.now())
    return {row.category: unseal(DELIVERY, row.data_encrypted) for row in rows} or None


def request_json(
    stored: InformationRequest,
    policy: Policy | None,
    decisions: tuple[CategoryDecision, ...] | list[CategoryDecision] | None,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """The response body of api.md for a stored request (``data`` only in the response that released it)."""
    if decisions is not None and policy is not None:
        decision_list = [decision_json(d, policy) for d in decisions]
    else:
        decision_list = [stored_decision_json(d) for d in stored.decisions.all()]
        data = deliveries_for(stored)
    return {
        "id": stored.id,
        "status": stored.status,
        "created_at": stored.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "purpose": stored.purpose,
        "case_reference": stored.case_reference or None,
        "emergency": stored.emergency,
        "decisions": decision_list,
        "data": data,
        "audit": {"index": stored.audit_index, "leaf_hash": stored.audit_leaf_hash},
    }


def stored_decision_json(d: RequestDecision) -> dict[str, Any]:
    return {
        "category": d.category,
        "provider": d.provider,
        "outcome": d.outcome,
        "rule": d.rule,
        "rule_version": d.rule_version,
        "legal_basis": {"code": d.legal_basis, "reference": d.legal_basis_reference} if d.legal_basis else None,
        "consent": d.consent_id,
        "reasons": d.reasons,
        "emergency_access": d.emergency_access,
    }


def decision_check(
    *, caller: Caller, payload: dict[str, Any], policy: Policy, idempotency_key: str | None
) -> StoredResponse:
    """A dry run: the decisions a request would get, without fetching or releasing; audited as ``check``."""
    digest = body_digest(payload)
    replay = idempotent_replay(caller=caller, endpoint="decisions", key=idempotency_key, digest=digest)
    if replay is not None:
        return replay
    request, decisions = _decide(caller, payload, policy)

    def write() -> StoredResponse:
        entry = audit_append(
            EntryDraft(
                kind="check",
                actor=_actor(caller),
                subject=subject_pseudonym(payload["subject"]["bsn"]),
                purpose=request.purpose,
                case_reference=request.case_reference,
                emergency=request.emergency,
                outcome=overall_status(d.outcome for d in decisions),
                policy_version=policy.version,
                decisions=[audit_decision(d, None, None) for d in decisions],
            )
        )
        body = {"decisions": [decision_json(d, policy) for d in decisions], "audit": _audit_ref(entry)}
        return StoredResponse(200, body)

    return _record_once(caller=caller, endpoint="decisions", key=idempotency_key, digest=digest, write=write)


_KNOWN_FIELDS = frozenset(
    {
        "",
        "subject",
        "categories",
        "purpose",
        "case_reference",
        "emergency",
        "justification",
        "providers",
        "X-Acting-User",
        "Idempotency-Key",
        "cursor",
        "given_by",
        "explicit",
        "purposes",
        "recipients",
        "valid_from",
        "valid_until",
        "evidence",
        "reason",
        "bsn",
        "decision",
        "note",
        "after",
        "index",
        "tree_size",
        "first",
        "second",
    }
)


def _safe_field(field: str) -> str:
    """The field path as far as it is ours: a client's unknown member names never enter the trail."""
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    if root not in _KNOWN_FIELDS:
        return "(unknown field)"
    if root == "providers":
        return "providers"
    return field if re.fullmatch(r"[a-zA-Z_-]+(\[\d{1,2}\])?(\.[a-z_]+)?", field) else root


def rejected_attempt_record(
    *, caller: Caller, method: str, path: str, status_code: int, code: str, errors: list[dict[str, str]]
) -> None:
    """Audit an authenticated request that was refused (api.md: a rejected request is still audited).

    Only the path, the status, the problem code and the failing field names and codes are kept: a rejected
    body may hold anything, so none of its values enter the trail.
    """
    try:
        with transaction.atomic():
            audit_append(
                EntryDraft(
                    kind="rejected",
                    actor=_actor(caller),
                    outcome=code or "rejected",
                    detail={
                        "method": method[:10],
                        "path": path[:200],
                        "status": status_code,
                        "errors": [
                            {
                                "field": _safe_field(str(e.get("field", ""))),
                                "code": str(e.get("code", ""))[:64],
                            }
                            for e in errors[:50]
                        ],
                    },
                )
            )
    except AuditWriteError:
        # The request is refused either way and releases nothing; the failure is in the server log.
        import logging

        logging.getLogger(__name__).exception("could not audit a rejected attempt")
