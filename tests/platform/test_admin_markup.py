"""Admin pages staff work in are labelled and valid HTML where Django's stock markup is not.

Found by the cohort set-up journey (tests/e2e/test_cohort_setup_journey.py), the first to
walk through the admin's own pages: a tabular inline's inputs had no label (axe, critical),
the sidebar's app tables named a third column their rows lack, and a cohort's start date
pointed aria-describedby at a browser time zone warning that was never there.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from core.platform.admin_helpers import LabelledRowsMixin
from tests.factories import ModuleFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def input_tag(html: str, element_id: str) -> str:
    """The opening tag of the element with ``element_id``."""
    match = re.search(rf'<(input|select|textarea)\b[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no element with id {element_id}"
    return match.group(0)


def test_every_tabular_inline_labels_its_rows() -> None:
    inlines = {
        inline
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
        if issubclass(inline, admin.TabularInline)
    }
    assert inlines
    assert [i.__name__ for i in inlines if not issubclass(i, LabelledRowsMixin)] == []


def test_each_input_of_an_inline_row_says_its_field_and_row(staff_client: Client) -> None:
    program = ProgramFactory()
    for order, title in enumerate(["Python", "Django"], start=1):
        ModuleFactory(program=program, order=order, title=title, slug=title.lower())

    html = staff_client.get(reverse("admin:core_program_change", args=[program.pk])).text

    assert 'aria-label="Title, module 1"' in input_tag(html, "id_modules-0-title")
    assert 'aria-label="Order, module 2"' in input_tag(html, "id_modules-1-order")
    assert 'aria-label="Delete, module 2"' in input_tag(html, "id_modules-1-DELETE")
    # The template row "Add another module" copies, and no label on a hidden input.
    assert 'aria-label="Title, new module"' in input_tag(html, "id_modules-__prefix__-title")
    assert "aria-label" not in input_tag(html, "id_modules-0-id")


def test_a_cohorts_start_date_is_the_browsers_date_input(staff_client: Client) -> None:
    html = staff_client.get(reverse("admin:core_cohort_add")).text

    start = input_tag(html, "id_start_date")
    assert 'type="date"' in start
    assert "aria-describedby" not in start  # no warning to describe a date alone


def test_the_sidebar_names_only_the_columns_its_rows_have(staff_client: Client) -> None:
    changelist = staff_client.get(reverse("admin:core_program_changelist")).text
    index = staff_client.get(reverse("admin:index")).text

    sidebar = changelist[changelist.index('id="nav-sidebar"') :]
    assert "Add link" in sidebar and "Change or view list link" not in sidebar
    assert "Change or view list link" in index  # the index's rows have a change link
