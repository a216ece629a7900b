"""A holder's case-level pre-authorisation, granted and withdrawn only through these actions, each with its one
audit entry (``preauthorisation``) in the same transaction.

Where the law gives the holder the judgement (Wmo 2015 art. 4.1.1 lid 2 sub d/e for Veilig Thuis, Wjsg art. 39f
for the OM, Wpg art. 19 for the police), a request waits for the holder. In a high-risk case the holder may weigh
once, in advance: this recipient may receive these categories for these purposes in this case until a date. The
decision then permits and cites the pre-authorisation (:attr:`consent.policy.CategoryDecision.preauthorisation`)
instead of waiting. The weighing is the holder's written reasoning: it stays in the row, the entry carries its
SHA-256 (codes only on the trail). A pre-authorisation lasts at most ``GATEWAY_PREAUTHORISATION_MAX_DAYS``
(default 90) and ends early when withdrawn (for the future only).

No oracle: a holder that takes no part in the case (neither leads nor participates), or a closed case, gets the
same :class:`PreauthorisationNotFound` as an unknown case.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from consent.choices import CasePhase
from consent.consents import ConsentError
from consent.models import Case, DataCategory, Organisation, Preauthorisation, Purpose, Sector

DEFAULT_MAX_DAYS = 90
WEIGHING_MIN, WEIGHING_MAX = 20, 2000


class PreauthorisationError(ConsentError):
    """A pre-authorisation action refused; the API's handler maps it like any consent error (problem details)."""


class PreauthorisationInvalid(PreauthorisationError):
    """The input cannot be granted (no recipient, unknown codes, a period too long, no weighing)."""


class PreauthorisationNotFound(PreauthorisationError):
    """No such case for this holder, or no such pre-authorisation of this holder: one answer for both."""

    status_code = 404
    code = "not_found"
    title = "Not found"


class PreauthorisationConflict(PreauthorisationError):
    """Already withdrawn."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


def max_days() -> int:
    """The longest a pre-authorisation may run, in days (``GATEWAY_PREAUTHORISATION_MAX_DAYS``)."""
    return int(getattr(settings, "GATEWAY_PREAUTHORISATION_MAX_DAYS", DEFAULT_MAX_DAYS))


def _field(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def _takes_part(holder: Organisation, case: Case) -> bool:
    return case.phase != CasePhase.CLOSED and (
        case.lead_organisation_id == holder.pk or case.participants.filter(pk=holder.pk).exists()
    )


def _audit(preauthorisation: Preauthorisation, outcome: str, actor: Actor) -> None:
    audit_append(
        EntryDraft(
            kind=AuditKind.PREAUTHORISATION,
            actor=actor,
            case_reference=preauthorisation.case.reference,
            reference=f"preauthorisation:{preauthorisation.pk}",
            outcome=outcome,
            detail={
                "holder": preauthorisation.holder.slug,
                "recipient_organisation": (
                    preauthorisation.recipient_organisation.slug if preauthorisation.recipient_organisation else None
                ),
                "recipient_sector": preauthorisation.recipient_sector.code
                if preauthorisation.recipient_sector
                else None,
                "categories": sorted(preauthorisation.categories.values_list("code", flat=True)),
                "purposes": sorted(preauthorisation.purposes.values_list("code", flat=True)),
                "valid_from": preauthorisation.valid_from.isoformat(),
                "valid_until": preauthorisation.valid_until.isoformat(),
                "weighing_sha256": hashlib.sha256(preauthorisation.weighing.encode("utf-8")).hexdigest(),
            },
        )
    )


def preauthorisation_grant(
    *,
    holder: Organisation,
    case: Case,
    recipient_organisation: Organisation | None,
    recipient_sector: Sector | None,
    categories: list[str],
    purposes: list[str],
    valid_until: dt.date,
    weighing: str,
    actor: Actor,
) -> Preauthorisation:
    """Grant, for ``case``, that one recipient (an organisation or a sector, not both) may receive
    ``categories`` for ``purposes`` from ``holder`` until ``valid_until`` (from today) without the holder deciding
    each request. ``weighing`` (20 to 2000 characters) records why. The holder must take part in or lead the
    active case."""
    if not _takes_part(holder, case):
        raise PreauthorisationNotFound("No such case.")
    today = timezone.localdate()
    errors = []
    if (recipient_organisation is None) == (recipient_sector is None):
        errors.append(_field("recipient", "invalid", "Name one recipient: an organisation or a sector."))
    category_rows = list(DataCategory.objects.filter(code__in=set(categories)))
    if not categories or len(category_rows) != len(set(categories)):
        errors.append(_field("categories", "invalid", "Name one or more known categories."))
    purpose_rows = list(Purpose.objects.filter(code__in=set(purposes)))
    if not purposes or len(purpose_rows) != len(set(purposes)):
        errors.append(_field("purposes", "invalid", "Name one or more known purposes."))
    limit = max_days()
    if valid_until < today or valid_until > today + dt.timedelta(days=limit):
        errors.append(_field("valid_until", "invalid", f"Give a date from today up to {limit} days ahead."))
    text = weighing.strip()
    if not WEIGHING_MIN <= len(text) <= WEIGHING_MAX:
        errors.append(
            _field(
                "weighing",
                "weighing_required",
                f"Record the weighing in {WEIGHING_MIN} to {WEIGHING_MAX} characters.",
            )
        )
    if errors:
        raise PreauthorisationInvalid("The pre-authorisation cannot be granted.", errors)
    with transaction.atomic(durable=True):
        preauthorisation = Preauthorisation.objects.create(
            holder=holder,
            case=case,
            recipient_organisation=recipient_organisation,
            recipient_sector=recipient_sector,
            valid_from=today,
            valid_until=valid_until,
            weighing=text,
            granted_by_user=(actor.acting_user or actor.user or "")[:150],
        )
        preauthorisation.categories.set(category_rows)
        preauthorisation.purposes.set(purpose_rows)
        _audit(preauthorisation, "granted", actor)
    return preauthorisation


def preauthorisation_withdraw(*, holder: Organisation, preauthorisation_id: int, actor: Actor) -> Preauthorisation:
    """Withdraw the holder's pre-authorisation from now on; requests after this wait for the holder again."""
    with transaction.atomic(durable=True):
        preauthorisation = (
            Preauthorisation.objects.select_for_update(of=("self",))
            .select_related("holder", "case", "recipient_organisation", "recipient_sector")
            .filter(pk=preauthorisation_id, holder=holder)
            .first()
        )
        if preauthorisation is None:
            raise PreauthorisationNotFound("No such pre-authorisation.")
        if preauthorisation.withdrawn_at is not None:
            raise PreauthorisationConflict("The pre-authorisation was already withdrawn.")
        preauthorisation.withdrawn_at = timezone.now()
        preauthorisation.withdrawn_by_user = (actor.acting_user or actor.user or "")[:150]
        preauthorisation.save(update_fields=["withdrawn_at", "withdrawn_by_user"])
        _audit(preauthorisation, "withdrawn", actor)
    return preauthorisation
