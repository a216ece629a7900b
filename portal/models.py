"""Who may log in to the family portal, as whom (domain.md, "Family access").

Identity and authorisation are kept apart: a Django user is *who logged in* (today a username and password; later
an external identity provider such as DigiD through a broker, which would create the same link), and a
:class:`PortalAccount` says *which person* that login is. What the person may see follows from
:mod:`portal.access`, never from the account itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from consent.models import Case, DataCategory, Organisation, Person, Purpose, Sector
from portal.choices import ConsentRequestStatus


class PortalAccount(models.Model):
    """Links a login to the person it belongs to."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_account")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="portal_account")
    email_notifications = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"portal account of {self.person}"


class ConsentRequest(models.Model):
    """An organisation asks a family member for consent; the person can give it in the portal, where the age
    rules decide whose consent counts (consent.consents.consent_record)."""

    subject = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consent_requests")
    requested_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consent_requests")
    explanation_nl = models.TextField()
    explanation_en = models.TextField()
    explicit = models.BooleanField(default=True)
    purposes = models.ManyToManyField(Purpose)
    categories = models.ManyToManyField(DataCategory)
    recipient_organisations = models.ManyToManyField(Organisation, blank=True, related_name="+")
    recipient_sectors = models.ManyToManyField(Sector, blank=True, related_name="+")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT)
    valid_until = models.DateField()
    status = models.CharField(max_length=16, choices=ConsentRequestStatus.choices, default=ConsentRequestStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    consent = models.ForeignKey("consent.Consent", null=True, blank=True, on_delete=models.PROTECT)

    def __str__(self) -> str:
        return f"consent request to {self.subject} by {self.requested_by}"


class ParentAccessObjection(models.Model):
    """A child's own objection, made in the portal, to their parents (or guardian) seeing their entries (issue 11,
    item 8: from 12, not only from 16). It counts while ``withdrawn_at`` is empty and the child is 12 or older and
    can judge their interests (:func:`portal.access.objection_counts`); made and withdrawn through
    :mod:`portal.services`, each with a ``restriction`` audit entry."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="parent_access_objections")
    made_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(withdrawn_at__isnull=True), name="uniq_open_parent_objection"
            )
        ]

    def __str__(self) -> str:
        return f"objection to parent access by {self.person}"
