"""The decision record: one category's decision as an audit leaf keeps it (the entry's ``decisions`` list).

Written by the three places that decide a category: the request flow (``request`` entries), the dry run
(``check``), the settling of a pending item by its holder or by expiry (``holder_decision``) and a holder's push
(``disclosure``). One definition,
so that a privacy officer and the verifier read every leaf the same way (docs/audit.md).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from consent.policy import CategoryDecision


class ShownDecision(TypedDict):
    """What the requester was shown for a shielded category (what an unknown person would get)."""

    outcome: str
    rule: str | None
    reasons: list[str]


class DecisionRecord(TypedDict):
    """One category's decision in an audit leaf: the truth, for privacy officers and never for the requester
    (partners get only leaf hashes and proofs)."""

    category: str
    provider: str | None
    outcome: str
    rule: str | None
    rule_version: int | None
    legal_basis: str | None
    consent: int | None
    reasons: list[str]
    emergency_access: bool
    fields: list[str] | None
    payload_sha256: str | None
    shielded: NotRequired[bool]
    shown: NotRequired[ShownDecision]
    withheld_fields: NotRequired[list[str]]
    preauthorisation: NotRequired[int]
    urgent: NotRequired[bool]


def decision_record(
    decision: CategoryDecision, fields: list[str] | None = None, digest: str | None = None
) -> DecisionRecord:
    """``decision`` as the trail records it, with the released field names and the SHA-256 of the released data.

    For a shielded category that is the restriction's denial, with what the requester was shown beside it
    (``shown``) and neither fields nor digest; the fields a restriction withheld are named (``withheld_fields``).
    """
    recorded = decision.as_recorded()
    record: DecisionRecord = {
        "category": decision.category,
        "provider": decision.provider,
        "outcome": recorded.outcome,
        "rule": recorded.rule,
        "rule_version": recorded.rule_version,
        "legal_basis": recorded.legal_basis,
        "consent": recorded.consent,
        "reasons": list(recorded.reason_codes),
        "emergency_access": decision.emergency_access,
        "fields": None if decision.shielded else fields,
        "payload_sha256": None if decision.shielded else digest,
    }
    if decision.shielded:
        record["shielded"] = True
        record["shown"] = {"outcome": decision.outcome, "rule": decision.rule, "reasons": list(decision.reason_codes)}
    if decision.redact:
        record["withheld_fields"] = list(decision.redact)
    if recorded.preauthorisation is not None:
        record["preauthorisation"] = recorded.preauthorisation  # the holder's case-level judgement it rests on
    if decision.urgent:
        record["urgent"] = True
    return record


def decision_records(records: list[DecisionRecord]) -> list[dict[str, Any]]:
    """The records as the ledger's :class:`audit.ledger.EntryDraft` takes them (plain JSON objects)."""
    return [dict(record) for record in records]
