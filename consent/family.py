"""Audited actions on the facts about families (domain.md: persons, relations, cases, case roles, measures).

These facts decide what may be shared and who sees what: a person's role in a case decides whether the portal
shows them the children's timelines (a suspect never sees them, ``portal.access``), a relation of custody decides
whose consent counts, a supervision order decides what a youth protection organisation may ask. So every create,
change and delete goes through an action here, which owns its transaction and writes one ``fact_change`` entry in
it (issue #9, item 6; :mod:`audit.facts` describes the entry). If the entry cannot be written, the change does
not happen (:class:`audit.ledger.AuditWriteError` propagates and the transaction rolls back). The admin saves
through these actions only (``consent.admin``); nothing else ``save()``s these models except the demo seed.

A delete removes what the database would otherwise delete silently along with the row (a person's relations,
case roles and measures; a case's roles and measures) through their own actions first, so each has its entry.
What the database protects (consents, restrictions, a portal account) stops the delete
(:class:`django.db.models.ProtectedError`) and nothing is removed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from audit.facts import DELETE, UPDATE, change_of, fact_change_record
from audit.pseudonym import subject_pseudonym
from consent.models import Case, CasePerson, Measure, Organisation, Person, Relation

# --- Persons ---------------------------------------------------------------------------------------------------


def person_save(*, person: Person, by_user: str) -> Person:
    """Create or change a person. A changed BSN is recorded as the new pseudonym with the previous one, so the
    trail of both stays linked; the BSN itself never enters the trail."""
    with transaction.atomic():
        change = change_of(person)
        if change.nothing:
            return person
        codes: dict[str, object] = {}
        if change.before is not None and change.before.bsn != person.bsn:
            codes["previous_subject"] = subject_pseudonym(change.before.bsn)
        person.save()
        fact_change_record(
            by_user=by_user,
            model=Person,
            key=str(person.pk),
            reference=f"person:{person.pk}",
            outcome=change.outcome,
            fields=change.fields,
            subject=subject_pseudonym(person.bsn),
            codes=codes,
        )
    return person


def person_delete(*, person: Person, by_user: str) -> None:
    """Delete a person with their relations (both ways), case roles and measures, each through its own action."""
    with transaction.atomic():
        for relation in Relation.objects.filter(person=person) | Relation.objects.filter(other=person):
            relation_delete(relation=relation, by_user=by_user)
        for role in CasePerson.objects.filter(person=person):
            case_role_delete(case_person=role, by_user=by_user)
        for measure in Measure.objects.filter(person=person):
            measure_delete(measure=measure, by_user=by_user)
        key = str(person.pk)
        subject = subject_pseudonym(person.bsn)
        person.delete()
        fact_change_record(
            by_user=by_user,
            model=Person,
            key=key,
            reference=f"person:{key}",
            outcome=DELETE,
            fields=[],
            subject=subject,
        )


# --- Relations -------------------------------------------------------------------------------------------------


def _relation_codes(relation: Relation) -> dict[str, object]:
    return {"relation_kind": relation.kind, "other_subject": subject_pseudonym(relation.other.bsn)}


def relation_save(*, relation: Relation, by_user: str) -> Relation:
    """Create or change a relation (custody, guardianship, partner, ...). The entry is about ``person``; the other
    person is named by pseudonym, and a changed kind keeps the previous kind."""
    with transaction.atomic():
        change = change_of(relation)
        if change.nothing:
            return relation
        codes = _relation_codes(relation)
        before = change.before
        if before is not None:
            if before.kind != relation.kind:
                codes["previous_relation_kind"] = before.kind
            if before.person_id != relation.person_id:
                codes["previous_subject"] = subject_pseudonym(before.person.bsn)
            if before.other_id != relation.other_id:
                codes["previous_other_subject"] = subject_pseudonym(before.other.bsn)
        relation.save()
        fact_change_record(
            by_user=by_user,
            model=Relation,
            key=str(relation.pk),
            reference=f"relation:{relation.pk}",
            outcome=change.outcome,
            fields=change.fields,
            subject=subject_pseudonym(relation.person.bsn),
            codes=codes,
        )
    return relation


def relation_delete(*, relation: Relation, by_user: str) -> None:
    """Delete a relation."""
    with transaction.atomic():
        key, subject, codes = str(relation.pk), subject_pseudonym(relation.person.bsn), _relation_codes(relation)
        relation.delete()
        fact_change_record(
            by_user=by_user,
            model=Relation,
            key=key,
            reference=f"relation:{key}",
            outcome=DELETE,
            fields=[],
            subject=subject,
            codes=codes,
        )


# --- Cases -----------------------------------------------------------------------------------------------------


def case_save(*, case: Case, by_user: str, participants: Iterable[Organisation] | None = None) -> Case:
    """Create or change a case: its phase (a closed case no longer counts as active), its lead and, when
    ``participants`` is given, the organisations taking part (which decides who may ask with the case). The entry
    names the phase, the previous phase and the participants added and removed, by code."""
    with transaction.atomic():
        change = change_of(case)
        fields = list(change.fields)
        taking_part = set(case.participants.values_list("slug", flat=True)) if change.before is not None else set()
        codes: dict[str, object] = {"phase": case.phase}
        if change.before is not None:
            if change.before.phase != case.phase:
                codes["previous_phase"] = change.before.phase
            if change.before.reference != case.reference:
                codes["previous_reference"] = change.before.reference
        chosen = list(participants) if participants is not None else None
        if chosen is not None and {o.slug for o in chosen} != taking_part:
            fields.append("participants")
            codes["participants_added"] = sorted({o.slug for o in chosen} - taking_part)
            codes["participants_removed"] = sorted(taking_part - {o.slug for o in chosen})
        if change.outcome == UPDATE and not fields:
            return case
        case.save()
        if chosen is not None:
            case.participants.set(chosen)
        fact_change_record(
            by_user=by_user,
            model=Case,
            key=str(case.pk),
            reference=f"case:{case.reference}",
            outcome=change.outcome,
            fields=fields,
            case_reference=case.reference,
            codes=codes,
        )
    return case


def case_delete(*, case: Case, by_user: str) -> None:
    """Delete a case with its case roles and measures, each through its own action."""
    with transaction.atomic():
        for role in CasePerson.objects.filter(case=case):
            case_role_delete(case_person=role, by_user=by_user)
        for measure in Measure.objects.filter(case=case):
            measure_delete(measure=measure, by_user=by_user)
        key, reference = str(case.pk), case.reference
        participants = sorted(case.participants.values_list("slug", flat=True))
        case.delete()
        fact_change_record(
            by_user=by_user,
            model=Case,
            key=key,
            reference=f"case:{reference}",
            outcome=DELETE,
            fields=[],
            case_reference=reference,
            codes={"participants_removed": participants},
        )


# --- Case roles ------------------------------------------------------------------------------------------------


def case_role_save(*, case_person: CasePerson, by_user: str) -> CasePerson:
    """Give a person a role in a case, or change it. The role decides what the portal shows the person: a suspect
    or alleged perpetrator never sees the victim's or the children's entries (``portal.access``), so a change of
    role is recorded with the role before it."""
    with transaction.atomic():
        change = change_of(case_person)
        if change.nothing:
            return case_person
        codes: dict[str, object] = {"role": case_person.role}
        before = change.before
        if before is not None:
            if before.role != case_person.role:
                codes["previous_role"] = before.role
            if before.person_id != case_person.person_id:
                codes["previous_subject"] = subject_pseudonym(before.person.bsn)
            if before.case_id != case_person.case_id:
                codes["previous_case"] = before.case.reference
        case_person.save()
        fact_change_record(
            by_user=by_user,
            model=CasePerson,
            key=str(case_person.pk),
            reference=f"case_role:{case_person.pk}",
            outcome=change.outcome,
            fields=change.fields,
            subject=subject_pseudonym(case_person.person.bsn),
            case_reference=case_person.case.reference,
            codes=codes,
        )
    return case_person


def case_role_delete(*, case_person: CasePerson, by_user: str) -> None:
    """Take a person's role in a case away."""
    with transaction.atomic():
        key, role = str(case_person.pk), case_person.role
        subject, reference = subject_pseudonym(case_person.person.bsn), case_person.case.reference
        case_person.delete()
        fact_change_record(
            by_user=by_user,
            model=CasePerson,
            key=key,
            reference=f"case_role:{key}",
            outcome=DELETE,
            fields=[],
            subject=subject,
            case_reference=reference,
            codes={"role": role},
        )


