"""The status and kind enums of the portal app, in one place (stored as their values)."""

from django.db import models


class ConsentRequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for an answer"
    GIVEN = "given", "Consent given"
    DECLINED = "declined", "Declined"
