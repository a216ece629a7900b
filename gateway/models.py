"""The partner edge's own records: OAuth clients, how holders are reached, requests and their decisions."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from oauth2_provider.models import AbstractApplication

from consent import choices
from consent.models import DataCategory, Organisation, PolicyVersion
from gateway.choices import PendingStatus, RequestStatus, ReviewStatus, WebhookStatus
from gateway.outbound import validate_holder_credential_env, validate_outbound_url, validate_webhook_secret_env


class Application(AbstractApplication):
    """An OAuth2 client of a partner system. It belongs to exactly one organisation, which is the requester
    of everything the client asks; its scopes are limited by :class:`gateway.oauth.OrganisationScopes`."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="applications")  # type: ignore[var-annotated]

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"


class HolderEndpoint(models.Model):
    """How the gateway fetches the categories an organisation holds (the provider leg of api.md).

    ``builtin`` serves :class:`BuiltinRecord` rows (the demo's reference data); ``http`` calls ``url``. Both go
    through :func:`gateway.holders.holder_fetch`. The credential is read from the environment variable
    named in ``credential_env`` so that no secret is stored in the database; the name must start with
    ``VD_HOLDER_CREDENTIAL_`` and the URL must be https at an allowed address (:mod:`gateway.outbound`), checked
    here on validation and again at every call.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="endpoints")
    categories = models.ManyToManyField(DataCategory, related_name="endpoints")
    kind = models.CharField(max_length=16, choices=choices.HolderKind.choices, default=choices.HolderKind.HTTP)
    url = models.URLField(blank=True, validators=[validate_outbound_url])
    credential_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_holder_credential_env],
        help_text="Environment variable holding the bearer credential for the holder: VD_HOLDER_CREDENTIAL_<NAME>.",
    )
    timeout_seconds = models.FloatField(null=True, blank=True, help_text="Default: GATEWAY_PROVIDER_TIMEOUT.")
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.organisation.slug} ({self.kind})"


class BuiltinRecord(models.Model):
    """Synthetic data a holder has about a person in a category, served by the ``builtin`` provider (demo)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="builtin_records")
    category = models.ForeignKey(DataCategory, on_delete=models.CASCADE, related_name="builtin_records")
    bsn = models.CharField(max_length=9)
    data = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "category", "bsn"], name="uniq_builtin_record")]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.category_id}"


class InformationRequest(models.Model):
    """A partner's request for categories of information about a person (api.md, "Information requests")."""

    id = models.CharField(primary_key=True, max_length=40)
    # No index of its own: the index (organisation, -created_at, -id) below starts with it.
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="requests", db_index=False)
    client_id = models.CharField(max_length=100)
    acting_user = models.CharField(max_length=128, blank=True)
    subject_bsn = models.CharField(max_length=9, help_text="Kept to fetch after a holder's approval.")
    subject_pseudonym = models.CharField(max_length=64)
    purpose = models.CharField(max_length=64)
    case_reference = models.CharField(max_length=64, blank=True)
    emergency = models.BooleanField(default=False)
    justification = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=RequestStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, to_field="number")
    audit_index = models.BigIntegerField()
    audit_leaf_hash = models.CharField(max_length=64)
    #: A push disclosure ("uit eigen beweging"): the holder that shared on its own initiative; ``organisation`` is
    #: then the recipient (:mod:`gateway.disclosures`). Empty for a request the organisation made itself.
    pushed_by = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="pushed_disclosures"
    )
    #: The family may have news about this entry: set in the statement that writes the entry (a request, a push, a
    #: holder's release), cleared by the portal's sweep once it has mailed or held the "there is news" e-mail
    #: (:func:`portal.notifications.news_sweep`). A durable outbox: nothing is lost when the broker is down.
    news_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at", "-id"]),
            # Only the few flagged rows, oldest first, for the sweep.
            models.Index(fields=["created_at"], condition=models.Q(news_pending=True), name="request_news_pending"),
        ]

    def __str__(self) -> str:
        return self.id


class RequestDecision(models.Model):
    """The decision on one category of a request, with the rule, basis, consent and reasons it rests on."""

    # No index of its own: the unique constraint (request, position) starts with it.
    request = models.ForeignKey(InformationRequest, on_delete=models.CASCADE, related_name="decisions", db_index=False)
    position = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=64)
    provider = models.CharField(max_length=64, null=True)
    outcome = models.CharField(max_length=16)
    rule = models.CharField(max_length=80, null=True)
    rule_version = models.PositiveIntegerField(null=True)
    legal_basis = models.CharField(max_length=64, null=True)
    legal_basis_reference = models.CharField(max_length=300, null=True)
    consent_id = models.BigIntegerField(null=True)
    preauthorisation_id = models.BigIntegerField(
        null=True, help_text="The holder's case-level pre-authorisation the permit rests on (consent.Preauthorisation)."
    )
    reasons = models.JSONField(default=list)
    emergency_access = models.BooleanField(default=False)
    shielded = models.BooleanField(
        default=False,
        help_text="A restriction the requester may not know of decided this: outcome and reasons are what the "
        "requester was shown (what an unknown person gets); nothing was released. The trail has the truth.",
    )
    released_fields = models.JSONField(default=list)
    payload_sha256 = models.CharField(max_length=64, null=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [models.UniqueConstraint(fields=["request", "position"], name="uniq_decision_position")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.category}: {self.outcome}"


class IdempotencyRecord(models.Model):
    """The first response to an ``Idempotency-Key``, returned again for a retry of the same body.

    The body is encrypted at rest (it can hold released data) and purged after ``GATEWAY_IDEMPOTENCY_HOURS``.
    """

    # No index of its own: the unique constraint (organisation, endpoint, key) starts with it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="idempotency_records", db_index=False
    )
    key = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=32)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_encrypted = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "endpoint", "key"], name="uniq_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.endpoint}:{self.key}"


