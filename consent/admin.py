"""Admin pages for the policy data and the facts about families (domain.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from consent import models
from consent.consents import consent_age_rule_save
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


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("given_name", "family_name", "date_of_birth", "able_to_judge")
    search_fields = ("bsn", "family_name")
    inlines = [RelationInline]


class CasePersonInline(admin.TabularInline):
    model = models.CasePerson
    extra = 0


class MeasureInline(admin.TabularInline):
    model = models.Measure
    extra = 0


@admin.register(models.Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("reference", "type", "phase", "lead_organisation")
    list_filter = ("phase",)
    filter_horizontal = ("participants",)
    inlines = [CasePersonInline, MeasureInline]


class ConsentGiverInline(admin.TabularInline):
    model = models.ConsentGiver
    extra = 0


@admin.register(models.Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Read only: consents are recorded, completed and withdrawn through the API and the portal, whose actions
    write the audit entries (consent.consents)."""

    list_display = ("id", "subject", "status", "explicit", "valid_from", "valid_until", "recorded_by")
    list_filter = ("status", "explicit")
    inlines = [ConsentGiverInline]


@admin.register(models.Restriction)
class RestrictionAdmin(admin.ModelAdmin):
    """Every save and every lift writes a ``restriction`` audit entry (consent.restrictions)."""

    list_display = ("person", "kind", "set_by", "review_date", "review_overdue", "active")
    list_filter = ("kind", "active")
    filter_horizontal = ("categories", "allowed_organisations", "allowed_sectors")
    readonly_fields = ("active", "lifted_at", "set_at")
    actions = ["lift"]

    @admin.display(boolean=True, description="review overdue")
    def review_overdue(self, obj: models.Restriction) -> bool:
        return bool(obj.active and obj.review_date and obj.review_date < timezone.localdate())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        restriction_changed(restriction=form.instance, by_user=request.user.get_username(), created=not change)

    @admin.action(description="Lift the selected restrictions")
    def lift(self, request: HttpRequest, queryset: Any) -> None:
        for restriction in queryset:
            restriction_lift(restriction=restriction, by_user=request.user.get_username())
