"""``manage.py seed_demo``: create the demo world (``shared/spec/demo-world.md``), idempotently.

It refuses to run unless demo mode (``GATEWAY_DEMO``) or ``DEBUG`` is on, because the world carries well-known
credentials (OAuth client secrets and the portal password).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.demo.seed import seed_world

HISTORY_MODULE = "gateway.demo_history"


class Command(BaseCommand):
    """Thin wrapper over :func:`consent.demo.seed.seed_world`, then the demo history when available."""

    help = "Create the demo world (organisations, rules, families, records, users). Demo mode or DEBUG only."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--skip-history``: only the world, without the history of requests made through the live path."""
        parser.add_argument(
            "--skip-history",
            action="store_true",
            help="Do not add the demo history of requests, consents and reviews after the world.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Refuse outside demo mode, seed the world, print the counts, then add the history if present."""
        if not (getattr(settings, "GATEWAY_DEMO", False) or settings.DEBUG):
            raise CommandError("seed_demo runs only in demo mode (GATEWAY_DEMO=1) or with DEBUG on.")
        counts = seed_world(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo world: " + ", ".join(f"{k} {v}" for k, v in counts.items())))
        if options["skip_history"]:
            self.stdout.write("History skipped (--skip-history).")
            return
        # The history (requests made through the live request path) is added by gateway.demo_history when that
        # module is present; the world alone is complete without it.
        if importlib.util.find_spec(HISTORY_MODULE) is None:
            self.stdout.write(f"No history: {HISTORY_MODULE} is not installed.")
            return
        made = importlib.import_module(HISTORY_MODULE).seed_history()
        self.stdout.write(f"History: {made} requests made through the live request path.")
