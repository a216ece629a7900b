"""The admin pages for holder endpoints, demo
reference data and (read-only) information requests and emergency reviews."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from audit.admin import AuditedViewsAdmin, ViewKeys
from audit.pseudonym import subject_pseudonym
from consent.admin import ReadOnlyAdmin
from gateway import models


@admin.register(models.HolderEndpoint)
class HolderEndpointAdmin(admin.ModelAdmin):
    list_display = ("organisation", "kind", "url", "active")
    list_filter = ("kind", "active")
    filter_horizontal = ("categories",)


@admin.register(models.BuiltinRecord)
class BuiltinRecordAdmin(AuditedViewsAdmin, ReadOnlyAdmin):
    """The demo holders' data about persons, to look at only (the demo seed writes it): a change here would be a
    change to personal data without an audited action. The BSN is shown on the page, never put in an address."""

    list_display = ("organisation", "category", "bsn")
    list_filter = ("organisation", "category")
    list_select_related = ("organisation", "category")

    def view_keys(self, obj: models.BuiltinRecord) -> ViewKeys:
        return ViewKeys(reference=f"builtin_record:{obj.pk}", subject=subject_pseudonym(obj.bsn))


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
class InformationRequestAdmin(AuditedViewsAdmin, ReadOnlyAdmin):
    """Information requests, read only and without the BSN; each page is an ``admin_view`` entry."""

    list_display = ("id", "organisation", "purpose", "status", "emergency", "created_at")
    list_filter = ("status", "emergency", "organisation")
    list_select_related = ("organisation",)
    exclude = ("subject_bsn",)
    inlines = [RequestDecisionInline]

    def view_keys(self, obj: models.InformationRequest) -> ViewKeys:
        return ViewKeys(reference=obj.id, subject=obj.subject_pseudonym, case_reference=obj.case_reference or None)


@admin.register(models.PendingItem)
class PendingItemAdmin(AuditedViewsAdmin, ReadOnlyAdmin):
    """Items waiting for a holder, read only and without the holder's note; each page is an ``admin_view``."""

    list_display = ("id", "holder", "category", "status", "created_at", "expires_at")
    list_filter = ("status", "holder")
    list_select_related = ("holder", "request")
    exclude = ("note",)

    def view_keys(self, obj: models.PendingItem) -> ViewKeys:
        request = obj.request
        return ViewKeys(
            reference=obj.id, subject=request.subject_pseudonym, case_reference=request.case_reference or None
        )


@admin.register(models.WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("organisation", "url", "secret_env", "active")


@admin.register(models.WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "organisation", "event", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "event")


@admin.register(models.EmergencyReview)
class EmergencyReviewAdmin(AuditedViewsAdmin, ReadOnlyAdmin):
    """Emergency reviews, to look at only: a verdict is given in the privacy console (``/privacy/reviews/``),
    behind its own officer scope and second factor, and written there as a ``review`` entry (issue #9, item 7)."""

    list_display = ("request", "organisation", "status", "created_at", "due_at", "overdue", "reviewer")
    list_filter = ("status", "organisation")
    readonly_fields = (
        "request",
        "organisation",
        "status",
        "created_at",
        "due_at",
        "reviewer",
        "verdict_note",
        "decided_at",
        "justification",
    )
    fields = readonly_fields
    list_select_related = ("request", "organisation")

    def view_keys(self, obj: models.EmergencyReview) -> ViewKeys:
        return ViewKeys(reference=obj.request_id, subject=obj.request.subject_pseudonym)

    @admin.display(boolean=True)
    def overdue(self, obj: models.EmergencyReview) -> bool:
        return obj.status == models.ReviewStatus.OPEN and obj.due_at < timezone.now()

    @admin.display(description="justification given by the requester")
    def justification(self, obj: models.EmergencyReview) -> str:
        return obj.request.justification
