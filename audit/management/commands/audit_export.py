"""Export the audit trail for offline verification (audit.md, "Verification"): ``audit_export DIR``."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.export import audit_export


class Command(BaseCommand):
    help = "Write entries.jsonl, checkpoints.jsonl, public-key.asc and README.txt to DIR for offline verification."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="Folder to write to (created if missing).")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = audit_export(options["directory"])
        self.stdout.write(
            f"Exported {summary.entries} entries, {summary.checkpoints} checkpoints and {summary.keys} public keys "
            f"to {summary.directory}. Check it with: python audit/offline_verify.py {summary.directory}"
        )
