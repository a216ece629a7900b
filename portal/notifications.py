"""E-mail to portal accounts when something new concerns them (the message says only that there is news).

Sent by Celery after the transaction that recorded the entry commits, and only to accounts that may see the
person under the access rules (portal.access). Nothing is sent for an entry kept from the portal: a withheld
entry, an entry with police or prosecution data before that holder reviewed it, or an entry about a suspect
before it is cleared or its informing day comes (Wmo 2015 art. 5.3.1), since the e-mail itself would tip him off.
For the latter two the e-mail is held (``EntryNotice.news_held``) and goes out once, when the entry can be seen:
at once when a party clears it, else from the hourly beat task. A parent is mailed only about entries he may see
himself (not those of a 12-15-year-old's own regimes, nor any while held back in a child-abuse case).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from consent.models import Person
from gateway.models import EntryNotice, InformationRequest
from portal import selectors
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


def _request(request_id: str) -> InformationRequest | None:
    return (
        InformationRequest.objects.select_related("notice__cleared_by__sector")
        .prefetch_related("decisions")
        .filter(pk=request_id)
        .first()
    )


def _sees(account: PortalAccount, subject: Person, request: InformationRequest, today: dt.date) -> bool:
    """Whether the account's person sees the entry (the holds for a parent included)."""
    why = dict((p.pk, w) for p, w in selectors.family_visible(account.person, today)).get(subject.pk)
    rules = selectors.subject_rules(subject, today, viewer=account.person, why=why)
    return why is not None and selectors.entry_hold(request, rules, today)[0] is None


def _send(subject: Person, request: InformationRequest, today: dt.date) -> int:
    sent = 0
    for account in recipients_for(subject):
        if _sees(account, subject, request, today):
            sent += send_mail(SUBJECT, BODY.format(url=settings.GATEWAY_PORTAL_URL), None, [account.user.email])
    return sent


def notify_new_entry(request_id: str) -> int:
    """Tell the accounts concerned that there is news about a request's subject. Returns the e-mails sent.

    An entry held back from a suspect sends nothing now; its e-mail is marked as held and sent once it can be
    seen (:func:`notice_news_release`)."""
    request = _request(request_id)
    if request is None:
        return 0
    subject = Person.objects.filter(bsn=request.subject_bsn).first()
    if subject is None:
        return 0
    today = timezone.localdate()
    held, _until = selectors.entry_hold(request, selectors.subject_rules(subject, today), today)
    if held in (selectors.HELD_FOR_NOTICE, selectors.HELD_FOR_REVIEW):
        EntryNotice.objects.get_or_create(request=request)
        EntryNotice.objects.filter(pk=request.pk, news_sent_at__isnull=True).update(news_held=True)
        return 0
    if held:
        return 0
    return _send(subject, request, today)


def notice_news_release(request_id: str, *, today: dt.date | None = None) -> int:
    """Send the held e-mail about an entry once it can be seen, exactly once: the row is locked, and marked sent
    in the same transaction (a failed send rolls back and is tried again). Returns the e-mails sent."""
    with transaction.atomic(durable=True):
        notice = (
            EntryNotice.objects.select_for_update()
            .filter(pk=request_id, news_held=True, news_sent_at__isnull=True)
            .first()
        )
        request = _request(request_id) if notice is not None else None
        if request is None:
            return 0
        subject = Person.objects.filter(bsn=request.subject_bsn).first()
        sent = 0
        if subject is not None:
            today = today or timezone.localdate()
            if selectors.entry_hold(request, selectors.subject_rules(subject, today), today)[0]:
                return 0
            sent = _send(subject, request, today)
        EntryNotice.objects.filter(pk=request_id).update(news_sent_at=timezone.now())
        return sent


def notice_news_due(*, today: dt.date | None = None) -> int:
    """The beat's sweep over held e-mails: send those whose entry can now be seen (its informing day came, or a
    restriction that also held it ended). Returns the e-mails sent."""
    due = EntryNotice.objects.filter(news_held=True, news_sent_at__isnull=True).values_list("pk", flat=True)
    return sum(notice_news_release(request_id, today=today) for request_id in list(due))


def notice_news_after_commit(request_id: str) -> None:
    """Queue :func:`notice_news_release` once a clearing commits; if the broker is down, the beat sends it."""

    def queue() -> None:
        from portal.tasks import notice_news_release_task

        try:
            notice_news_release_task.delay(request_id)
        except Exception:
            logger.warning("could not queue the held portal notification for %s", request_id)

    transaction.on_commit(queue)


def notify_after_commit(request_id: str) -> None:
    """Queue the notification once the entry is committed; a broker outage costs an e-mail, never the entry."""

    def queue() -> None:
        from portal.tasks import notify_new_entry_task

        try:
            notify_new_entry_task.delay(request_id)
        except Exception:
            logger.warning("could not queue the portal notification for %s", request_id)

    transaction.on_commit(queue)
