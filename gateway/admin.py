"""Admin pages for holder endpoints, demo reference data and (read-only) information requests."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gateway import models


@admin.register(models.HolderEndpoint)
class HolderEndpointAdmin(admin.ModelAdmin):
    list_display = ("organisation", "kind", "url", "active")
    list_filter = ("kind", "active")
    filter_horizontal = ("categories",)


@admin.register(models.BuiltinRecord)
class BuiltinRecordAdmin(admin.ModelAdmin):
    list_display = ("organisation", "category", "bsn")
    list_filter = ("organisation", "category")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RequestDecisionInline(admin.TabularInline):
    model = models.RequestDecision
    extra = 0
    can_delete = False
    readonly_fields = (
        "category",
        "provider",
        "outcome",
        "rule",
        "rule_version",
        "legal_basis",
        "consent_id",
        "reasons",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.InformationRequest)
class InformationRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "organisation", "purpose", "status", "emergency", "created_at")
    list_filter = ("status", "emergency", "organisation")
    exclude = ("subject_bsn",)
    inlines = [RequestDecisionInline]
