"""The policy catalogue as reviewable data (issue 10 item 4): policy/catalogue.yaml, its checks, the permission
diff, the audited import and the commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from consent import choices
from consent.catalogue import (
    CATALOGUE_FILE,
    SCHEMA_FILE,
    CatalogueError,
    catalogue_from_db,
    catalogue_load,
    catalogue_parse,
    permission_diff,
    policy_import,
)
from consent.models import CategoryField, Organisation, Sector, SharingRule
from consent.selectors import policy_current

RAW = CATALOGUE_FILE.read_bytes()


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RAW)
    return data


def _dump(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


def _rule(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in data["rules"] if r["code"] == code)


def test_the_shipped_file_validates_and_matches_the_models_choices() -> None:
    catalogue = catalogue_load()
    assert catalogue.version and catalogue.sha256 == hashlib.sha256(RAW).hexdigest()
    assert (len(catalogue.organisations), len(catalogue.legal_bases), len(catalogue.rules)) == (37, 21, 71)
    defs = json.loads(SCHEMA_FILE.read_text())["$defs"]
    assert defs["regime"]["enum"] == choices.Regime.values
    assert defs["field"]["properties"]["type"]["enum"] == choices.FieldType.values
    assert defs["category"]["properties"]["sensitivity"]["enum"] == choices.Sensitivity.values
    assert defs["category"]["properties"]["consent_regime"]["enum"] == choices.ConsentRegime.values
    assert defs["legal_basis"]["properties"]["kind"]["enum"] == choices.BasisKind.values


def _unknown_basis(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["legal_basis"] = "WPG_99"


def _unknown_category(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["categories"].append("dna_profile")


def _unknown_purpose(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["purposes"] = ["curiosity"]


def _unknown_sector(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["recipient"] = {"sector": "press"}


def _unknown_organisation(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["provider"] = {"organisation": "politie-nergenshuizen"}


def _org_in_unknown_sector(d: dict[str, Any]) -> None:
    d["organisations"][0]["sector"] = "nowhere"


def _duplicate_rule(d: dict[str, Any]) -> None:
    d["rules"].append(dict(d["rules"][0]))


def _duplicate_organisation(d: dict[str, Any]) -> None:
    d["organisations"].append(dict(d["organisations"][3]))


def _duplicate_field(d: dict[str, Any]) -> None:
    d["categories"][0]["fields"].append({"name": "given_name", "type": "string"})


def _both_sector_and_organisation(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["recipient"] = {"sector": "veilig_thuis", "organisation": "veilig-thuis-rr"}


def _unknown_key(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["requires_concent"] = True


def _bad_field_type(d: dict[str, Any]) -> None:
    d["categories"][0]["fields"][0]["type"] = "blob"


def _bad_date(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["valid_from"] = "2025-02-30"


def _ends_before_it_starts(d: dict[str, Any]) -> None:
    _rule(d, "wpg20-police-to-vt")["valid_until"] = "2024-12-31"


def _no_version(d: dict[str, Any]) -> None:
    del d["catalogue_version"]


def _version_not_a_string(d: dict[str, Any]) -> None:
    d["catalogue_version"] = 2026.1


def _reporter_identity_to_police(d: dict[str, Any]) -> None:
    _rule(d, "wmo4112e-vt-to-police")["categories"].append("reporter_identity")


def _category_without_fields(d: dict[str, Any]) -> None:
    d["categories"][0]["fields"] = []


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown legal basis": (_unknown_basis, "rules[0] (wpg20-police-to-vt).legal_basis: unknown legal basis"),
    "unknown category": (_unknown_category, "rules[0] (wpg20-police-to-vt).categories[2]: unknown category"),
    "unknown purpose": (_unknown_purpose, "purposes[0]: unknown purpose 'curiosity'"),
    "unknown sector": (_unknown_sector, "recipient.sector: unknown sector 'press'"),
    "unknown organisation": (_unknown_organisation, "provider.organisation: unknown organisation"),
    "organisation in an unknown sector": (_org_in_unknown_sector, "(veilig-thuis-rr).sector: unknown sector"),
    "duplicate rule": (_duplicate_rule, "duplicate code, first at rules[0]"),
    "duplicate organisation": (_duplicate_organisation, "(reclassering-rr): duplicate slug"),
    "duplicate field": (_duplicate_field, "categories[0] (identity).fields[4] (given_name): duplicate name"),
    "sector and organisation": (_both_sector_and_organisation, "recipient"),
    "misspelt key": (_unknown_key, "'requires_concent' was unexpected"),
    "bad field type": (_bad_field_type, "fields[0] (given_name).type"),
    "impossible date": (_bad_date, "'2025-02-30' is not a date"),
    "period ends before it starts": (_ends_before_it_starts, "is before valid_from"),
    "no version": (_no_version, "'catalogue_version' is a required property"),
    "version not a string": (_version_not_a_string, "catalogue_version: 2026.1 is not of type 'string'"),
    "reporter identity beyond Veilig Thuis": (_reporter_identity_to_police, "goes only to Veilig Thuis"),
    "category without fields": (_category_without_fields, "categories[0] (identity).fields"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_kind_of_broken_file_is_refused_with_its_place_and_nothing_written(
    name: str, db: Any, tmp_path: Path
) -> None:
    breaks, message = BROKEN[name]
    data = _data()
    breaks(data)
    path = tmp_path / "catalogue.yaml"
    path.write_bytes(_dump(data))
    with pytest.raises(CatalogueError) as refused:
        catalogue_load(path)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
    entries, logs = AuditEntry.objects.count(), LogEntry.objects.count()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("policy_import", str(path))
    assert (AuditEntry.objects.count(), LogEntry.objects.count()) == (entries, logs)


def test_not_yaml_at_all_is_refused() -> None:
    with pytest.raises(CatalogueError, match="not valid YAML"):
        catalogue_parse(b"rules: [unclosed", source="x.yaml")


def test_dropping_a_category_is_refused_before_anything_is_written(db: Any) -> None:
    data = _data()
    data["categories"] = [c for c in data["categories"] if c["code"] != "housing"]
    for rule in data["rules"]:
        rule["categories"] = [c for c in rule["categories"] if c != "housing"] or ["victim_support"]
    entries = AuditEntry.objects.count()
    with pytest.raises(CatalogueError, match="category housing is in the database but not in the file"):
        policy_import(catalogue=catalogue_parse(_dump(data)))
    assert AuditEntry.objects.count() == entries


def test_the_seeded_world_is_the_file_and_a_second_import_writes_nothing(db: Any) -> None:
    """The test world was seeded through the import: the database is the file, so the diff is empty."""
    catalogue = catalogue_load()
    assert permission_diff(catalogue_from_db(), catalogue).empty
    entries, logs, versions = AuditEntry.objects.count(), LogEntry.objects.count(), policy_current().version
    result = policy_import(catalogue=catalogue)
    assert result.diff.empty and not result.written and result.changed_rows == 0
    assert (AuditEntry.objects.count(), LogEntry.objects.count()) == (entries, logs)
    assert policy_current().version == versions


def test_a_widening_shows_in_the_diff_and_on_the_trail(db: Any, tmp_path: Path) -> None:
    data = _data()
    data["catalogue_version"] = "2026.12.2"
    rule = _rule(data, "wpg20-police-to-vt")
    del rule["requires_case_participation"]  # police data to Veilig Thuis without a case: a widening
    data["rules"].append(
        {
            "code": "test-housing-to-childcare",
            "description": "Tenancy data for childcare.",
            "legal_basis": "WMO_5_1_6",
            "provider": {"sector": "housing"},
            "recipient": {"sector": "childcare"},
            "categories": ["housing"],
            "purposes": ["care_coordination"],
        }
    )
    data["categories"][0]["fields"].append({"name": "nationality", "type": "string"})
    data["rules"] = [r for r in data["rules"] if r["code"] != "wgs-housing-to-zvh"]
    path = tmp_path / "wider.yaml"
    path.write_bytes(_dump(data))
    old = tmp_path / "old.yaml"
    old.write_bytes(RAW)
    call_command("policy_diff", str(old), str(path), stdout=(out := _Out()))
    text = out.text
    assert text.index("WIDENINGS") < text.index("NARROWINGS")
    assert "+ WIDER sector:childcare asks sector:housing for housing (care_coordination)" in text
    assert "before: denied" in text
    assert "+ WIDER category identity: field nationality added" in text
    assert "- NARROWER sector:safety_house asks sector:housing for housing (zvh_case_meeting)" in text

    rule_version = SharingRule.objects.get(code="wpg20-police-to-vt").version
    version_before = policy_current().version
    configs = AuditEntry.objects.filter(kind="config").count()
    call_command("policy_import", str(path), "--dry-run", stdout=(dry := _Out()))
    assert "+ WIDER sector:veilig_thuis asks sector:police for house_ban (vt_investigation)" in dry.text
    assert AuditEntry.objects.filter(kind="config").count() == configs
    assert not SharingRule.objects.filter(code="test-housing-to-childcare").exists()

    call_command("policy_import", str(path), stdout=(done := _Out()))
    assert "Imported: policy version" in done.text
    entry = AuditEntry.objects.get(kind="policy_change", reference="catalogue:2026.12.2")
    assert entry.user == "system:policy_import"
    detail = entry.detail
    assert detail["catalogue_version"] == "2026.12.2"
    assert detail["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert detail["policy_version_before"] == version_before
    assert detail["policy_version_after"] == entry.policy_version == policy_current().version > version_before
    widened = {(w["requester"], w["holder"], w["category"], w["purpose"]) for w in detail["diff"]["widening"]}
    assert ("sector:veilig_thuis", "sector:police", "police_incidents", "vt_safety_assessment") in widened
    assert ("sector:childcare", "sector:housing", "housing", "care_coordination") in widened
    assert {"kind": "widening", "change": "category identity: field nationality added (released wherever it is)"} in (
        detail["diff"]["catalogue"]
    )
    # every change went through save(): config entries by the import, the changed rule at its next version
    assert AuditEntry.objects.filter(kind="config").count() > configs
    assert SharingRule.objects.get(code="wpg20-police-to-vt").version == rule_version + 1
    dropped = SharingRule.objects.get(code="wgs-housing-to-zvh")
    assert not dropped.active  # deactivated, not deleted: past decisions cite it
    assert CategoryField.objects.filter(category__code="identity", name="nationality").exists()
    # the detail carries codes only: no BSN of the world and no name of a person
    from demo import world

    leaf = json.dumps(detail)
    assert not any(p.bsn in leaf or p.family_name in leaf for p in world.PERSONS)


def test_an_organisation_left_out_is_deactivated_never_deleted(db: Any) -> None:
    data = _data()
    data["organisations"] = [o for o in data["organisations"] if o["slug"] != "woonstichting-waterweg"]
    result = policy_import(catalogue=catalogue_parse(_dump(data)))
    org = Organisation.objects.get(slug="woonstichting-waterweg")
    assert not org.active
    assert result.counts["organisations"]["deactivated"] == 1
    assert any(c.text == "organisation woonstichting-waterweg deactivated" for c in result.diff.catalogue)


def test_policy_import_works_outside_demo_mode(db: Any, settings: Any, tmp_path: Path) -> None:
    settings.GATEWAY_DEMO = False
    settings.DEBUG = False
    data = _data()
    data["catalogue_version"] = "2026.12.3"
    data["sectors"].append({"code": "sports_club", "name_nl": "Sportvereniging", "name_en": "Sports club"})
    path = tmp_path / "c.yaml"
    path.write_bytes(_dump(data))
    call_command("policy_import", str(path), stdout=_Out())
    assert Sector.objects.filter(code="sports_club").exists()
    assert AuditEntry.objects.filter(kind="policy_change", reference="catalogue:2026.12.3").count() == 1


def test_the_round_trip_keeps_every_decision_of_the_demo_world(db: Any) -> None:
    """Database -> import of the shipped file -> the same policy snapshot, so the same decisions (the dry-run
    sweeps of tests/test_no_oracle_sweep.py decide from exactly this snapshot)."""
    from consent.selectors import policy_snapshot_build

    before = policy_snapshot_build()
    policy_import(catalogue=catalogue_load())
    assert policy_snapshot_build() == before
    assert permission_diff(catalogue_from_db(), catalogue_load()).empty


class _Out:
    """A stdout for call_command that keeps what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
