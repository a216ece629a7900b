"""Keyed pseudonyms for subjects in the audit trail: HMAC-SHA256 of the BSN with a server secret."""

import hashlib
import hmac

from django.conf import settings


def subject_pseudonym(bsn: str) -> str:
    """The pseudonym under which a person appears in the trail (audit.md); never the BSN or a name."""
    key = settings.GATEWAY_PSEUDONYM_KEY.encode("utf-8")
    return hmac.new(key, bsn.encode("utf-8"), hashlib.sha256).hexdigest()
