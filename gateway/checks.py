"""System checks for settings that can be wrong (``manage.py check --deploy`` shows the deploy ones).

Values that are unclear stop the start in ``config/settings.py``; these checks catch the clear values that
weaken a safeguard outside demo mode. Each names the setting and how to fix it (docs/operations.md).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from gateway.outbound import NEVER_ALLOWED_NETWORKS

# A pseudonym key shorter than this can be guessed, and with it every BSN in the trail tested.
MIN_PSEUDONYM_KEY_LENGTH = 32


def _production() -> bool:
    return not settings.DEBUG and not settings.GATEWAY_DEMO


@register(Tags.security)
def check_production_guards(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    oauth = settings.OAUTH2_PROVIDER
    if not oauth.get("COMPLIANT_BCP_RFC9700_TOKEN_STORAGE"):
        messages.append(
            Error(
                "Access tokens would be stored in plain text.",
                hint="Keep token redaction on.",
                id="gateway.E003",
            )
        )
    if settings.GATEWAY_DEMO and not settings.DEBUG and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        messages.append(
            Warning(
                "Demo mode is on against PostgreSQL: demo credentials are accepted.",
                hint="Unset GATEWAY_DEMO in production.",
                id="gateway.W001",
            )
        )
    if not settings.GATEWAY_DEMO and not settings.DEBUG and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        messages.append(
            Warning(
                "Running outside demo mode on SQLite; production uses PostgreSQL.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="gateway.W002",
            )
        )
    return messages


@register(Tags.security, deploy=True)
def check_deploy_safeguards(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Outside demo mode: no setting may switch off two-factor login, reuse a demo secret, allow plain HTTP or
    internal addresses for calls out, or leave rate limits per process."""
    if not _production():
        return []
    messages: list[CheckMessage] = []
    if not settings.GATEWAY_CONSOLE_REQUIRE_2FA:
        messages.append(
            Error(
                "GATEWAY_CONSOLE_REQUIRE_2FA is off: privacy officers would log in with a password alone.",
                hint="Unset GATEWAY_CONSOLE_REQUIRE_2FA; two-factor login is required outside demo mode.",
                id="gateway.E010",
            )
        )
    if settings.GATEWAY_CONSOLE_SELF_ENROL:
        messages.append(
            Error(
                "GATEWAY_CONSOLE_SELF_ENROL is on: a stolen password alone could enrol an authenticator.",
                hint="Unset GATEWAY_CONSOLE_SELF_ENROL; an administrator issues TOTP devices in production.",
                id="gateway.E011",
            )
        )
    if settings.SECRET_KEY == settings.DEMO_SECRET_KEY or settings.GATEWAY_PSEUDONYM_KEY == settings.DEMO_PSEUDONYM_KEY:
        messages.append(
            Error(
                "SECRET_KEY or GATEWAY_PSEUDONYM_KEY is the published demo value.",
                hint="Generate both from a secret store (docs/operations.md, 'The pseudonym key').",
                id="gateway.E012",
            )
        )
    elif len(settings.GATEWAY_PSEUDONYM_KEY) < MIN_PSEUDONYM_KEY_LENGTH:
        messages.append(
            Error(
                f"GATEWAY_PSEUDONYM_KEY is shorter than {MIN_PSEUDONYM_KEY_LENGTH} characters: with a guessed key "
                "anyone holding the audit trail can test BSNs.",
                hint="Use a random key of at least 32 characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))').",
                id="gateway.E012",
            )
        )
    if settings.GATEWAY_OUTBOUND_ALLOW_HTTP:
        messages.append(
            Error(
                "GATEWAY_OUTBOUND_ALLOW_HTTP is on: credentials, BSNs and webhook signatures would cross the network "
                "in plain text.",
                hint="Plain HTTP to holders and webhooks is for the tests only; use https URLs.",
                id="gateway.E013",
            )
        )
    for network in settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS:
        parsed = ipaddress.ip_network(network)
        too_wide = parsed.prefixlen < (8 if parsed.version == 4 else 16)
        if too_wide or any(parsed.version == n.version and parsed.overlaps(n) for n in NEVER_ALLOWED_NETWORKS):
            messages.append(
                Error(
                    f"GATEWAY_OUTBOUND_ALLOWED_NETWORKS allows {network}: a holder or webhook URL could then reach "
                    "the gateway's own machine, a cloud metadata service or a whole address family.",
                    hint="List only the private networks where holders run, such as 10.20.0.0/16.",
                    id="gateway.E014",
                )
            )
    if "*" in settings.ALLOWED_HOSTS:
        messages.append(
            Warning(
                "ALLOWED_HOSTS accepts any host name: links in e-mails could be made to point elsewhere.",
                hint="Name the gateway's host names in ALLOWED_HOSTS.",
                id="gateway.W015",
            )
        )
    if str(settings.CACHES["default"]["BACKEND"]).endswith("LocMemCache"):
        messages.append(
            Warning(
                "No shared cache: each web process keeps its own rate limits, so the limits multiply.",
                hint="Set CACHE_URL to the Redis shared by all web processes.",
                id="gateway.W016",
            )
        )
    return messages
