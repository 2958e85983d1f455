"""The cohort progress matrix: learners × opened projects, for the cohort's mentors and staff."""

from __future__ import annotations

import zlib
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from core.cache import cached_fragment, entry_timeout, fragment_key, fresh_until
from core.models import Cohort, Membership
from core.services.dashboards import (
    MATRIX_LEGEND,
    MATRIX_SORTS,
    CohortSnapshot,
    cohort_snapshot,
    matrix_table,
)

TEMPLATE = "core/cohort_progress.html"
TABLE_TEMPLATE = "core/cohort_progress_table.html"


def _get_cohort_for_mentor(request: HttpRequest, slug: str) -> Cohort:
    """The cohort if the user mentors it or is staff, else 404."""
    cohorts = Cohort.objects.select_related("program")
    if not request.user.is_staff:
        mentors = Membership.objects.filter(
            cohort=OuterRef("pk"), user=request.user, role=Membership.Role.MENTOR
        )
        cohorts = cohorts.filter(Exists(mentors))
    return get_object_or_404(cohorts, slug=slug)


def _table_html(snapshot: CohortSnapshot, module: str, sort: str) -> str:
    """The matrix table, rendered once per cohort version, module and sort, then cached.

    The table holds nothing personal (every mentor of the cohort sees the same cells) and its
    key carries the cohort's version, so a review decision shows on the next request; it is
    kept until the snapshot's next deadline or opening. It is stored zlib-compressed: 1.7 MB
    of markup at 300 × 60 is about 100 kB in the cache.
    """
    # The snapshot's own version, not the current one: a bump between the two reads must
    # not file this (older) table under the new version.
    key = None
    if snapshot.version is not None:
        key = fragment_key("matrix", snapshot.cohort_id, snapshot.version, sort, module or "-")
    now = timezone.now()
    rendered: list[str] = []  # a table built by this request is used as it is

    def build() -> tuple[bytes, datetime]:
        table = matrix_table(snapshot, module_slug=module, sort=sort)
        rendered.append(render_to_string(TABLE_TEMPLATE, {"table": table}))
        until = fresh_until(snapshot.valid_until, now, entry_timeout())
        return zlib.compress(rendered[0].encode(), 1), until

    compressed = cached_fragment(key, now, build)
    return rendered[0] if rendered else zlib.decompress(compressed).decode()


@require_safe
@login_required
@vary_on_headers("HX-Request")
def cohort_progress(request: HttpRequest, slug: str) -> HttpResponse:
    """Every learner's state and score on every opened project, sortable and filterable."""
    cohort = _get_cohort_for_mentor(request, slug)
    snapshot = cohort_snapshot(cohort.pk, timezone.now())
    modules = snapshot.modules()
    module = request.GET.get("module", "")
    module = module if module in dict(modules) else ""
    sort = request.GET.get("sort", "name")
    sort = sort if sort in MATRIX_SORTS else "name"
    context = {
        "cohort": cohort,
        "modules": modules,
        "module": module,
        "module_title": dict(modules).get(module, ""),
        "sort": sort,
        "sorts": MATRIX_SORTS,
        "learner_count": len(snapshot.rows),
        "column_count": sum(1 for c in snapshot.columns if not module or c.module_slug == module),
        "legend": MATRIX_LEGEND,
        "table_html": mark_safe(_table_html(snapshot, module, sort)),  # rendered by our template
    }
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    return render(request, f"{TEMPLATE}#matrix-table" if fragment else TEMPLATE, context)
