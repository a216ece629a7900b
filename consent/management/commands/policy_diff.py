"""``manage.py policy_diff OLD NEW``: what a change of the policy catalogue permits, widenings first."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.catalogue import CatalogueError, catalogue_load, permission_diff


class Command(BaseCommand):
    """Thin wrapper over :func:`consent.catalogue.permission_diff`; reads two files, touches no database."""

    help = (
        "Compare two policy catalogue files: for every (requester, holder, category, purpose) a rule covers, "
        "what becomes allowed, denied or conditional. Widenings first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("old", help="The catalogue in force (e.g. the last imported policy/catalogue.yaml).")
        parser.add_argument("new", help="The proposed catalogue.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Check both files completely, then print the diff; a broken file is an error with every problem."""
        problems: list[str] = []
        catalogues = []
        for which in ("old", "new"):
            try:
                catalogues.append(catalogue_load(options[which]))
            except CatalogueError as exc:
                problems += [f"{which} ({options[which]}): {p}" for p in exc.problems]
        if problems:
            raise CommandError("the catalogue is not valid:\n  " + "\n  ".join(problems))
        old, new = catalogues
        self.stdout.write(f"Policy catalogue {old.version} -> {new.version}\n")
        self.stdout.write(permission_diff(old, new).render())
