"""Portal accounts in the admin: which login is which person (issue #9, item 6).

A change here decides whose timeline a login sees, so it goes through the audited actions of
:mod:`portal.accounts`, and each page that shows accounts writes an ``admin_view`` entry first (``audit.admin``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import FactChangesAdmin, ViewKeys, by_user
from audit.pseudonym import subject_pseudonym
from portal.accounts import portal_account_delete, portal_account_save
from portal.models import PortalAccount


@admin.register(PortalAccount)
class PortalAccountAdmin(FactChangesAdmin):
    """Links of logins to persons. Both are chosen by key: a select would list every person's name on the page."""

    list_display = ("user", "person", "email_notifications", "created_at")
    list_filter = ("email_notifications",)
    list_select_related = ("user", "person")
    raw_id_fields = ("user", "person")

    def view_keys(self, obj: PortalAccount) -> ViewKeys:
        return ViewKeys(reference=f"portal_account:{obj.pk}", subject=subject_pseudonym(obj.person.bsn))

    def fact_save(self, request: HttpRequest, obj: PortalAccount, form: Any, change: bool) -> None:
        portal_account_save(account=obj, by_user=by_user(request))

    def fact_delete(self, request: HttpRequest, obj: PortalAccount) -> None:
        portal_account_delete(account=obj, by_user=by_user(request))
