"""Writes to policy data. Every change of a sharing rule raises its version, which decisions cite."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from consent.models import SharingRule


@transaction.atomic
def sharing_rule_save(*, rule: SharingRule, changed: bool) -> SharingRule:
    """Save a rule from the admin; a change to an existing rule gets the next version number."""
    rule.save()
    if changed:
        SharingRule.objects.filter(pk=rule.pk).update(version=F("version") + 1)
        rule.refresh_from_db(fields=["version"])
    return rule
