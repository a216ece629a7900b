"""Admin pages for holder endpoints, demo reference data and (read-only) information requests."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone

from consent.admin import ReadOnlyAdmin
from gateway import models
from gateway.reviews import VERDICTS, ReviewError, emergency_review_settle


@admin.register(models.HolderEndpoint)
class HolderEndpointAdmin(admin.ModelAdmin):
    list_display = ("organisation", "kind", "url", "active")
    list_filter = ("kind", "active")
    filter_horizontal = ("categories",)


@admin.register(models.BuiltinRecord)
class BuiltinRecordAdmin(admin.ModelAdmin):
    list_display = ("organisation", "category", "bsn")
    list_filter = ("organisation", "category")


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


@admin.register(models.PendingItem)
class PendingItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "holder", "category", "status", "created_at", "expires_at")
    list_filter = ("status", "holder")
    exclude = ("note",)


@admin.register(models.WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("organisation", "url", "secret_env", "active")


@admin.register(models.WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "organisation", "event", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "event")


class EmergencyReviewForm(forms.ModelForm):
    verdict = forms.ChoiceField(choices=[(v.value, v.label) for v in VERDICTS])
    note = forms.CharField(widget=forms.Textarea, help_text="Why the access was or was not justified.")

    class Meta:
        model = models.EmergencyReview
        fields: list[str] = []


@admin.register(models.EmergencyReview)
class EmergencyReviewAdmin(admin.ModelAdmin):
    """The review queue until the privacy console exists: open items first, overdue ones marked."""

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
    form = EmergencyReviewForm

    @admin.display(boolean=True)
    def overdue(self, obj: models.EmergencyReview) -> bool:
        return obj.status == models.ReviewStatus.OPEN and obj.due_at < timezone.now()

    @admin.display(description="justification given by the requester")
    def justification(self, obj: models.EmergencyReview) -> str:
        return obj.request.justification

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None and obj.status != models.ReviewStatus.OPEN:
            kwargs["form"] = forms.ModelForm
            kwargs["fields"] = []
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if "verdict" in form.cleaned_data:
            try:
                emergency_review_settle(
                    review=obj,
                    verdict=form.cleaned_data["verdict"],
                    note=form.cleaned_data["note"],
                    reviewer=request.user.get_username(),
                )
            except ReviewError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
