"""Push disclosures: a holder shares on its own initiative ("uit eigen beweging": a report to Veilig Thuis under the
reporting right, Wmo 2015 art. 5.2.6; Veilig Thuis' notices under art. 4.1.1 lid 2; a breach of secrecy in a
conflict of duties) (docs/api.md, "Push disclosures").

The same policy decides as for a request, with the recipient as requester, the sender as holder and ``pushed``
set: the push is the holder's judgement, so a rule that leaves the decision to the holder does not wait for it,
and where the basis needs a recorded weighing the justification is that weighing. What is permitted is
minimised to the category's fields, recorded as an :class:`~gateway.models.InformationRequest` of the recipient
with ``pushed_by`` (so the subject's portal shows it like any other disclosure), audited as one ``disclosure``
entry in the same transaction, kept encrypted for the recipient to poll (``GATEWAY_DELIVERY_HOURS``), and
announced to it by the webhook ``disclosure.received``. A denied push is recorded and audited, and the recipient
hears nothing of it.

No oracle: the facts are those the recipient may know (:func:`consent.selectors.subject_facts` for the
recipient). A restriction the recipient may not know of shields the category: the sender is shown what an unknown
person would get, nothing reaches the recipient, and the trail records the truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.utils import timezone
from ulid import ULID

from audit.choices import AuditKind
from audit.ledger import EntryDraft, audit_append, payload_digest
from audit.pseudonym import subject_pseudonym
from consent.models import Organisation
from consent.policy import PENDING, PERMIT, CategoryDecision, DecisionRequest, Policy, decide_category
from consent.selectors import subject_facts
from gateway.callers import Caller
from gateway.crypto import DELIVERY, seal
from gateway.decision_record import decision_record, decision_records
from gateway.holders.minimise import minimise
from gateway.idempotency import StoredResponse, body_digest, idempotent_replay
from gateway.models import Delivery, InformationRequest
from gateway.request_flow import _record_once, decision_row, releasable_fields
from gateway.shapes import disclosure_sent_json
from gateway.signals import entry_recorded
from gateway.webhooks import webhook_enqueue


@dataclass(frozen=True)
class DisclosureInput:
    """A push as the API accepted it (:class:`gateway.api.disclosure_views.DisclosureInSerializer`): codes known
    to the policy in force, the recipient an active organisation other than the sender."""

    recipient: str
    subject_bsn: str
    category: str
    purpose: str
    data: Any
    case_reference: str | None = None
    justification: str = ""

    def canonical(self) -> dict[str, Any]:
        """The push in the API's member names: what an ``Idempotency-Key`` is bound to."""
        return {
            "recipient": self.recipient,
            "subject": {"bsn": self.subject_bsn},
            "category": self.category,
            "purpose": self.purpose,
            "case_reference": self.case_reference,
            "justification": self.justification,
            "data": self.data,
        }


def push_decide(*, sender: Organisation, recipient: Organisation, payload: DisclosureInput, policy: Policy) -> Any:
    """The policy's decision on the push: requester = recipient, holder = sender, ``pushed``. A category left
    pending (a consent still awaiting confirmation) counts as permitted: the sender is its holder, and its push is
    its confirmation."""
    asked = DecisionRequest(
        requester=recipient.slug,
        categories=(payload.category,),
        providers={payload.category: sender.slug},
        purpose=payload.purpose,
        on=timezone.localdate(),
        case_reference=payload.case_reference,
        emergency=False,
        has_justification=bool(payload.justification),
        pushed=True,
    )
    facts = subject_facts(
        subject_bsn=payload.subject_bsn,
        requester=recipient,
        case_reference=payload.case_reference,
        on=asked.on,
    )
    decision = decide_category(asked, payload.category, policy, facts)
    if decision.outcome == PENDING:
        decision = replace(decision, outcome=PERMIT, urgent=False)
    return decision


def disclosure_push(
    *, caller: Caller, payload: DisclosureInput, policy: Policy, idempotency_key: str | None
) -> StoredResponse:
    """Decide, record, audit and deliver a holder's push in one transaction (``201``: released or denied)."""
    digest = body_digest(payload.canonical())
    replay = idempotent_replay(caller=caller, endpoint="disclosures", key=idempotency_key, digest=digest)
    if replay is not None:
        return replay
    sender = caller.organisation
    recipient = Organisation.objects.get(slug=payload.recipient, active=True)
    decision: CategoryDecision = push_decide(sender=sender, recipient=recipient, payload=payload, policy=policy)
    data: Any = None
    fields: list[str] = []
    released = decision.releases
    if released:
        data, fields = minimise(payload.data, releasable_fields(policy, decision))
    status = "released" if decision.outcome == PERMIT else "denied"
    disclosure_id = f"req_{ULID()}"

    def write() -> StoredResponse:
        sealed_digest = payload_digest(data) if released else None
        entry = audit_append(
            EntryDraft(
                kind=AuditKind.DISCLOSURE,
                actor=caller.actor(),
                subject=subject_pseudonym(payload.subject_bsn),
                purpose=payload.purpose,
                case_reference=payload.case_reference,
                emergency=False,
                reference=disclosure_id,
                outcome=status,
                policy_version=policy.version,
                decisions=decision_records([decision_record(decision, fields if released else None, sealed_digest)]),
                detail={"recipient": recipient.slug, "justification_given": bool(payload.justification)},
            )
        )
        now = entry.at
        stored = InformationRequest.objects.create(
            id=disclosure_id,
            organisation=recipient,
            pushed_by=sender,
            client_id=caller.client_id,
            acting_user=caller.acting_user or "",
            subject_bsn=payload.subject_bsn,
            subject_pseudonym=entry.subject or "",
            purpose=payload.purpose,
            case_reference=payload.case_reference or "",
            emergency=False,
            justification=payload.justification,
            status=status,
            created_at=now,
            policy_version_id=policy.version,
            audit_index=entry.index,
            audit_leaf_hash=entry.leaf_hash,
            news_pending=True,
        )
        row = decision_row(
            decision,
            policy=policy,
            provider=sender.slug,
            released_fields=fields if released else [],
            payload_sha256=sealed_digest,
            emergency_access=False,
        )
        row.request = stored
        row.save(force_insert=True)
        if released:
            Delivery.objects.create(
                request=stored,
                category=decision.category,
                data_encrypted=seal(DELIVERY, data),
                expires_at=now + dt.timedelta(hours=settings.GATEWAY_DELIVERY_HOURS),
            )
            webhook_enqueue(
                organisation=recipient,
                event="disclosure.received",
                payload={"disclosure_id": disclosure_id, "sender": sender.slug, "category": decision.category},
            )
        entry_recorded.send(sender=InformationRequest, request_id=stored.id)
        return StoredResponse(201, disclosure_sent_json(stored, policy, decision))

    return _record_once(caller=caller, endpoint="disclosures", key=idempotency_key, digest=digest, write=write)
