"""The ``fact_change`` entry: one change to the facts about families or to the accounts that see them (issue #9,
item 6; audit.md, "What is recorded").

Persons, relations, cases and their participants, case roles and measures decide what the network may share and
what a family member sees in the portal (a role turned from "suspect" to "parent" opens the children's timelines);
officer profiles and portal accounts decide who reads what. Every change to them is an action that owns its
transaction and writes one ``fact_change`` entry in it (:mod:`consent.family`, :mod:`audit.officers`,
:mod:`portal.accounts`). This module holds what those actions share: which fields changed, and the entry's shape.

The entry never holds a value that could identify someone: the person concerned is the keyed pseudonym
(``subject``), the object is a key (``reference``, such as ``person:12`` or ``case:CHGK-RR-2026-0001``), the
outcome is ``create``, ``update`` or ``delete``, and ``detail`` holds the model, the key, the *names* of the fields
that changed and, where they help a reader, codes (a role, a relation kind, an organisation's slug, a pseudonym).
Never a name, a BSN, a date of birth or free text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models

from audit.ledger import Actor, EntryDraft, audit_append
from audit.models import AuditEntry, AuditKind

CREATE, UPDATE, DELETE = "create", "update", "delete"

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Change(Generic[M]):
    """What saving an instance would do: ``create`` or ``update``, the names of the fields that change, and the
    stored row as it is before (``None`` for a new row)."""

    outcome: str
    fields: list[str]
    before: M | None

    @property
    def nothing(self) -> bool:
        """An update that changes no field: nothing to save and nothing to record."""
        return self.outcome == UPDATE and not self.fields


def change_of(instance: M) -> Change[M]:
    """Compare ``instance`` with its stored row (read under a lock, so two saves of one row are recorded one after
    the other). For a new row the fields are those given a value. Runs inside the caller's transaction."""
    fields = [f for f in instance._meta.concrete_fields if not f.primary_key]
    before = None
    if instance.pk is not None:
        before = type(instance)._default_manager.select_for_update().filter(pk=instance.pk).first()
    if before is None:
        return Change(CREATE, sorted(f.name for f in fields if f.value_from_object(instance) not in (None, "")), None)
    changed = sorted(f.name for f in fields if f.value_from_object(instance) != f.value_from_object(before))
    return Change(UPDATE, changed, before)


def fact_change_record(
    *,
    by_user: str,
    model: type[models.Model],
    key: str,
    reference: str,
    outcome: str,
    fields: list[str],
    subject: str | None = None,
    case_reference: str | None = None,
    codes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write the ``fact_change`` entry of one change, inside the caller's transaction (the one that makes it).

    ``codes`` adds values that identify no one (role and relation codes, organisation slugs, pseudonyms); the
    caller is responsible for that, which is why the actions name each one explicitly."""
    return audit_append(
        EntryDraft(
            kind=AuditKind.FACT_CHANGE.value,
            actor=Actor(user=by_user),
            subject=subject,
            case_reference=case_reference,
            reference=reference,
            outcome=outcome,
            detail={"model": model._meta.label_lower, "key": key, "fields": sorted(fields), **(codes or {})},
        )
    )
