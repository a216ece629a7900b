"""Admin pages for the policy data and the facts about families (domain.md).

Policy data is configuration, on the trail through django-auditlog (``audit.config_trail``). The facts about
families are changed through the audited actions of :mod:`consent.family` (persons, relations, cases, case roles,
measures) and :mod:`consent.restrictions`, and every page that shows them writes an ``admin_view`` entry first
(``audit.admin``). Consents are read only here. A person is found by a posted BSN, never by one in the address.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from audit.admin import (
    AuditedViewsAdmin,
    FactChangesAdmin,
    ViewKeys,
    admin_view_record,
    audit_unavailable,
    by_user,
)
from audit.ledger import AuditWriteError
from audit.pseudonym import subject_pseudonym
from consent import models
from consent.bsn import is_valid_bsn
from consent.consents import consent_age_rule_save
from consent.family import (
    case_delete,
    case_role_delete,
    case_role_save,
    case_save,
    measure_delete,
    measure_save,
    person_delete,
    person_save,
    relation_delete,
    relation_save,
)
from consent.restrictions import restriction_changed, restriction_lift
from consent.services import sharing_rule_save


@admin.register(models.Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ("code", "name_nl", "name_en", "may_record_consent")
    search_fields = ("code", "name_nl", "name_en")


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "sector", "regime", "professional_secrecy", "active")
    list_filter = ("sector", "regime", "active")
    search_fields = ("slug", "name")


class CategoryFieldInline(admin.TabularInline):
    model = models.CategoryField
    extra = 0


@admin.register(models.DataCategory)
class DataCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "sensitivity", "regime", "consent_regime")
    list_filter = ("sensitivity", "regime", "consent_regime")
    inlines = [CategoryFieldInline]


@admin.register(models.ConsentAgeRule)
class ConsentAgeRuleAdmin(admin.ModelAdmin):
    """The consent age table (domain.md, "Consent by age"): one row per regime and age band. Rows are not
    deleted (a missing cell would make the strictest requirement apply); a change raises the row's version."""

    list_display = ("regime", "band", "consent_needed", "reference", "version")
    list_filter = ("regime", "band", "consent_needed")
    readonly_fields = ("version",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("regime", "band", "version") if obj is not None else ("version",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        consent_age_rule_save(rule=obj, changed=change and bool(form.changed_data))


@admin.register(models.Purpose)
class PurposeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_nl", "name_en")


@admin.register(models.LegalBasis)
class LegalBasisAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "reference", "requires_consent", "holder_decides", "needs_confirmation")
    list_filter = ("kind", "needs_confirmation", "holder_decides")
    search_fields = ("code", "reference")


@admin.register(models.SharingRule)
class SharingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "version",
        "provider_sector",
        "provider_organisation",
        "recipient_sector",
        "recipient_organisation",
        "legal_basis",
        "holder_decides",
        "emergency_only",
        "active",
    )
    list_filter = ("legal_basis", "active", "holder_decides", "emergency_only")
    filter_horizontal = ("categories", "purposes")
    readonly_fields = ("version",)
    search_fields = ("code", "description", "covenant_reference")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        sharing_rule_save(rule=obj, changed=change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records written only by audited actions: the admin shows them and changes nothing."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "digest", "created_at")
    readonly_fields = ("number", "digest", "snapshot", "created_at")


class RelationInline(admin.TabularInline):
    model = models.Relation
    fk_name = "person"
    extra = 0
    raw_id_fields = ("other",)  # a person by key: a select would list every person's name on the page


class FindPersonForm(forms.Form):
    bsn = forms.CharField(label="BSN", max_length=9, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_bsn(self) -> str:
        value = self.cleaned_data["bsn"].strip()
        if not is_valid_bsn(value):
            raise forms.ValidationError("Not a valid BSN (nine digits, eleven test).")
        return value


@admin.register(models.Person)
class PersonAdmin(FactChangesAdmin):
    """Persons and their relations, changed through :mod:`consent.family`. There is no search box: a search goes
    into the page address, and a BSN (or a name) in an address ends up in access logs. A person is found by a BSN
    posted to "Find by BSN" instead (issue #9, item 8)."""

    list_display = ("given_name", "family_name", "date_of_birth", "able_to_judge")
    inlines = [RelationInline]

    def view_keys(self, obj: models.Person) -> ViewKeys:
        return ViewKeys(reference=f"person:{obj.pk}", subject=subject_pseudonym(obj.bsn))

    def get_urls(self) -> list[URLPattern]:
        find = path("find/", self.admin_site.admin_view(self.find_view), name="consent_person_find")
        return [find, *super().get_urls()]

    def fact_save(self, request: HttpRequest, obj: models.Person, form: Any, change: bool) -> None:
        person_save(person=obj, by_user=by_user(request))

    def fact_delete(self, request: HttpRequest, obj: models.Person) -> None:
        person_delete(person=obj, by_user=by_user(request))

    def inline_save(self, request: HttpRequest, obj: Any) -> None:
        relation_save(relation=obj, by_user=by_user(request))

    def inline_delete(self, request: HttpRequest, obj: Any) -> None:
        relation_delete(relation=obj, by_user=by_user(request))

    def find_view(self, request: HttpRequest) -> HttpResponse:
        """A BSN posted in the body; the answer is the person's page (its address holds the key) or "not known".
        Each search is an ``admin_view`` entry under the pseudonym of the BSN asked for."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        form = FindPersonForm(request.POST if request.method == "POST" else None)
        context = {**self.admin_site.each_context(request), "title": "Find a person by BSN", "form": form}
        if not form.is_valid():
            return TemplateResponse(
                request, "admin/consent/person/find.html", context, status=400 if form.errors else 200
            )
        person = models.Person.objects.filter(bsn=form.cleaned_data["bsn"]).first()
        pseudonym = subject_pseudonym(form.cleaned_data["bsn"])
        try:
            with transaction.atomic(durable=True):
                admin_view_record(
                    request=request,
                    model=models.Person,
                    page="find",
                    keys=ViewKeys(reference=f"person:{person.pk}" if person else "person:", subject=pseudonym),
                    rows=1 if person else 0,
                )
        except AuditWriteError:
            return audit_unavailable(request)
        if person is None:
            return TemplateResponse(
                request, "admin/consent/person/find.html", {**context, "not_found": True}, status=404
            )
        return HttpResponseRedirect(reverse("admin:consent_person_change", args=[person.pk]), status=303)


class CasePersonInline(admin.TabularInline):
    model = models.CasePerson
    extra = 0
    raw_id_fields = ("person",)


class MeasureInline(admin.TabularInline):
    model = models.Measure
    extra = 0
    raw_id_fields = ("person",)


@admin.register(models.Case)
class CaseAdmin(FactChangesAdmin):
    """Cases with their participants, the persons' roles and the measures, changed through :mod:`consent.family`:
    a role decides what the portal shows (a suspect never sees the children's timelines), a participant may ask
    with the case."""

    list_display = ("reference", "type", "phase", "lead_organisation")
    list_filter = ("phase",)
    filter_horizontal = ("participants",)
    inlines = [CasePersonInline, MeasureInline]

    def view_keys(self, obj: models.Case) -> ViewKeys:
        return ViewKeys(reference=f"case:{obj.reference}", case_reference=obj.reference)

    def fact_save(self, request: HttpRequest, obj: models.Case, form: Any, change: bool) -> None:
        participants = form.cleaned_data.get("participants") if "participants" in form.fields else None
        case_save(case=obj, by_user=by_user(request), participants=participants)

    def fact_delete(self, request: HttpRequest, obj: models.Case) -> None:
        case_delete(case=obj, by_user=by_user(request))

    def inline_save(self, request: HttpRequest, obj: Any) -> None:
        if isinstance(obj, models.CasePerson):
            case_role_save(case_person=obj, by_user=by_user(request))
        else:
            measure_save(measure=obj, by_user=by_user(request))

    def inline_delete(self, request: HttpRequest, obj: Any) -> None:
        if isinstance(obj, models.CasePerson):
            case_role_delete(case_person=obj, by_user=by_user(request))
        else:
            measure_delete(measure=obj, by_user=by_user(request))


class ConsentGiverInline(admin.TabularInline):
    model = models.ConsentGiver
    extra = 0


@admin.register(models.Consent)
class ConsentAdmin(AuditedViewsAdmin, ReadOnlyAdmin):
    """Read only: consents are recorded, completed and withdrawn through the API and the portal, whose actions
    write the audit entries (consent.consents)."""

    list_display = ("id", "subject", "status", "explicit", "valid_from", "valid_until", "recorded_by", "disputed_at")
    list_filter = ("status", "explicit")
    list_select_related = ("subject", "recorded_by", "case")
    inlines = [ConsentGiverInline]

    def view_keys(self, obj: models.Consent) -> ViewKeys:
        return ViewKeys(
            reference=f"consent:{obj.pk}",
            subject=subject_pseudonym(obj.subject_bsn),
            case_reference=obj.case.reference if obj.case else None,
        )


@admin.register(models.Restriction)
class RestrictionAdmin(AuditedViewsAdmin):
    """Every save and every lift writes a ``restriction`` audit entry (consent.restrictions)."""

    list_display = ("person", "kind", "set_by", "review_date", "review_overdue", "active")
    list_filter = ("kind", "active")
    list_select_related = ("person", "set_by")
    filter_horizontal = ("categories", "allowed_organisations", "allowed_sectors")
    raw_id_fields = ("person",)
    readonly_fields = ("active", "lifted_at", "set_at")
    actions = ["lift"]

    def view_keys(self, obj: models.Restriction) -> ViewKeys:
        return ViewKeys(reference=f"restriction:{obj.pk}", subject=subject_pseudonym(obj.person.bsn))

    @admin.display(boolean=True, description="review overdue")
    def review_overdue(self, obj: models.Restriction) -> bool:
        return bool(obj.active and obj.review_date and obj.review_date < timezone.localdate())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        restriction_changed(restriction=form.instance, by_user=request.user.get_username(), created=not change)

    @admin.action(description="Lift the selected restrictions")
    def lift(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        try:
            with transaction.atomic():  # all of the selection or none of it
                for restriction in queryset:
                    restriction_lift(restriction=restriction, by_user=request.user.get_username())
        except AuditWriteError:
            return audit_unavailable(request)
        return None
