"""The cohort progress matrix: learners × opened projects, for the cohort's mentors and staff."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from core.models import Cohort
from core.platform.access import AuthedRequest
from core.platform.cache import (
    cache_version,
    cached_fragment,
    cached_html,
    entry_timeout,
    fragment_key,
    fresh_until,
    shape_of,
    version_name,
)
from core.platform.paging import page_number
from core.reporting.dashboards import (
    MATRIX_LEGEND,
    MATRIX_PAGE_SIZE,
    MATRIX_SORTS,
    CohortSnapshot,
    cohort_snapshot,
    matrix_table,
)

TEMPLATE = "core/reporting/cohort_progress.html"
TABLE_TEMPLATE = "core/reporting/cohort_progress_table.html"


def _get_cohort_for_mentor(request: AuthedRequest, slug: str) -> Cohort:
    """The cohort if the user mentors it or is staff, else 404."""
    cohorts = Cohort.objects.overseen_by(request.user).select_related("program")
    return get_object_or_404(cohorts, slug=slug)


@dataclass(frozen=True)
class MatrixFacts:
    """What the page around the table shows of a cohort's snapshot."""

    modules: list[tuple[str, str]]  # (slug, title) of the modules with opened projects
    learner_count: int
    columns: dict[str, int]  # opened projects per module slug
    valid_until: datetime | None


def _page_number(asked: str | None, learner_count: int) -> int:
    """The matrix page asked for, within range: one cache entry per page that exists."""
    last = Paginator(range(learner_count), MATRIX_PAGE_SIZE).num_pages
    return min(page_number(asked), last)


def _matrix(
    cohort_id: int, module: str, sort: str, page: str | None
) -> tuple[MatrixFacts, str, SafeString]:
    """The page's facts, the module filter as understood, and one page of the table.

    Both are rendered once per cohort version (and module, sort and page for the table),
    then cached: a review decision bumps the version, so it shows on the next request, and
    an entry is kept until the snapshot's next deadline or opening. The warm path reads the
    cohort's version, the small facts and the table; it never builds the snapshot (the
    releases and every learner's standing read).

    Keyed by the version read first: whatever a build reads is at least that new, so an
    entry never holds data older than its key says.
    """
    now = timezone.now()
    version = cache_version(version_name("cohort", cohort_id))
    snapshots: list[CohortSnapshot] = []

    def snapshot() -> CohortSnapshot:
        if not snapshots:
            snapshots.append(cohort_snapshot(cohort_id, now))
        return snapshots[0]

    def build_facts() -> tuple[MatrixFacts, datetime]:
        built = snapshot()
        columns = Counter(column.module_slug for column in built.columns)
        facts = MatrixFacts(built.modules(), len(built.rows), dict(columns), built.valid_until)
        return facts, fresh_until(built.valid_until, now, entry_timeout())

    name = f"matrix-facts-{shape_of(MatrixFacts)}"
    key = None if version is None else fragment_key(name, cohort_id, version)
    facts = cached_fragment(key, now, build_facts)
    module = module if module in dict(facts.modules) else ""
    number = _page_number(page, facts.learner_count)

    def build_table() -> tuple[str, datetime]:
        table = matrix_table(snapshot(), module_slug=module, sort=sort, page=number)
        html = render_to_string(TABLE_TEMPLATE, {"table": table})
        return html, fresh_until(facts.valid_until, now, entry_timeout())

    if version is not None:
        key = fragment_key("matrix", cohort_id, version, sort, module or "-", number)
    return facts, module, cached_html(key, now, build_table)


@require_safe
@login_required
@vary_on_headers("HX-Request")
def cohort_progress(request: AuthedRequest, slug: str) -> HttpResponse:
    """Every learner's state and score on every opened project, sortable and filterable."""
    cohort = _get_cohort_for_mentor(request, slug)
    sort = request.GET.get("sort", "name")
    sort = sort if sort in MATRIX_SORTS else "name"
    facts, module, table = _matrix(
        cohort.pk, request.GET.get("module", ""), sort, request.GET.get("page")
    )
    context = {
        "cohort": cohort,
        "modules": facts.modules,
        "module": module,
        "module_title": dict(facts.modules).get(module, ""),
        "sort": sort,
        "sorts": MATRIX_SORTS,
        "learner_count": facts.learner_count,
        "column_count": facts.columns.get(module, 0) if module else sum(facts.columns.values()),
        "legend": MATRIX_LEGEND,
        "table_html": table,
    }
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    return render(request, f"{TEMPLATE}#matrix-table" if fragment else TEMPLATE, context)
