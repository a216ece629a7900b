"""The status and kind enums of the audit app, in one place (stored as their values)."""

from django.db import models


class AuditKind(models.TextChoices):
    REQUEST = "request", "Information request"
    CHECK = "check", "Dry run"
    REJECTED = "rejected", "Rejected attempt"
    HOLDER_DECISION = "holder_decision", "Holder decision"
    CONSENT = "consent", "Consent"
    RESTRICTION = "restriction", "Restriction"
    CONFIG = "config", "Configuration change"
    PORTAL_VIEW = "portal_view", "Portal view"
    CONSOLE_VIEW = "console_view", "Console view"
    REVIEW = "review", "Review verdict"
    TOKEN = "token", "Token issued"
    INTENT = "intent", "Holder about to be asked"
    API_VIEW = "api_view", "Read through the API"
    ADMIN_VIEW = "admin_view", "Admin view"
    FACT_CHANGE = "fact_change", "Change to family facts or accounts"
    NOTICE = "notice", "Informing the subject: cleared or postponed"
    POLICY_CHANGE = "policy_change", "Policy catalogue imported"
    PREAUTHORISATION = "preauthorisation", "Holder's case-level pre-authorisation granted or withdrawn"
    DISCLOSURE = "disclosure", "Holder shared on its own initiative"
    URGENT_ESCALATION = "urgent_escalation", "Urgent holder decision escalated"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    INTACT = "intact", "Intact"
    FAILED = "failed", "Failed"
    ERROR = "error", "Could not run"
