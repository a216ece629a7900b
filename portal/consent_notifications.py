"""E-mail to the family when a consent is recorded in their name (issue "leaks", item 2: the subject sees every
consent recorded in their name). Like :mod:`portal.notifications`, the message says only that there is news, never
what, who recorded it or for whom: an e-mail may be read by someone else in the house.

Who gets it: the accounts that may see the subject in the portal (:func:`portal.notifications.recipients_for`:
the person from 12, the legal representatives the access rules allow; never a suspect in a case of the child).
Nothing is sent for a BSN the gateway does not know (there is nobody to tell). Sent by Celery after the
transaction that recorded the consent commits; a broker outage costs the e-mail, never the consent.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from consent.models import Consent, Person
from portal import selectors
from portal.notifications import recipients_for

logger = logging.getLogger(__name__)

SUBJECT = "Nieuws in Veilig Delen / News in Veilig Delen"
BODY = (
    "Er staat iets nieuws voor u klaar in Veilig Delen: een toestemming die u of uw kind zou hebben gegeven.\n"
    "Log in om te zien wat het is en of u het herkent: {url}\n\n"
    "There is something new for you in Veilig Delen: a consent that you or your child is said to have given.\n"
    "Log in to see what it is and whether you recognise it: {url}\n\n"
    "Deze e-mail zegt bewust niet waar het over gaat. / This e-mail deliberately does not say what it is about.\n"
)


def notify_consent_recorded(consent_id: int) -> int:
    """Tell the accounts that may see the consent's subject that a consent was recorded in their name (or their
    child's). Returns the e-mails sent."""
    consent = Consent.objects.filter(pk=consent_id).first()
    if consent is None:
        return 0
    subject = Person.objects.filter(bsn=consent.subject_bsn).first()
    if subject is None:
        return 0
    sent = 0
    for account in recipients_for(subject):
        visible = [p for p, _why in selectors.family_visible(account.person)]
        if not selectors.consents_for(account.person, visible).filter(pk=consent.pk).exists():
            continue  # not shown to this account (a suspect is not told of victim support or a shelter)
        sent += send_mail(SUBJECT, BODY.format(url=settings.GATEWAY_PORTAL_URL), None, [account.user.email])
    return sent


def notify_consent_recorded_later(consent_id: int) -> None:
    """Queue :func:`notify_consent_recorded` once the consent is committed (at once when no transaction is open)."""

    def queue() -> None:
        from portal.tasks import notify_consent_recorded_task

        try:
            notify_consent_recorded_task.delay(consent_id)
        except Exception:
            logger.warning("could not queue the portal notification for consent %s", consent_id)

    transaction.on_commit(queue)
