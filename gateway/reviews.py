"""Privacy officers' verdicts on emergency access (product.md: every emergency access is reviewed)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor, EntryDraft, audit_append
from gateway.models import EmergencyReview, ReviewStatus

VERDICTS = (ReviewStatus.JUSTIFIED, ReviewStatus.NOT_JUSTIFIED)


class ReviewError(ValueError):
    """The verdict cannot be given (unknown verdict, no note, already settled)."""


def emergency_review_settle(*, review: EmergencyReview, verdict: str, note: str, reviewer: str) -> EmergencyReview:
    """Give the verdict (justified / not justified, with a note) and write it to the trail as a ``review``."""
    if verdict not in VERDICTS:
        raise ReviewError(f"a verdict is one of {', '.join(VERDICTS)}")
    if not note.strip():
        raise ReviewError("a verdict needs a note")
    with transaction.atomic():
        locked = (
            EmergencyReview.objects.select_for_update(of=("self",), no_key=True)
            .select_related("request", "organisation")
            .get(pk=review.pk)
        )
        if locked.status != ReviewStatus.OPEN:
            raise ReviewError(f"this review is already {locked.status}")
        locked.status = verdict
        locked.verdict_note = note.strip()[:4000]
        locked.reviewer = reviewer[:150]
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "verdict_note", "reviewer", "decided_at"])
        audit_append(
            EntryDraft(
                kind=AuditKind.REVIEW,
                actor=Actor(user=reviewer),
                subject=locked.request.subject_pseudonym,
                purpose=locked.request.purpose,
                case_reference=locked.request.case_reference or None,
                emergency=True,
                reference=locked.request.id,
                outcome=verdict,
                detail={"requester": locked.organisation.slug, "overdue": locked.decided_at > locked.due_at},
            )
        )
    return locked
