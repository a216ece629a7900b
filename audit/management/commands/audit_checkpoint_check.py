"""``manage.py audit_checkpoint_check FILE [FILE ...] [--public-key KEY]``: the trail against checkpoints kept outside
the database (audit.md, "Checkpoints"; docs/operations.md, "Backup and restore").

Each FILE is a checkpoint as ``GET /api/v1/audit/checkpoints/latest`` serves it, saved by a partner (or by the
operator, outside the database). Exit status 0 when the trail extends every one of them; 1 when one is not a checkpoint
this gateway signed, when the trail is shorter than one (a restored backup older than a published checkpoint, or
a failover that lost entries) or when the trail forked from one; each line names the checkpoint and what is wrong.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoint_check import checkpoint_check, checkpoint_parse


class Command(BaseCommand):
    help = (
        "Check the audit trail against saved signed checkpoints: their signature, that the trail reaches their size, "
        "and that it extends them (same root, consistency proof). Exit status 1 names every failing checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="Saved checkpoints (JSON, as the API serves them).")
        parser.add_argument(
            "--public-key",
            type=Path,
            help="The ASCII-armoured public key kept with the checkpoints; default: the key this database recorded "
            "for each checkpoint's fingerprint.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["public_key"].read_text(encoding="utf-8") if options["public_key"] else None
        failures = 0
        for path in options["files"]:
            try:
                saved = checkpoint_parse(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{path}: not a saved checkpoint: {exc}") from exc
            result = checkpoint_check(saved, public_key=key)
            if result.ok:
                self.stdout.write(f"OK {path.name}: {result.message}")
            else:
                failures += 1
                self.stderr.write(f"FAILED {path.name}: {result.message}")
        if failures:
            raise CommandError(
                f"{failures} of {len(options['files'])} checkpoints do not match the trail (above).", returncode=1
            )
