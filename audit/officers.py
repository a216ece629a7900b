"""Audited actions on the console's officers (issue #9, item 6): who is a privacy officer, and which part of the
trail each one reads (:class:`audit.models.OfficerProfile`: the whole network, or one organisation).

A profile decides who reads the trail, so creating, changing and deleting one is an action that owns its
transaction and writes one ``fact_change`` entry in it (:mod:`audit.facts`). The entry names the officer's user by
key (``user_id``), the scope by slug, and which fields changed; never the public key itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from audit.facts import DELETE, change_of, fact_change_record
from audit.models import OfficerProfile


def _scope(profile: OfficerProfile) -> str | None:
    return profile.organisation.slug if profile.organisation_id is not None and profile.organisation else None


def officer_profile_save(*, profile: OfficerProfile, by_user: str) -> OfficerProfile:
    """Make a user an officer, or change their scope or public key. A widened scope (from one organisation to the
    network) is recorded with the scope before it."""
    with transaction.atomic():
        change = change_of(profile)
        if change.nothing:
            return profile
        codes: dict[str, object] = {"user_id": profile.user_id, "scope": _scope(profile) or "network"}
        if change.before is not None and change.before.organisation_id != profile.organisation_id:
            codes["previous_scope"] = _scope(change.before) or "network"
        profile.save()
        fact_change_record(
            by_user=by_user,
            model=OfficerProfile,
            key=str(profile.pk),
            reference=f"officer:{profile.pk}",
            outcome=change.outcome,
            fields=change.fields,
            codes=codes,
        )
    return profile


def officer_profile_delete(*, profile: OfficerProfile, by_user: str) -> None:
    """Take a user's officer profile away: they no longer get into the console."""
    with transaction.atomic():
        key = str(profile.pk)
        codes: dict[str, object] = {"user_id": profile.user_id, "scope": _scope(profile) or "network"}
        profile.delete()
        fact_change_record(
            by_user=by_user,
            model=OfficerProfile,
            key=key,
            reference=f"officer:{key}",
            outcome=DELETE,
            fields=[],
            codes=codes,
        )


def two_factor_satisfied(request: HttpRequest) -> bool:
    """True when the login was verified with a TOTP device, or when the deployment does not ask for one (demo)."""
    if not settings.GATEWAY_CONSOLE_REQUIRE_2FA:
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())
