"""The status and kind enums of the gateway app, in one place (stored as their values)."""

from django.db import models


class RequestStatus(models.TextChoices):
    RELEASED = "released", "Released"
    PARTIAL = "partial", "Partial"
    DENIED = "denied", "Denied"
    PENDING = "pending", "Pending"


class PendingStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the holder"
    APPROVED = "approved", "Approved by the holder"
    DECLINED = "declined", "Declined by the holder"
    EXPIRED = "expired", "Expired without a decision"
    REFUSED = "refused", "Approved, but the decision made again no longer allows it"


class WebhookStatus(models.TextChoices):
    PENDING = "pending", "To deliver"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Awaiting review"
    JUSTIFIED = "justified", "Justified"
    NOT_JUSTIFIED = "not_justified", "Not justified"
