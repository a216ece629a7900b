"""``manage.py seed_demo``: create the demo world (``shared/spec/demo-world.md``), idempotently.

It refuses to run unless demo mode (``GATEWAY_DEMO``) or ``DEBUG`` is on, because the world carries well-known
credentials (OAuth client secrets and the portal password).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.seed import seed_world


class Command(BaseCommand):
    """Thin wrapper over :func:`demo.seed.seed_world`, then the history and a signed checkpoint."""

    help = "Create the demo world (organisations, rules, families, records, users). Demo mode or DEBUG only."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--skip-history``: only the world, without the history of requests made through the live path."""
        parser.add_argument(
            "--skip-history",
            action="store_true",
            help="Do not add the demo history of requests, consents and reviews after the world.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Refuse outside demo mode, seed the world, print the counts, then add the history once."""
        if not (getattr(settings, "GATEWAY_DEMO", False) or settings.DEBUG):
            raise CommandError("seed_demo runs only in demo mode (GATEWAY_DEMO=1) or with DEBUG on.")
        from audit.config_trail import config_actor

        with config_actor("seed_demo"):
            counts = seed_world(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo world: " + ", ".join(f"{k} {v}" for k, v in counts.items())))
        if options["skip_history"]:
            self.stdout.write("History skipped (--skip-history).")
            return
        from audit.checkpoints import checkpoint_create
        from demo.history import seed_history

        made = seed_history()
        self.stdout.write(f"History: {made} requests made through the live request path.")
        checkpoint = checkpoint_create()
        if checkpoint is not None:
            self.stdout.write(f"Signed checkpoint at tree size {checkpoint.tree_size}.")
