"""Sign a checkpoint of the audit trail now (the beat task does this every few seconds), or, with ``--status``, say
whether the trail holds the last published checkpoint (audit/published.py) without signing."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import CheckpointError, checkpoint_create
from audit.published import published_read, published_stores, trail_state


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit trail if it grew since the last one (--status: compare with the published one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--status",
            action="store_true",
            help="Sign nothing: show the published checkpoint in each store and whether the trail holds it "
            "(exit status 1 when it does not).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["status"]:
            self._check()
            return
        try:
            checkpoint = checkpoint_create()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("No new entries since the last checkpoint.")
        else:
            self.stdout.write(f"Signed checkpoint at tree size {checkpoint.tree_size}, root {checkpoint.root_hash}.")

    def _check(self) -> None:
        read = published_read()
        for store in published_stores():
            held = read.held.get(store.name)
            self.stdout.write(f"{store.name}: " + ("unreadable" if held is None else f"tree size {held or 'none'}"))
        for problem in read.problems:
            self.stdout.write(f"problem: {problem}")
        state = trail_state()
        if not state.ok:
            raise CommandError(f"{state.code}: {state.reason}")
        self.stdout.write(f"{state.code}: {state.reason}")
