"""Issue 11 in the catalogue and the facts: the new fields read and written, the statutes' checks, the permission
diff's classification, and the facts about who a person is (only in the named case)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from consent.catalogue import CATALOGUE_FILE, CatalogueError, catalogue_parse, permission_diff, policy_import
from consent.models import LegalBasis, Organisation, Sector, SharingRule
from consent.selectors import policy_current, subject_facts
from demo.world import ADAM, CASE_CHILD, CASE_STALKING, FATIMA

RAW = CATALOGUE_FILE.read_bytes()


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RAW)
    return data


NEW_KEYS = {
    "sectors": ("special_data_exception", "criminal_data_exception", "consent_regime", "consent_possible"),
    "legal_bases": ("weighing_required",),
    "rules": ("supervision_order_covers_parents",),
}


def _bare() -> dict[str, Any]:
    """The shipped file without issue 11's keys: how a catalogue written before them reads."""
    data = _data()
    for section, keys in NEW_KEYS.items():
        for item in data[section]:
            for key in keys:
                item.pop(key, None)
    return data


def _dump(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def _rule(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in data["rules"] if r["code"] == code)


def _sector(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in data["sectors"] if s["code"] == code)


def _basis(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(b for b in data["legal_bases"] if b["code"] == code)


def _consent_on_police_data(d: dict[str, Any]) -> None:
    _sector(d, "police")["consent_possible"] = False
    _rule(d, "wpg20-police-to-vt")["legal_basis"] = "AVG_9_2_A"


def _criminal_data_on_plain_consent(d: dict[str, Any]) -> None:
    _rule(d, "avg61a-education-to-municipality")["categories"].append("probation_supervision")


def _criminal_data_to_housing(d: dict[str, Any]) -> None:
    _rule(d, "wgs-housing-to-zvh")["recipient"] = {"sector": "housing"}
    _rule(d, "wgs-housing-to-zvh")["provider"] = {"sector": "police"}
    _rule(d, "wgs-housing-to-zvh")["categories"] = ["police_incidents"]


REFUSED = {
    "consent for police data": (_consent_on_police_data, "allows no consent basis (consent_possible: false"),
    "criminal data on a plain consent": (_criminal_data_on_plain_consent, "not explicit (UAVG art. 32"),
    "criminal data to housing": (_criminal_data_to_housing, "never goes to sector housing"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_statutes_refuse_these_rules(name: str) -> None:
    breaks, message = REFUSED[name]
    data = _data()
    breaks(data)
    with pytest.raises(CatalogueError) as refused:
        catalogue_parse(_dump(data))
    assert any(message in p for p in refused.value.problems), refused.value.problems


def test_a_file_without_the_new_keys_still_validates_with_the_defaults() -> None:
    catalogue = catalogue_parse(_dump(_bare()))
    police = next(s for s in catalogue.sectors if s.code == "police")
    assert (police.special_data_exception, police.consent_regime, police.consent_possible) == ("", None, True)
    assert not any(b.weighing_required for b in catalogue.legal_bases)


def _law(data: dict[str, Any]) -> dict[str, Any]:
    """The shipped file with some of issue 11's values set (the CATALOGUE helper sets them all)."""
    _basis(data, "WMO_4_1_1_2E")["weighing_required"] = True
    _rule(data, "wmo4112d-vt-to-gi")["supervision_order_covers_parents"] = True
    _rule(data, "wmo4112d-vt-to-gi")["requires_supervision_order"] = True
    for code in ("veilig_thuis", "police", "victim_support"):
        _sector(data, code)["special_data_exception"] = "test"
        _sector(data, code)["criminal_data_exception"] = "test"
    _sector(data, "police")["consent_possible"] = False
    _sector(data, "education")["consent_regime"] = "avg"
    return data


@pytest.mark.django_db
def test_the_new_fields_are_imported_snapshotted_and_diffed() -> None:
    old = catalogue_parse(_dump(_bare()))
    new = catalogue_parse(_dump(_law(_bare())))
    diff = permission_diff(old, new)
    by_key = {(c.requester, c.holder, c.category, c.purpose): c for c in diff.permissions}
    # weighing required: the approval now needs a note, a narrowing
    weighed = by_key[("sector:police", "sector:veilig_thuis", "risk_assessment", "criminal_law")]
    assert weighed.kind == "narrowing" and "weighing" in weighed.after.text()
    # recipient authority declared: a sector without an exception loses special data (narrowing), police keeps it
    assert ("sector:veilig_thuis", "sector:police", "police_incidents", "vt_safety_assessment") not in by_key
    lost = [c for c in diff.permissions if c.requester == "sector:shelter" and c.after.status == "denied"]
    assert lost and all(c.kind == "narrowing" for c in lost)
    texts = {c.text: c.kind for c in diff.catalogue}
    assert texts["sector police may now receive special-category data (test)"] == "widening"
    assert texts["sector police: consent is no longer a basis for its data"] == "narrowing"

    policy_import(catalogue=new)
    assert LegalBasis.objects.get(code="WMO_4_1_1_2E").weighing_required
    assert SharingRule.objects.get(code="wmo4112d-vt-to-gi").supervision_order_covers_parents
    police = Sector.objects.get(code="police")
    assert (police.special_data_exception, police.consent_possible) == ("test", False)
    assert Sector.objects.get(code="education").consent_regime == "avg"
    policy = policy_current()
    assert policy.bases["WMO_4_1_1_2E"].weighing_required
    assert policy.sectors["police"].consent_possible is False and policy.recipient_authority_declared
    assert next(r for r in policy.rules if r.code == "wmo4112d-vt-to-gi").supervision_order_covers_parents
    assert permission_diff(new, new).empty


def test_a_parent_order_rule_is_a_widening_and_back_a_narrowing() -> None:
    data = _bare()
    _rule(data, "jw7311-education-to-gi")["requires_supervision_order"] = True
    strict = catalogue_parse(_dump(data))
    _rule(data, "jw7311-education-to-gi")["supervision_order_covers_parents"] = True
    wide = catalogue_parse(_dump(data))
    assert {c.kind for c in permission_diff(strict, wide).permissions} == {"widening"}
    assert {c.kind for c in permission_diff(wide, strict).permissions} == {"narrowing"}


@pytest.mark.django_db
def test_facts_about_who_the_person_is_only_in_the_named_case() -> None:
    """Fatima is a parent of Adam, on whom jeugdbescherming-rr executes a supervision order in the child case."""
    gi = Organisation.objects.get(slug="jeugdbescherming-rr")
    on = dt.date(2026, 11, 24)
    named = subject_facts(subject_bsn=FATIMA, requester=gi, case_reference=CASE_CHILD, on=on)
    assert [org for org, _start, _end in named.child_supervision_orders] == ["jeugdbescherming-rr"]
    assert named.can_consent is True
    elsewhere = subject_facts(subject_bsn=FATIMA, requester=gi, case_reference=CASE_STALKING, on=on)
    unnamed = subject_facts(subject_bsn=FATIMA, requester=gi, case_reference=None, on=on)
    for facts in (elsewhere, unnamed):
        assert (facts.child_supervision_orders, facts.can_consent, facts.preauthorisations) == ((), True, ())
    child = subject_facts(subject_bsn=ADAM, requester=gi, case_reference=CASE_CHILD, on=on)
    assert child.can_consent is False  # under 12
    assert child.child_supervision_orders == ()
    child_unnamed = subject_facts(subject_bsn=ADAM, requester=gi, case_reference=None, on=on)
    assert child_unnamed.can_consent is True
