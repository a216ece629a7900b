"""Verify the whole audit trail (audit.md, "Verification"): exit 0 when intact, 1 naming the first failure."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.offline_verify import Progress
from audit.verification import verify_trail


class Command(BaseCommand):
    help = (
        "Recompute every leaf hash, compare the leaves with their columns and the stored tree, check indices are "
        "gapless, and check every checkpoint's root, signature and consistency. Exit status 1 names the first failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        parser.add_argument(
            "--progress",
            action="store_true",
            help="Show a progress bar on stderr even when stdout is not a terminal (it is shown on a terminal anyway, "
            "except with --json).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The bar is the offline verifier's small standard-library printer (one implementation for both), drawn on
        # stderr so that stdout keeps only the result.
        show = options["progress"] or (not options["json"] and self.stdout.isatty())
        progress = Progress(sys.stderr) if show else None
        try:
            result = verify_trail(progress=progress.update if progress is not None else None)
        finally:
            if progress is not None:
                progress.close()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        elif result.ok:
            self.stdout.write(
                f"Audit trail intact: {result.entries_checked} entries and {result.checkpoints_checked} checkpoints "
                "verified."
            )
        if not result.ok:
            raise CommandError(
                f"Audit trail NOT intact ({result.entries_checked} entries and {result.checkpoints_checked} "
                f"checkpoints verified before): {result.failure}",
                returncode=1,
            )
