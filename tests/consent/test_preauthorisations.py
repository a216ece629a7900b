"""A holder's case-level pre-authorisation (consent/preauthorisations.py): granted and withdrawn through audited
actions, and seen by the decision only in the named case, while in force and not withdrawn."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.utils import timezone

from audit.choices import AuditKind
from audit.ledger import Actor
from audit.models import AuditEntry
from consent.models import Case, Organisation, Preauthorisation, Sector
from consent.preauthorisations import (
    PreauthorisationConflict,
    PreauthorisationInvalid,
    PreauthorisationNotFound,
    preauthorisation_grant,
    preauthorisation_withdraw,
)
from consent.selectors import subject_facts
from demo.world import CASE_CHILD, CASE_STALKING, MARK

pytestmark = pytest.mark.django_db

WEIGHING = "Hoog risico: herhaald geweld en belaging; politie en OM moeten het risicobeeld kunnen volgen."
ACTOR = Actor(organisation="veilig-thuis-rr", client_id="veilig-thuis-rr", acting_user="vt:m.bakker")


def _org(slug: str) -> Organisation:
    return Organisation.objects.get(slug=slug)


def _grant(**overrides: Any) -> Preauthorisation:
    values: dict[str, Any] = {
        "holder": _org("veilig-thuis-rr"),
        "case": Case.objects.get(reference=CASE_STALKING),
        "recipient_organisation": None,
        "recipient_sector": Sector.objects.get(code="police"),
        "categories": ["risk_assessment"],
        "purposes": ["criminal_law"],
        "valid_until": timezone.localdate() + dt.timedelta(days=30),
        "weighing": WEIGHING,
        "actor": ACTOR,
    }
    values.update(overrides)
    return preauthorisation_grant(**values)


def test_a_grant_writes_the_row_and_one_entry_with_codes_and_the_weighing_hash() -> None:
    before = AuditEntry.objects.count()
    granted = _grant()
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.get(kind=AuditKind.PREAUTHORISATION, reference=f"preauthorisation:{granted.pk}")
    assert (entry.outcome, entry.case_reference, entry.organisation) == ("granted", CASE_STALKING, "veilig-thuis-rr")
    assert entry.detail["categories"] == ["risk_assessment"] and entry.detail["recipient_sector"] == "police"
    assert entry.detail["weighing_sha256"] == hashlib.sha256(WEIGHING.encode()).hexdigest()
    assert WEIGHING not in str(entry.detail)
    assert granted.valid_from == timezone.localdate() and granted.granted_by_user == "vt:m.bakker"


def test_the_decision_sees_it_only_in_the_named_case_with_a_participant() -> None:
    granted = _grant()
    today = timezone.localdate()
    police = _org("politie-rotterdam")
    facts = subject_facts(subject_bsn=MARK, requester=police, case_reference=CASE_STALKING, on=today)
    assert [p.id for p in facts.preauthorisations] == [granted.pk]
    assert facts.preauthorisations[0].recipient_sector == "police"
    other_case = subject_facts(subject_bsn=MARK, requester=police, case_reference=CASE_CHILD, on=today)
    no_case = subject_facts(subject_bsn=MARK, requester=police, case_reference=None, on=today)
    outsider = subject_facts(
        subject_bsn=MARK, requester=_org("woonstichting-waterweg"), case_reference=CASE_STALKING, on=today
    )
    assert other_case.preauthorisations == no_case.preauthorisations == outsider.preauthorisations == ()
    later = subject_facts(
        subject_bsn=MARK, requester=police, case_reference=CASE_STALKING, on=today + dt.timedelta(days=31)
    )
    assert later.preauthorisations == ()


def test_a_withdrawal_ends_it_with_its_own_entry_and_cannot_be_repeated() -> None:
    granted = _grant()
    withdrawn = preauthorisation_withdraw(holder=_org("veilig-thuis-rr"), preauthorisation_id=granted.pk, actor=ACTOR)
    assert withdrawn.withdrawn_at is not None
    outcomes = list(
        AuditEntry.objects.filter(reference=f"preauthorisation:{granted.pk}")
        .order_by("index")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["granted", "withdrawn"]
    facts = subject_facts(
        subject_bsn=MARK,
        requester=_org("politie-rotterdam"),
        case_reference=CASE_STALKING,
        on=timezone.localdate(),
    )
    assert facts.preauthorisations == ()
    with pytest.raises(PreauthorisationConflict):
        preauthorisation_withdraw(holder=_org("veilig-thuis-rr"), preauthorisation_id=granted.pk, actor=ACTOR)


def test_only_the_granting_holder_may_withdraw_and_others_get_not_found() -> None:
    granted = _grant()
    count = AuditEntry.objects.count()
    for holder, pk in ((_org("politie-rotterdam"), granted.pk), (_org("veilig-thuis-rr"), granted.pk + 1000)):
        with pytest.raises(PreauthorisationNotFound):
            preauthorisation_withdraw(holder=holder, preauthorisation_id=pk, actor=ACTOR)
    assert AuditEntry.objects.count() == count


def test_a_holder_outside_the_case_gets_the_answer_of_an_unknown_case() -> None:
    """No oracle: the case exists, but woonstichting takes no part in it."""
    count = AuditEntry.objects.count()
    with pytest.raises(PreauthorisationNotFound) as outside:
        _grant(holder=_org("woonstichting-waterweg"))
    assert outside.value.status_code == 404 and outside.value.code == "not_found"
    assert AuditEntry.objects.count() == count and not Preauthorisation.objects.exists()


INVALID = {
    "no recipient": ({"recipient_sector": None}, "recipient"),
    "two recipients": ({"recipient_organisation": "politie-rotterdam"}, "recipient"),
    "unknown category": ({"categories": ["risk_assessment", "dna"]}, "categories"),
    "no purposes": ({"purposes": []}, "purposes"),
    "in the past": ({"valid_until": -1}, "valid_until"),
    "beyond the maximum": ({"valid_until": 91}, "valid_until"),
    "weighing too short": ({"weighing": "  ok, dat mag.  "}, "weighing"),
    "weighing too long": ({"weighing": "x" * 2001}, "weighing"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_grants_are_refused_with_the_field_and_write_nothing(name: str) -> None:
    overrides, field = INVALID[name]
    values = dict(overrides)
    if isinstance(values.get("valid_until"), int):
        values["valid_until"] = timezone.localdate() + dt.timedelta(days=values["valid_until"])
    if isinstance(values.get("recipient_organisation"), str):
        values["recipient_organisation"] = _org(values["recipient_organisation"])
    count = AuditEntry.objects.count()
    with pytest.raises(PreauthorisationInvalid) as refused:
        _grant(**values)
    assert refused.value.status_code == 400
    assert field in {e["field"] for e in refused.value.errors}
    assert AuditEntry.objects.count() == count and not Preauthorisation.objects.exists()


def test_the_maximum_period_is_a_setting(settings: Any) -> None:
    settings.GATEWAY_PREAUTHORISATION_MAX_DAYS = 7
    with pytest.raises(PreauthorisationInvalid):
        _grant(valid_until=timezone.localdate() + dt.timedelta(days=8))
    assert _grant(valid_until=timezone.localdate() + dt.timedelta(days=7)).pk
