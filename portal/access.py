"""Whose entries a portal user may see (domain.md, "Family access"), as a pure function of the facts.

- A person sees what concerns themselves from the age of 12 (a younger child has no own access).
- A parent with custody (or a guardian) sees a child's entries while the child is under 16, unless the child's
  interest opposes it (a ``child_16plus_blocks_parent`` restriction on the child).
- A suspect never sees entries about the victim, nor about children in a case where they are the suspect,
  whatever their custody.
- Entries withheld from the subject (a ``withheld_from_subject`` restriction with its legal ground and review
  date) are not shown to anyone in the portal; the portal only says how many and until when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OWN_ACCESS_FROM = 12
PARENT_ACCESS_UNTIL = 16
SELF, PARENT = "self", "parent"


@dataclass(frozen=True)
class PersonFact:
    bsn: str
    age: int
    blocks_parent: bool = False  # child_16plus_blocks_parent (or any recorded objection of the child)


@dataclass(frozen=True)
class CaseFact:
    reference: str
    roles: Mapping[str, frozenset[str]]  # BSN -> roles in the case
    active: bool = True


def shielded_from(viewer: str, cases: Iterable[CaseFact]) -> frozenset[str]:
    """Everyone a viewer may never see as a suspect: victims and children in every case where they are the
    suspect (closed cases included: the protection does not end with the case)."""
    shielded: set[str] = set()
    for case in cases:
        if "suspect" not in case.roles.get(viewer, frozenset()):
            continue
        for bsn, roles in case.roles.items():
            if bsn != viewer and roles & {"victim", "child_involved"}:
                shielded.add(bsn)
    return frozenset(shielded)


def visible_subjects(*, viewer: PersonFact, wards: Iterable[PersonFact], cases: Iterable[CaseFact]) -> dict[str, str]:
    """The persons whose entries the viewer may see, each with why (``self`` or ``parent``).

    ``wards`` are the persons the viewer has custody of (or is guardian of) today.
    """
    cases = list(cases)
    visible: dict[str, str] = {}
    if viewer.age >= OWN_ACCESS_FROM:
        visible[viewer.bsn] = SELF
    shielded = shielded_from(viewer.bsn, cases)
    for ward in wards:
        if ward.bsn == viewer.bsn or ward.age >= PARENT_ACCESS_UNTIL or ward.blocks_parent or ward.bsn in shielded:
            continue
        visible[ward.bsn] = PARENT
    return visible


@dataclass(frozen=True)
class WithheldFact:
    request_reference: str
    categories: frozenset[str]
    review_date: dt.date | None


def is_withheld(*, request_id: str, categories: Iterable[str], withheld: Iterable[WithheldFact]) -> bool:
    """Whether an entry is withheld from the subject: named by its request, or in a withheld category."""
    asked = set(categories)
    for fact in withheld:
        if fact.request_reference:
            if fact.request_reference == request_id:
                return True
        elif fact.categories & asked:
            return True
    return False
