"""System checks for settings that can be wrong (``manage.py check --deploy`` shows the deploy ones)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def check_production_guards(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    messages: list[Error | Warning] = []
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
