"""What-if (SPEC §4a): "what would I get if task 5 passes before the second deadline?"

The learner picks the tasks that would pass and when the iteration would be submitted;
the answer is the score receipt the scoring service would give (``whatif_receipt``), and
what the attempt's score would then be. A read: nothing is written, ever. One view serves
the page (a plain GET form without JavaScript) and, to htmx, the result alone.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from core.models import Task
from core.peer.services import grade_hold
from core.platform.access import AuthedRequest
from core.reviews.forms import WhatIfForm
from core.reviews.scoring import attempt_receipts
from core.reviews.selectors.attempts import viewer_role
from core.reviews.selectors.whatif import WhatIfPanel, WhatIfTask, attempt_whatif, whatif_panel
from core.reviews.views.attempts import _get_attempt_for_user


@vary_on_headers("HX-Request")
@require_safe
@login_required
def attempt_whatif_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """What-if on one attempt: its learner, its mentors and staff (whoever sees its score)."""
    attempt = _get_attempt_for_user(request, pk)
    role = viewer_role(attempt, request.user)
    if role == "reviewer":  # someone who only reviewed it never sees its score
        raise Http404("No such attempt.")
    held = role == "learner" and grade_hold(attempt).held
    tasks = list(attempt.release.project.tasks.order_by("number"))
    if not request.GET:
        # The page as linked: the same defaults as the attempt page's panel.
        receipts = [] if held else attempt_receipts(attempt)
        panel = whatif_panel(attempt=attempt, receipts=receipts)
    else:
        form = WhatIfForm(request.GET, tasks=tasks, release=attempt.release)
        valid = form.is_valid()
        ticked = set(form.cleaned_data.get("task", [])) if valid else _ticked(request, tasks)
        result = None
        if valid:
            result = attempt_whatif(
                attempt=attempt, tasks=tasks, passing=ticked, at=form.cleaned_data["at"]
            )
        panel = WhatIfPanel(
            tasks=[WhatIfTask(task, task.pk in ticked) for task in tasks],
            at=request.GET.get("at", "")[:32],
            result=result,
            errors=tuple(str(error) for errors in form.errors.values() for error in errors),
            shows_current=not held,
        )
    ctx = {
        "attempt": attempt,
        "project": attempt.release.project,
        "cohort": attempt.release.cohort,
        "learner": attempt.learner,
        "is_learner": role == "learner",
        "whatif": panel,
    }
    if request.htmx:
        return render(request, "core/reviews/_attempt_whatif.html#whatif-result", ctx)
    return render(request, "core/reviews/whatif.html", ctx)


def _ticked(request: AuthedRequest, tasks: list[Task]) -> set[int]:
    """The project's tasks ticked in a form that did not validate, to show it as sent."""
    sent = set(request.GET.getlist("task"))
    return {task.pk for task in tasks if str(task.pk) in sent}
