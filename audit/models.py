"""The audit trail: an append-only ledger of every decision and disclosure (``shared/spec/audit.md``).

Rows are protected against the application by database triggers (see the migrations) and, on PostgreSQL, by
a role without UPDATE/DELETE. Entries are written only by :func:`audit.ledger.audit_append`, inside the
transaction of the event they record.
"""

from __future__ import annotations

from django.db import models

from audit.choices import AuditKind, VerificationStatus


class AuditHead(models.Model):
    """The single row whose lock orders appends: ``size`` is the number of entries, the next index."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True, help_text="Time of the last entry: time never runs back.")
    frontier = models.JSONField(
        default=dict,
        help_text="The latest completed subtree hash per level ({level: hex}), what the next leaf combines with. "
        "Kept with the lock that orders appends, so an append needs no read of the tree.",
    )

    def __str__(self) -> str:
        return f"audit head at {self.size}"


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


class TreeNode(models.Model):
    """A stored perfect-subtree hash of the Merkle tree: ``level`` 0 is a leaf hash; ``(level, position)``
    covers leaves ``[position * 2**level, (position + 1) * 2**level)``. Written by :func:`audit.ledger.audit_append`
    in the entry's transaction, so roots and proofs cost O(log n) reads (RFC 9162 §2.1)."""

    level = models.PositiveSmallIntegerField()
    position = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "position"], name="uniq_tree_node")]

    def __str__(self) -> str:
        return f"node {self.level}/{self.position}"


class SigningKeyRecord(models.Model):
    """The public half of each signing key the gateway has used, served at ``/api/v1/audit/public-key`` without
    calling gpg on the request path."""

    fingerprint = models.CharField(max_length=64, unique=True)
    public_armored = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.fingerprint


class CheckpointMutex(models.Model):
    """The single row locked while a checkpoint is made, so checkpoints are signed one at a time and in order
    without blocking writers of the trail."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    def __str__(self) -> str:
        return "checkpoint mutex"


class Checkpoint(models.Model):
    """A signed tree head in the C2SP ``tlog-checkpoint`` form: ``<origin>\\n<size>\\n<base64 root>\\n``, with an
    OpenPGP detached signature. Stored only if consistent with the previous one (audit.md, "Checkpoints")."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    origin = models.CharField(max_length=200)
    body = models.TextField()
    signature = models.TextField()
    key_fingerprint = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    consistency_proof = models.JSONField(default=list, help_text="From the previous checkpoint, lowercase hex.")

    class Meta:
        ordering = ["tree_size"]

    def __str__(self) -> str:
        return f"checkpoint at {self.tree_size}"


class OfficerProfile(models.Model):
    """A privacy officer (functionaris gegevensbescherming) of the console. Without an organisation the officer
    sees the whole network; with one, only entries where that organisation asked or held data."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="officer_profile")
    organisation = models.ForeignKey(
        "consent.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="officers"
    )
    public_key = models.TextField(blank=True, help_text="ASCII-armoured OpenPGP key: exports are encrypted to it.")

    def __str__(self) -> str:
        return f"officer {self.user_id} ({self.organisation_id or 'network'})"


class VerificationRun(models.Model):
    """One run of the full verification (audit_verify), started from the console, the command or a schedule."""

    status = models.CharField(max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED)
    started_by = models.CharField(max_length=150)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    entries_total = models.BigIntegerField(default=0)
    entries_checked = models.BigIntegerField(default=0)
    checkpoints_checked = models.IntegerField(default=0)
    failure = models.TextField(blank=True)
    failed_index = models.BigIntegerField(null=True, blank=True)
    failed_checkpoint = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]

    def __str__(self) -> str:
        return f"verification {self.pk} ({self.status})"


class AuditFacet(models.Model):
    """A searchable fact of an entry, written with it: who asked (``requester``), who held data (``holder``),
    which ``category``, ``legal_basis`` and per-category ``outcome`` it names. Lets the console filter a trail of
    millions by organisation, category or basis through an index, on PostgreSQL and SQLite alike."""

    # No index of its own: the unique constraint below starts with it (one index less to write per facet).
    entry = models.ForeignKey(
        AuditEntry, on_delete=models.PROTECT, related_name="facets", db_column="entry_index", db_index=False
    )
    key = models.CharField(max_length=16)
    value = models.CharField(max_length=80)

    class Meta:
        indexes = [models.Index(fields=["key", "value", "entry"])]
        constraints = [models.UniqueConstraint(fields=["entry", "key", "value"], name="uniq_audit_facet")]

    def __str__(self) -> str:
        return f"#{self.entry_id} {self.key}={self.value}"
