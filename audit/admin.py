"""The admin's part in the audit trail (issue #9, item 6): what every admin page over personal data shares, and
the trail itself in the admin (read only: the database refuses changes anyway).

- :class:`AuditedViewsAdmin`: every list, form, delete confirmation and history page of the model writes one
  ``admin_view`` entry before it is returned: who looked, at which page, which object (a reference and the
  person's pseudonym) or, on a list, how many rows and whose pseudonyms. Like the console's ``console_view``
  (``console.views``): if the entry cannot be written, the page is not shown (``503``).
- :class:`FactChangesAdmin`: every save, inline save, delete and bulk delete goes through the model's audited
  actions (:mod:`consent.family`, :mod:`audit.officers`, :mod:`portal.accounts`), never a raw ``save()``;
  a change that cannot be audited does not happen (the admin's transaction rolls back, ``503``).

- :class:`SecondFactorAdminSite`: the admin site itself is behind the same second factor as the console.

The entries carry codes, keys and pseudonyms only: never a BSN, a name or what was typed into a search box (a
list records the names of the query parameters used, not their values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.forms import BaseModelForm
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append
from audit.models import AuditEntry, AuditKind, OfficerProfile
from audit.officers import officer_profile_delete, officer_profile_save, two_factor_satisfied

#: Rows of a list page whose pseudonyms are named in the entry; a longer page is counted, not listed.
SUBJECTS_LISTED = 200


class SecondFactorAdminSite(OTPAdminSite):
    """The admin is no side door (issue #9, item 7): outside demo mode a staff user needs a login verified with a
    TOTP device (django-otp), exactly as the privacy console does, governed by the same setting
    (``GATEWAY_CONSOLE_REQUIRE_2FA``). A correct password alone opens no admin page; the login form then asks for
    the code as well (django-otp's admin login form). In demo mode the ordinary staff login suffices.

    The setting is read per request, not when the site is built, so the site follows the configuration it runs
    under (and a test can switch it)."""

    def has_permission(self, request: HttpRequest) -> bool:
        return admin.AdminSite.has_permission(self, request) and two_factor_satisfied(request)

    @property
    def login_form(self) -> type[AdminAuthenticationForm]:
        return OTPAdminAuthenticationForm if settings.GATEWAY_CONSOLE_REQUIRE_2FA else AdminAuthenticationForm

    @property
    def login_template(self) -> str | None:
        return OTPAdminSite.login_template if settings.GATEWAY_CONSOLE_REQUIRE_2FA else None


# Every app registers its pages on the default site (``admin.site``), django-otp's and django-oauth-toolkit's too;
# giving that one instance our class puts all of them, and any registered later, behind the same check. This is
# the integration django-otp documents for the default site.
admin.site.__class__ = SecondFactorAdminSite


@dataclass(frozen=True)
class ViewKeys:
    """How an object appears in the trail: a ``reference`` (``person:12``, ``case:CHGK-...``, a request id), the
    pseudonym of the person it concerns (``subject``) and the case it belongs to."""

    reference: str
    subject: str | None = None
    case_reference: str | None = None


def audit_unavailable(request: HttpRequest) -> HttpResponse:
    """The page or change could not be recorded in the audit trail, so nothing is shown and nothing changed."""
    return TemplateResponse(
        request,
        "admin/audit_unavailable.html",
        {**admin.site.each_context(request), "title": "Not available"},
        status=503,
    ).render()


def admin_view_record(
    *,
    request: HttpRequest,
    model: type[models.Model],
    page: str,
    keys: ViewKeys | None,
    rows: int,
    subjects: Iterable[str] = (),
    params: Iterable[str] = (),
) -> AuditEntry:
    """Write the ``admin_view`` entry of one admin page, inside the caller's transaction."""
    detail: dict[str, Any] = {"model": model._meta.label_lower, "rows": rows}
    listed = sorted({s for s in subjects if s})
    if listed:
        detail["subjects"] = listed[:SUBJECTS_LISTED]
        detail["subjects_cut"] = len(listed) > SUBJECTS_LISTED
    if params:
        detail["params"] = sorted(set(params))
    return audit_append(
        EntryDraft(
            kind=AuditKind.ADMIN_VIEW.value,
            actor=Actor(user=request.user.get_username()),
            subject=keys.subject if keys else None,
            case_reference=keys.case_reference if keys else None,
            reference=keys.reference if keys else model._meta.label_lower,
            outcome=page,
            detail=detail,
        )
    )


class AuditedViewsAdmin(admin.ModelAdmin):
    """An admin over personal data: each page it shows is an ``admin_view`` entry first (fail closed)."""

    def view_keys(self, obj: Any) -> ViewKeys:
        """The object's reference and the pseudonym of the person it concerns; override where a person is known."""
        return ViewKeys(reference=f"{obj._meta.model_name}:{obj.pk}")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self._recorded(
            request, "list", lambda: super(AuditedViewsAdmin, self).changelist_view(request, extra_context)
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        page = "add" if object_id is None else "change"
        return self._recorded(
            request,
            page,
            lambda: super(AuditedViewsAdmin, self).changeform_view(request, object_id, form_url, extra_context),
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._recorded(
            request, "delete", lambda: super(AuditedViewsAdmin, self).delete_view(request, object_id, extra_context)
        )

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._recorded(
            request, "history", lambda: super(AuditedViewsAdmin, self).history_view(request, object_id, extra_context)
        )

    def _recorded(self, request: HttpRequest, page: str, view: Callable[[], HttpResponse]) -> HttpResponse:
        """Run the view; a page it shows (not a redirect, not a refusal) is recorded before it is returned. A view
        that fails to write its own entries (a change) is answered the same way: ``503``, nothing shown."""
        try:
            response = view()
            if isinstance(response, TemplateResponse) and response.status_code < 300:
                with transaction.atomic():
                    self._record_page(request, page, response.context_data or {})
        except AuditWriteError:
            return audit_unavailable(request)
        return response

    def _record_page(self, request: HttpRequest, page: str, context: dict[str, Any]) -> None:
        changelist = context.get("cl")
        if isinstance(changelist, ChangeList):
            shown = list(changelist.result_list)
            admin_view_record(
                request=request,
                model=self.model,
                page="list",
                keys=None,
                rows=len(shown),
                subjects=(self.view_keys(obj).subject or "" for obj in shown),
                params=request.GET.keys(),
            )
            return
        if "queryset" in context and "deletable_objects" in context:  # the bulk delete's confirmation page
            chosen = list(context["queryset"])
            admin_view_record(
                request=request,
                model=self.model,
                page="delete_selected",
                keys=None,
                rows=len(chosen),
                subjects=(self.view_keys(obj).subject or "" for obj in chosen),
            )
            return
        obj = context.get("original") or context.get("object")
        if isinstance(obj, models.Model):
            admin_view_record(request=request, model=self.model, page=page, keys=self.view_keys(obj), rows=1)
        else:
            admin_view_record(request=request, model=self.model, page=page, keys=None, rows=0)


class FactChangesAdmin(AuditedViewsAdmin):
    """An admin whose writes go through audited actions. Subclasses say which: :meth:`fact_save` and
    :meth:`fact_delete` for the model, :meth:`inline_save` and :meth:`inline_delete` for its inlines. Many-to-many
    fields of the form are the action's to save (:meth:`fact_save` gets the form): nothing is saved around it."""

    def fact_save(self, request: HttpRequest, obj: Any, form: BaseModelForm[Any], change: bool) -> None:
        raise NotImplementedError(f"{type(self).__name__} saves through an audited action")

    def fact_delete(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} deletes through an audited action")

    def inline_save(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} saves {type(obj).__name__} through an audited action")

    def inline_delete(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} deletes {type(obj).__name__} through an audited action")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.fact_save(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.fact_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():  # all of the selection or none of it
            for obj in queryset:
                self.fact_delete(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        saved = formset.save(commit=False)  # new and changed rows, unsaved; deleted rows, not yet deleted
        for obj in formset.deleted_objects:
            self.inline_delete(request, obj)
        for obj in saved:
            self.inline_save(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":  # a bulk action: its admin log and its audited changes commit together or not
            try:
                with transaction.atomic(durable=True):
                    return super().changelist_view(request, extra_context)
            except AuditWriteError:
                return audit_unavailable(request)
        return super().changelist_view(request, extra_context)


def by_user(request: HttpRequest) -> str:
    """The actor of an admin change: the logged-in staff user."""
    return request.user.get_username()


# --- The trail --------------------------------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditedViewsAdmin):
    """The trail, read only. Reading it here is recorded as the console's reading is."""

    list_display = ("index", "kind", "at", "organisation", "purpose", "outcome", "emergency")
    list_filter = ("kind", "outcome", "emergency")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def view_keys(self, obj: AuditEntry) -> ViewKeys:
        return ViewKeys(reference=f"entry:{obj.index}", subject=obj.subject, case_reference=obj.case_reference)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Officers of the console --------------------------------------------------------------------------------------


@admin.register(OfficerProfile)
class OfficerProfileAdmin(FactChangesAdmin):
    """Who is a privacy officer, and of which organisation (none: the whole network). Each change is a
    ``fact_change`` entry (:mod:`audit.officers`): it decides who reads which part of the trail."""

    list_display = ("user", "organisation", "has_public_key")
    list_filter = ("organisation",)
    raw_id_fields = ("user",)
    list_select_related = ("user", "organisation")

    @admin.display(boolean=True, description="public key on file")
    def has_public_key(self, obj: OfficerProfile) -> bool:
        return bool(obj.public_key.strip())

    def fact_save(self, request: HttpRequest, obj: OfficerProfile, form: Any, change: bool) -> None:
        officer_profile_save(profile=obj, by_user=by_user(request))

    def fact_delete(self, request: HttpRequest, obj: OfficerProfile) -> None:
        officer_profile_delete(profile=obj, by_user=by_user(request))


# --- Users -------------------------------------------------------------------------------------------------------

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(AuditedViewsAdmin, UserAdmin):
    """Django's user admin, with its pages recorded: portal users are family members, with their names and
    e-mail addresses. No search box: its terms (a name) would go into the page address and the access logs."""

    search_fields = ()

    def view_keys(self, obj: Any) -> ViewKeys:
        return ViewKeys(reference=f"user:{obj.pk}")
