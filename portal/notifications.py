"""E-mail to portal accounts when something new concerns them (the message says only that there is news).

Sent by Celery after the transaction that recorded the entry commits; nothing is sent for a withheld entry, and
only to accounts that may see the person under the access rules (portal.access).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from consent.models import Person
from gateway.models import InformationRequest
from portal import selectors
from portal.access import is_withheld
from portal.models import PortalAccount

logger = logging.getLogger(__name__)

SUBJECT = "Nieuws in Veilig Delen / News in Veilig Delen"
BODY = (
    "Er is nieuwe informatie in Veilig Delen over u of uw kind.\n"
    "Log in om te zien wat er is gedeeld: {url}\n\n"
    "There is new information in Veilig Delen about you or your child.\n"
    "Log in to see what was shared: {url}\n\n"
    "Deze e-mail zegt bewust niet waar het over gaat. / This e-mail deliberately does not say what it is about.\n"
)


def recipients_for(subject: Person) -> list[PortalAccount]:
    """Accounts that may see ``subject`` in the portal: the person and the parents with access."""
    today = timezone.localdate()
    candidates = PortalAccount.objects.select_related("user", "person").filter(email_notifications=True)
    parents = subject.relations_to.filter(kind__in=selectors.GUARDIAN_KINDS).values_list("person_id", flat=True)
    accounts = candidates.filter(person_id__in=[subject.pk, *parents])
    return [
        account
        for account in accounts
        if account.user.email
        and account.user.is_active
        and any(p.pk == subject.pk for p, _why in selectors.family_visible(account.person, today))
    ]


def notify_new_entry(request_id: str) -> int:
    """Tell the accounts concerned that there is news about a request's subject. Returns the e-mails sent."""
    request = InformationRequest.objects.prefetch_related("decisions").filter(pk=request_id).first()
    if request is None:
        return 0
    subject = Person.objects.filter(bsn=request.subject_bsn).first()
    if subject is None:
        return 0
    categories = [d.category for d in request.decisions.all()]
    withheld = selectors.withheld_facts(subject, timezone.localdate())
    if is_withheld(request_id=request.id, categories=categories, withheld=withheld):
        return 0
    sent = 0
    for account in recipients_for(subject):
        sent += send_mail(SUBJECT, BODY.format(url=settings.GATEWAY_PORTAL_URL), None, [account.user.email])
    return sent


def notify_after_commit(request_id: str) -> None:
    """Queue the notification once the entry is committed; a broker outage costs an e-mail, never the entry."""

    def queue() -> None:
        from portal.tasks import notify_new_entry_task

        try:
            notify_new_entry_task.delay(request_id)
        except Exception:
            logger.warning("could not queue the portal notification for %s", request_id)

    transaction.on_commit(queue)
