"""Audited actions on portal accounts (issue #9, item 6): which login is which person.

A :class:`portal.models.PortalAccount` decides whose timeline a login sees (with ``portal.access``): linking a
login to another person hands that person's entries, and their children's, to whoever holds the login. So creating,
changing and deleting an account is an action that owns its transaction and writes one ``fact_change`` entry in it
(:mod:`audit.facts`), about the person by pseudonym, the login by key (``user_id``).
"""

from __future__ import annotations

from django.db import transaction

from audit.facts import DELETE, change_of, fact_change_record
from audit.pseudonym import subject_pseudonym
from portal.models import PortalAccount


def portal_account_save(*, account: PortalAccount, by_user: str) -> PortalAccount:
    """Link a login to a person, or change the link or the e-mail setting. A link moved to another person is
    recorded with the previous person's pseudonym as well."""
    with transaction.atomic():
        change = change_of(account)
        if change.nothing:
            return account
        codes: dict[str, object] = {"user_id": account.user_id}
        before = change.before
        if before is not None and before.person_id != account.person_id:
            codes["previous_subject"] = subject_pseudonym(before.person.bsn)
        if before is not None and before.user_id != account.user_id:
            codes["previous_user_id"] = before.user_id
        account.save()
        fact_change_record(
            by_user=by_user,
            model=PortalAccount,
            key=str(account.pk),
            reference=f"portal_account:{account.pk}",
            outcome=change.outcome,
            fields=change.fields,
            subject=subject_pseudonym(account.person.bsn),
            codes=codes,
        )
    return account


def portal_account_delete(*, account: PortalAccount, by_user: str) -> None:
    """Unlink a login from its person: the login no longer sees anyone's entries."""
    with transaction.atomic():
        key, subject = str(account.pk), subject_pseudonym(account.person.bsn)
        codes: dict[str, object] = {"user_id": account.user_id}
        account.delete()
        fact_change_record(
            by_user=by_user,
            model=PortalAccount,
            key=key,
            reference=f"portal_account:{key}",
            outcome=DELETE,
            fields=[],
            subject=subject,
            codes=codes,
        )
