"""E-mail to portal accounts when something new concerns them (the message says only that there is news).

Sent only to accounts that may see the person under the access rules (portal.access). Nothing is sent for an entry
kept from the portal: a withheld entry, an entry with police or prosecution data before that holder reviewed it, or
an entry about a suspect before it is cleared or its informing day comes (Wmo 2015 art. 5.3.1), since the e-mail
itself would tip him off. For the latter two the e-mail is held (``EntryNotice.news_held``) and goes out once, when
the entry can be seen: at once when a party clears it, else from the hourly beat task. A parent is mailed only about
entries he may see himself (not those of a 12-15-year-old's own regimes, nor any while held back in a child-abuse
case).

A durable outbox, swept in batches. The statement that writes an entry (a request, a holder's push, a holder's
release) also sets ``InformationRequest.news_pending``: the request path pays no statement for it, and a broker call
only once per window (below). :func:`news_sweep` locks a batch of flagged rows (``FOR NO KEY UPDATE SKIP LOCKED``),
decides each entry as :func:`notify_new_entry` does, mails each account concerned once however many of its entries
are in the batch, clears the flags and commits. It runs from the beat (``GATEWAY_NEWS_SWEEP_SECONDS``) and from a
kick: once its transaction commits, a web process queues a sweep :data:`KICK_SECONDS` ahead, at most once per
:data:`KICK_SECONDS` (:func:`news_kick`), so a lone entry is mailed within seconds without waiting for the beat;
every entry committed inside the window is covered, as that sweep runs no earlier than the window's end.

The trade-off, against the task per entry it replaced:

- an e-mail goes out :data:`KICK_SECONDS` after the commit, or up to ``GATEWAY_NEWS_SWEEP_SECONDS`` when the kick
  was lost, instead of at once; a broker outage costs no e-mail (the flag stays until a sweep takes it), and a web
  process publishes once per window instead of once per entry (during an outage, tries once per
  :data:`KICK_PAUSE_SECONDS`);
- at least once, never lost: a failed send rolls the whole batch back, flags included, and the next sweep tries
  again, so an account may get the same e-mail twice (a mail server refusing an address is logged and skipped, or
  that address would stop every e-mail); two sweeps at once never take the same row;
- one e-mail per account per batch (of up to ``limit`` entries) instead of one per entry: the message names no
  entry, so nothing is lost by it;
- while a batch is being sent its requests stay locked: a holder's decision on one of them waits for that commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
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


#: The holds that end by themselves (a clearing, the informing day, the holder's review): the e-mail waits for them.
NEWS_HELD = frozenset({selectors.HELD_FOR_NOTICE, selectors.HELD_FOR_REVIEW})
#: A web process queues a sweep this many seconds after a commit, and no further one within as many seconds.
KICK_SECONDS = 2.0
#: After a failed publish (the broker is down; a try costs the request about half a second), a web process waits this
#: long before it tries again; the beat's sweep sends what is flagged meanwhile, once the broker is back.
KICK_PAUSE_SECONDS = 30.0


def _reading(subject: Person, today: dt.date) -> list[tuple[PortalAccount, str]]:
    """The accounts that may see ``subject`` in the portal, each with why (:func:`selectors.family_visible`)."""
    candidates = PortalAccount.objects.select_related("user", "person").filter(email_notifications=True)
    parents = subject.relations_to.filter(kind__in=selectors.GUARDIAN_KINDS).values_list("person_id", flat=True)
    readers = []
    for account in candidates.filter(person_id__in=[subject.pk, *parents]):
        if not (account.user.email and account.user.is_active):
            continue
        why = dict((p.pk, w) for p, w in selectors.family_visible(account.person, today)).get(subject.pk)
        if why is not None:
            readers.append((account, why))
    return readers


def recipients_for(subject: Person) -> list[PortalAccount]:
    """Accounts that may see ``subject`` in the portal: the person and the parents with access."""
    return [account for account, _why in _reading(subject, timezone.localdate())]


class _Family:
    """One subject's rules and readers, each read once however many of the subject's entries are decided."""

    def __init__(self, subject: Person, today: dt.date) -> None:
        self.subject = subject
        self.today = today
        self.rules = selectors.subject_rules(subject, today)
        self._readers: list[tuple[PortalAccount, selectors.SubjectRules]] | None = None

    def readers(self) -> list[tuple[PortalAccount, selectors.SubjectRules]]:
        """The accounts that may see the subject, with what each is kept from (a parent: the holds for parents)."""
        if self._readers is None:
            self._readers = [
                (account, selectors.subject_rules(self.subject, self.today, viewer=account.person, why=why))
                for account, why in _reading(self.subject, self.today)
            ]
        return self._readers


def _news_of(request: InformationRequest, family: _Family) -> tuple[str | None, list[PortalAccount]]:
    """The decision on an entry's e-mail: why the entry is kept from the portal (:func:`selectors.entry_hold`; no
    one is mailed), else the accounts that see it now."""
    held, _until = selectors.entry_hold(request, family.rules, family.today)
    if held:
        return held, []
    return None, [
        account for account, rules in family.readers() if selectors.entry_hold(request, rules, family.today)[0] is None
    ]


def _news_hold(request_ids: list[str]) -> None:
    """Hold the e-mails of entries kept from their subject for now (:data:`NEWS_HELD`), to go out once they can be
    seen (:func:`notice_news_release`)."""
    if request_ids:
        EntryNotice.objects.bulk_create([EntryNotice(request_id=pk) for pk in request_ids], ignore_conflicts=True)
        EntryNotice.objects.filter(pk__in=request_ids, news_sent_at__isnull=True).update(news_held=True)


def _mail(accounts: Iterable[PortalAccount]) -> int:
    """The "there is news" e-mail to each account, over one connection; the e-mails sent. Any failure raises, but a
    mail server refusing an address: that is logged and skipped, since it would refuse it on every try."""
    accounts = list(accounts)
    if not accounts:
        return 0
    body = BODY.format(url=settings.GATEWAY_PORTAL_URL)
    sent = 0
    with get_connection() as connection:
        for account in accounts:
            try:
                sent += EmailMessage(SUBJECT, body, None, [account.user.email], connection=connection).send()
            except smtplib.SMTPRecipientsRefused:
                logger.warning("the mail server refused the address of portal account %s", account.pk)
    return sent


def _requests(request_ids: Iterable[str]) -> list[InformationRequest]:
    """The entries with what the hold check reads: their notice (with who cleared it) and their decisions."""
    return list(
        InformationRequest.objects.select_related("notice__cleared_by__sector")
        .prefetch_related("decisions")
        .filter(pk__in=list(request_ids))
        .order_by("created_at", "id")
    )


def _request(request_id: str) -> InformationRequest | None:
    return next(iter(_requests([request_id])), None)


def notify_new_entry(request_id: str) -> int:
    """Tell the accounts concerned that there is news about a request's subject. Returns the e-mails sent.

    An entry held back from a suspect sends nothing now; its e-mail is marked as held and sent once it can be
    seen (:func:`notice_news_release`). The sweep (:func:`news_sweep`) decides each entry the same way."""
    request = _request(request_id)
    if request is None:
        return 0
    subject = Person.objects.filter(bsn=request.subject_bsn).first()
    if subject is None:
        return 0
    held, accounts = _news_of(request, _Family(subject, timezone.localdate()))
    if held in NEWS_HELD:
        _news_hold([request.pk])
    return _mail(accounts)


def _news_batch(limit: int) -> tuple[int, int]:
    """One sweep in one transaction: the flagged entries taken, the e-mails sent. A failed send rolls it back."""
    today = timezone.localdate()
    with transaction.atomic(durable=True):
        taken = list(
            InformationRequest.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(news_pending=True)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not taken:
            return 0, 0
        requests = _requests(taken)
        subjects = {p.bsn: p for p in Person.objects.filter(bsn__in={r.subject_bsn for r in requests})}
        families: dict[str, _Family] = {}
        held: list[str] = []
        accounts: dict[int, PortalAccount] = {}
        for request in requests:
            subject = subjects.get(request.subject_bsn)
            if subject is None:
                continue  # nobody to tell, as notify_new_entry
            if subject.bsn not in families:
                families[subject.bsn] = _Family(subject, today)
            why, readers = _news_of(request, families[subject.bsn])
            if why in NEWS_HELD:
                held.append(request.pk)
            accounts.update((account.pk, account) for account in readers)
        _news_hold(held)
        InformationRequest.objects.filter(pk__in=taken).update(news_pending=False)
        return len(taken), _mail(accounts.values())


def news_sweep(*, limit: int = 500, batches: int = 20) -> int:
    """Send the "there is news" e-mails of the flagged entries, one per account per batch of up to ``limit``
    entries, until none is left or ``batches`` batches were swept (the rest goes to the next sweep). Entries
    another sweep holds are skipped; each batch commits on its own. Returns the e-mails sent."""
    sent = 0
    for _ in range(batches):
        taken, mailed = _news_batch(limit)
        sent += mailed
        if taken < limit:
            break
    return sent


_kick_after = 0.0  # time.monotonic() before which this process queues no further sweep


def news_kick() -> None:
    """Queue a sweep :data:`KICK_SECONDS` ahead, unless this process queued one less than :data:`KICK_SECONDS` ago
    (that one, running later, covers what committed since). If the broker is down, the beat's sweep takes over, and
    this process tries again only after :data:`KICK_PAUSE_SECONDS`."""
    global _kick_after
    now = time.monotonic()
    if now < _kick_after:
        return
    _kick_after = now + KICK_SECONDS
    from portal.tasks import news_sweep_task

    try:
        news_sweep_task.apply_async(countdown=KICK_SECONDS, retry=False)
    except Exception:
        _kick_after = time.monotonic() + KICK_PAUSE_SECONDS
        logger.warning("could not queue the portal's news sweep; the beat's sweep sends the e-mails")


def news_kick_after_commit() -> None:
    """:func:`news_kick` once the transaction that flagged an entry commits (at once when none is open)."""
    transaction.on_commit(news_kick)


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
            held, accounts = _news_of(request, _Family(subject, today or timezone.localdate()))
            if held:
                return 0
            sent = _mail(accounts)
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
