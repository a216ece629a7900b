"""Writes to policy data. Every change of a sharing rule raises its version, which decisions cite."""

from __future__ import annotations

from django.db import transaction

from consent.models import SharingRule


@transaction.atomic
def sharing_rule_save(*, rule: SharingRule, changed: bool) -> SharingRule:
    """Save a rule from the admin; a change to an existing rule gets the next version number."""
    if changed:
        # through save(), not update(): django-auditlog (and so the config trail) sees only saves
        current = SharingRule.objects.select_for_update().values_list("version", flat=True).get(pk=rule.pk)
        rule.version = current + 1
    rule.save()
    return rule