class PendingItem(models.Model):
    """A category that waits for the data holder's decision, where the law leaves it to the holder (a reporting
    right is a right, not a duty: Wmo 2015 art. 5.2.6, BW 1:240)."""

    id = models.CharField(primary_key=True, max_length=40)
    request = models.ForeignKey(InformationRequest, on_delete=models.PROTECT, related_name="pending_items")
    decision = models.OneToOneField(RequestDecision, on_delete=models.PROTECT, related_name="pending_item")
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pending_items")
    category = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=PendingStatus.choices, default=PendingStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_client = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True, help_text="The holder's note; kept here, never in the audit trail.")
    #: The urgent lane: the request was an emergency. Listed first, expires after GATEWAY_URGENT_EXPIRY_HOURS and
    #: is escalated to the holder at ``escalate_at`` if still open (:func:`gateway.pending.urgent_escalate_due`).
    urgent = models.BooleanField(default=False)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    weighing = models.TextField(
        blank=True,
        help_text="The holder's recorded weighing (belangenafweging) with its decision; kept here, its SHA-256 in "
        "the holder_decision entry.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["holder", "status", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["urgent", "status", "escalate_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class Delivery(models.Model):
    """Data released after a holder's approval, kept encrypted until the requester has had time to fetch it with
    ``GET /api/v1/requests/{id}`` (``GATEWAY_DELIVERY_HOURS``), then purged."""

    request = models.ForeignKey(InformationRequest, on_delete=models.CASCADE, related_name="deliveries")
    category = models.CharField(max_length=64)
    data_encrypted = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "category"], name="uniq_delivery_category")]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.category}"


class WebhookEndpoint(models.Model):
    """Where an organisation wants to hear that one of its requests changed (signed with HMAC-SHA256 using the
    secret in the environment variable ``secret_env``; the secret itself is never stored in the database). The
    name must start with ``VD_WEBHOOK_SECRET_`` and the URL must be https at an allowed address
    (:mod:`gateway.outbound`), checked here on validation and again at every delivery."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(validators=[validate_outbound_url])
    secret_env = models.CharField(
        max_length=100,
        validators=[validate_webhook_secret_env],
        help_text="Environment variable holding the shared secret: VD_WEBHOOK_SECRET_<NAME>.",
    )
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"webhook of {self.organisation.slug}"


class WebhookDelivery(models.Model):
    """The outbox: one row per notification, written in the transaction of the change it announces, delivered by
    Celery with retries and backoff. Nothing is lost while the worker or the broker is down: the beat task
    re-sends what is due."""

    id = models.CharField(primary_key=True, max_length=40)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    #: A worker claimed the row for attempt number ``attempts`` and is sending it until this time; no lock is
    #: held during the POST, and a crashed worker's claim simply runs out (:func:`gateway.webhooks.webhook_send`).
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.id} {self.event} ({self.status})"


class EmergencyReview(models.Model):
    """Every emergency access waits for a privacy officer's verdict (vital interest, AVG art. 6(1)(d); conflict
    of duties). The verdict is an audit entry of kind ``review``."""

    request = models.OneToOneField(InformationRequest, on_delete=models.PROTECT, related_name="emergency_review")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="emergency_reviews")
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    reviewer = models.CharField(max_length=150, blank=True)
    verdict_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_at"]

    def __str__(self) -> str:
        return f"review of {self.request_id} ({self.status})"


class EntryNotice(models.Model):
    """Informing the subject of one entry (Wmo 2015 art. 5.3.1 lid 2-4; UAVG art. 41(1)(i)).

    An entry about a suspect or alleged perpetrator is shown in the portal only once a party that may inform him
    cleared it, or once its informing day passed (:func:`portal.access.held_for_notice`); that party may postpone
    the day, to a date and with a reason. Each clearing and postponement is an audit entry of kind ``notice``
    (:mod:`gateway.notices`); the reason stays here, never in the trail. ``news_held`` marks an entry whose "there
    is news" e-mail was held back, ``news_sent_at`` when it went out once the entry could be seen.
    """

    request = models.OneToOneField(
        InformationRequest, on_delete=models.PROTECT, primary_key=True, related_name="notice"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    postponed_until = models.DateField(null=True, blank=True)
    postponed_at = models.DateTimeField(null=True, blank=True)
    postponed_by = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    postpone_reason = models.TextField(blank=True, help_text="Why informing waits; kept here, never in the trail.")
    news_held = models.BooleanField(default=False)
    news_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["news_held", "news_sent_at"])]

    def __str__(self) -> str:
        return f"notice of {self.request_id}"
