"""What the partner edge tells the layers above it, without importing them (docs/architecture.md).

The family portal listens (``portal.apps``) and queues its e-mails once the transaction commits. A receiver
runs inside the sender's transaction: it must not fail the sender's work (queue, never send, from here).
"""

from django.dispatch import Signal

# An entry the family may see was written: a request answered, a holder's push, or a holder's answer released
# (``request_id``). The entry carries the news itself (``InformationRequest.news_pending``, set in the statement that
# writes it), so the portal's receiver only wakes its news sweep: nothing is lost if that wake-up is.
entry_recorded = Signal()
# An entry about a suspect was cleared for his portal (``request_id``): a held "there is news" e-mail may go out.
notice_cleared = Signal()
# A consent was recorded by an organisation (``consent_id``): the family is asked to confirm it in the portal.
consent_recorded = Signal()
