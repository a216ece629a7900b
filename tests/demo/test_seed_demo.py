"""seed_demo: the whole demo world, idempotent, refused outside demo mode (demo-world.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from consent.models import Organisation, SharingRule
from demo.seed import seed_world
from gateway.models import Application, InformationRequest

FIXED_SLUGS = {
    "veilig-thuis-rr",
    "politie-rotterdam",
    "om-rotterdam",
    "reclassering-rr",
    "rvdk-rotterdam",
    "jeugdbescherming-rr",
    "zvh-rr",
    "gemeente-rotterdam",
    "csg-rotterdam",
    "ggd-forensisch",
    "slachtofferhulp",
    "vrouwenopvang-rijnmond",
    "ggz-rijnmond",
    "huisarts-kralingen",
    "jeugdhulp-rijnmond",
    "school-regenboog",
    "woonstad-maasstad",
}


def test_refused_outside_demo_mode(db: Any, settings: Any) -> None:
    settings.GATEWAY_DEMO = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="demo"):
        call_command("seed_demo")


def test_the_world_and_a_second_run_changes_nothing(db: Any) -> None:
    slugs = set(Organisation.objects.values_list("slug", flat=True))
    assert slugs >= FIXED_SLUGS and len(slugs) >= 30
    assert set(Application.objects.values_list("client_id", flat=True)) == slugs
    versions = dict(SharingRule.objects.values_list("code", "version"))
    counts = seed_world()
    assert set(Organisation.objects.values_list("slug", flat=True)) == slugs
    assert dict(SharingRule.objects.values_list("code", "version")) == versions
    assert counts["organisations"] == len(slugs)


def test_history_is_made_through_the_request_flow_once(db: Any, settings: Any) -> None:
    settings.GATEWAY_DEMO = True
    call_command("seed_demo")
    made = InformationRequest.objects.count()
    statuses = set(InformationRequest.objects.values_list("status", flat=True))
    assert {"released", "partial", "denied", "pending"} <= statuses
    assert InformationRequest.objects.filter(emergency=True).exists()
    assert AuditEntry.objects.filter(kind="request").count() == made
    call_command("seed_demo")
    assert InformationRequest.objects.count() == made


def test_the_policy_comes_from_the_file_and_each_demo_consent_has_its_audit_entries(db: Any) -> None:
    """One path for the demo and a deployment: the seeded catalogue is policy/catalogue.yaml, imported with its
    ``policy_change`` entry; the demo consents were made through the consent actions, so each is on the trail."""
    from consent.catalogue import catalogue_from_db, catalogue_load, permission_diff
    from consent.models import Consent
    from demo import world

    assert permission_diff(catalogue_from_db(), catalogue_load()).empty
    assert AuditEntry.objects.filter(kind="policy_change", reference=f"catalogue:{world.CATALOGUE.version}").exists()
    consents = Consent.objects.filter(evidence__in=[c.evidence for c in world.CONSENTS])
    assert consents.count() == len(world.CONSENTS)
    for consent in consents:
        outcomes = set(
            AuditEntry.objects.filter(kind="consent", reference=f"consent:{consent.pk}").values_list(
                "outcome", flat=True
            )
        )
        assert {"recorded", "confirmed"} <= outcomes, outcomes