# --- Measures --------------------------------------------------------------------------------------------------


def _measure_codes(measure: Measure) -> dict[str, object]:
    return {"measure_kind": measure.kind, "organisation": measure.organisation.slug}


def measure_save(*, measure: Measure, by_user: str) -> Measure:
    """Create or change a measure (a supervision order, a house ban, ...); what an organisation may ask can rest on
    it (``SharingRule.requires_supervision_order``)."""
    with transaction.atomic():
        change = change_of(measure)
        if change.nothing:
            return measure
        codes = _measure_codes(measure)
        if change.before is not None and change.before.person_id != measure.person_id:
            codes["previous_subject"] = subject_pseudonym(change.before.person.bsn)
        measure.save()
        fact_change_record(
            by_user=by_user,
            model=Measure,
            key=str(measure.pk),
            reference=f"measure:{measure.pk}",
            outcome=change.outcome,
            fields=change.fields,
            subject=subject_pseudonym(measure.person.bsn),
            case_reference=measure.case.reference if measure.case else None,
            codes=codes,
        )
    return measure


def measure_delete(*, measure: Measure, by_user: str) -> None:
    """Delete a measure."""
    with transaction.atomic():
        key, codes = str(measure.pk), _measure_codes(measure)
        subject = subject_pseudonym(measure.person.bsn)
        case_reference = measure.case.reference if measure.case else None
        measure.delete()
        fact_change_record(
            by_user=by_user,
            model=Measure,
            key=key,
            reference=f"measure:{key}",
            outcome=DELETE,
            fields=[],
            subject=subject,
            case_reference=case_reference,
            codes=codes,
        )
