"""Sign a checkpoint of the audit trail now (the beat task does this every few seconds)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointError, checkpoint_create


class Command(BaseCommand):
    help = "Sign a checkpoint of the audit trail if it grew since the last one."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = checkpoint_create()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("No new entries since the last checkpoint.")
        else:
            self.stdout.write(f"Signed checkpoint at tree size {checkpoint.tree_size}, root {checkpoint.root_hash}.")
