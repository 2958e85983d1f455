"""Write a program as a curriculum folder (docs/curriculum-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.curriculum.files import write_folder
from core.curriculum.services import program_spec
from core.models import Program


class Command(BaseCommand):
    help = "Write PROGRAM (its slug) as a curriculum folder at PATH, for import_curriculum."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("program", help="The program's slug, such as prodev-backend.")
        parser.add_argument("path", type=Path, help="The folder to write (made if missing).")

    def handle(self, *args: Any, **options: Any) -> None:
        program = Program.objects.filter(slug=options["program"]).first()
        if program is None:
            slugs = ", ".join(Program.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No program “{options['program']}” (programs: {slugs}).")
        root: Path = options["path"]
        if root.exists() and any(root.iterdir()):
            raise CommandError(f"{root} is not empty: export into a new or empty folder.")
        try:
            written = write_folder(program_spec(program), root)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Wrote {len(written)} files of “{program.name}” to {root}.")
