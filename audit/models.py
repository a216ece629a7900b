"""The audit trail: an append-only ledger of every decision and disclosure (``shared/spec/audit.md``).

Rows are protected against the application by database triggers (see the migrations) and, on PostgreSQL, by
a role without UPDATE/DELETE. Entries are written only by :func:`audit.ledger.audit_append`, inside the
transaction of the event they record.
"""

from __future__ import annotations

from django.db import models


class AuditHead(models.Model):
    """The single row whose lock orders appends: ``size`` is the number of entries, the next index."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head at {self.size}"


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


class AuditEntry(models.Model):
    """One leaf of the audit log. ``leaf`` holds the exact RFC 8785 canonical bytes (as UTF-8 text) that were
    hashed; the other columns repeat its fields for querying, and verification checks that both agree.
    """

    index = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=24, choices=AuditKind.choices)
    at = models.DateTimeField()
    organisation = models.CharField(max_length=64, null=True)
    client_id = models.CharField(max_length=100, null=True)
    acting_user = models.CharField(max_length=128, null=True)
    user = models.CharField(max_length=150, null=True)
    subject = models.CharField(max_length=64, null=True, help_text="HMAC-SHA256 pseudonym of the BSN.")
    purpose = models.CharField(max_length=64, null=True)
    case_reference = models.CharField(max_length=64, null=True)
    emergency = models.BooleanField(default=False)
    reference = models.CharField(max_length=64, null=True, help_text="The request, consent, ... it records.")
    outcome = models.CharField(max_length=24, null=True)
    policy_version = models.IntegerField(null=True)
    decisions = models.JSONField(default=list)
    detail = models.JSONField(default=dict)
    leaf = models.TextField()
    leaf_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["subject", "index"]),
            models.Index(fields=["organisation", "at"]),
            models.Index(fields=["kind", "at"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.kind}"
