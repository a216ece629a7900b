"""The one table the baseline writes to."""

from typing import ClassVar

from django.db import models


class Submission(models.Model):
    subject_bsn = models.CharField(max_length=9)
    categories = models.JSONField()
    purpose = models.CharField(max_length=64)
    case_reference = models.CharField(max_length=64, blank=True)
    client_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[models.Manager["Submission"]] = models.Manager()

    def __str__(self) -> str:
        return f"submission {self.pk}"
