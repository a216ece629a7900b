"""Admin pages for the policy data and the facts about families (domain.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from consent import models
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
    list_display = ("code", "name_en", "sensitivity", "regime")
    list_filter = ("sensitivity", "regime")
    inlines = [CategoryFieldInline]


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


@admin.register(models.PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "digest", "created_at")
    readonly_fields = ("number", "digest", "snapshot", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "status", "explicit", "valid_from", "valid_until", "recorded_by")
    list_filter = ("status", "explicit")
    filter_horizontal = ("purposes", "categories", "recipient_organisations", "recipient_sectors")
    inlines = [ConsentGiverInline]


@admin.register(models.Restriction)
class RestrictionAdmin(admin.ModelAdmin):
    list_display = ("person", "kind", "set_by", "review_date", "active")
    list_filter = ("kind", "active")
    filter_horizontal = ("categories", "allowed_organisations", "allowed_sectors")
