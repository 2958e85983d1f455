"""Import a curriculum folder (docs/curriculum-format.md): every problem first, then all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.curriculum.files import CurriculumError, read_folder
from core.curriculum.services import curriculum_import, curriculum_plan


class Command(BaseCommand):
    help = (
        "Validate a curriculum folder, then make its program match it in one transaction "
        "(matched by slugs and task numbers; importing the same folder again changes nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The program's folder (holding program.md).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the plan (added, changed, moved, archived, removed) and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = read_folder(options["path"])
            if options["dry_run"]:
                plan = curriculum_plan(spec=spec)
            else:
                plan = curriculum_import(spec=spec)
        except CurriculumError as error:
            count = len(error.problems)
            raise CommandError(
                f"{options['path']}: {count} problem{'s' if count != 1 else ''}, nothing "
                f"imported:\n{error}"
            ) from None
        lines = plan.lines()
        if options["dry_run"] and plan.changes:
            lines[0] = f"Dry run, nothing changed. {lines[0]}"
        self.stdout.write("\n".join(lines))
