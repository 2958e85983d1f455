"""A small curriculum folder for tests, and helpers to write, change and snapshot it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from core.models import CheckCase, CheckFile, CheckSuite, Module, Program, Project, Resource, Task

PROGRAM_MD = """\
---
name: Tiny Program
slug: tiny
modules:
- basics
- web
---

A **tiny** program, for tests.
"""

BASICS_MD = """\
---
title: Basics
summary: The first steps.
objectives:
- Model data
projects:
- orm-basics
- views-basics
---
"""

WEB_MD = """\
---
title: Web
projects:
- forms-basics
---
"""

# Line numbers matter: tests point at line 11 (task 0's points) and line 19 (checks files).
ORM_MD = """\
---
title: ORM basics
estimated_hours: 4
weight: 2
resources:
- title: Django ORM
  url: https://docs.djangoproject.com/en/stable/topics/db/
tasks:
- number: 0
  kind: mandatory
  points: 10
  repo: orm
  files:
  - models.py
- number: 1
  kind: advanced
  points: 5
  grading: checks
  checks:
    files:
    - test_orm.py
    hidden:
    - test_hidden_case
    limits:
      wall_seconds: 20
---

Learn the ORM.

## Task 0: Models

Write `models.py`:

```python
# Not a task heading: a comment in a code block.
## Task 9: neither is this
```

## Task 1: Queries

Write queries.
"""

TEST_ORM_PY = '''\
def test_first_case():
    """The first case."""


def test_hidden_case():
    """A hidden case."""
'''

VIEWS_MD = """\
---
title: Views basics
prerequisites:
- orm-basics
tasks:
- number: 0
  kind: mandatory
  points: 10
---

Views.

## Task 0: A view

Write a view.
"""

FORMS_MD = """\
---
title: Forms basics
review:
  peer_reviews_required: 2
tasks:
- number: 0
  kind: mandatory
  points: 3
---

## Task 0: A form

Write a form.
"""

TINY: dict[str, str] = {
    "program.md": PROGRAM_MD,
    "modules/basics.md": BASICS_MD,
    "modules/web.md": WEB_MD,
    "projects/orm-basics.md": ORM_MD,
    "projects/views-basics.md": VIEWS_MD,
    "projects/forms-basics.md": FORMS_MD,
    "checks/orm-basics/test_orm.py": TEST_ORM_PY,
}


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def read(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def zipped(files: dict[str, str], folder: str = "tiny") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(f"{folder}/{path}", text)
    return buffer.getvalue()


MODELS = [Program, Module, Project, Resource, CheckSuite, CheckFile, CheckCase]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every curriculum row, archived tasks included."""
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
    rows["Task"] = list(Task.all_objects.order_by("pk").values())
    rows["prerequisites"] = list(Project.prerequisites.through.objects.order_by("pk").values())
    for suite in rows["CheckSuite"]:
        suite.pop("updated_at")
    return rows
