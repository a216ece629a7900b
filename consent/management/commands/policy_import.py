"""``manage.py policy_import FILE [--dry-run]``: load a policy catalogue into the database, in any mode."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consent.catalogue import CatalogueError, catalogue_load, policy_import


class Command(BaseCommand):
    """Thin wrapper over :func:`consent.catalogue.policy_import` (docs/operations.md, "The policy")."""

    help = (
        "Check a policy catalogue file completely, print its permission diff against the database and import it "
        "in one audited transaction (one policy_change entry). --dry-run writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The catalogue, e.g. policy/catalogue.yaml.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Only check the file and print the diff; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Refuse a broken file with every problem (nothing written); else print the diff, then import it."""
        try:
            catalogue = catalogue_load(options["file"])
            result = policy_import(catalogue=catalogue, dry_run=options["dry_run"])
        except CatalogueError as exc:
            problems = "\n  ".join(exc.problems)
            raise CommandError(f"nothing was imported; the catalogue is not valid:\n  {problems}") from exc
        self.stdout.write(f"Policy catalogue {catalogue.version} (sha256 {catalogue.sha256})\n")
        self.stdout.write(result.diff.render())
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing written.\n")
            return
        for line in result.lines():
            self.stdout.write(line + "\n")
        if result.written:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported: policy version {result.policy_version}, audit entry {result.entry_index} "
                    "(policy_change)."
                )
            )
        else:
            self.stdout.write("Nothing changed: nothing written.\n")
