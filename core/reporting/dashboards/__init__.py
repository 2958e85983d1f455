"""Read models of the dashboards and the cohort progress matrix, cached per version.

common.py holds the score roll-up and helpers, cohorts.py the matrix and the mentor's
home, learners.py the learner's home.

How scores roll up (the same numbers on the learner's home, the mentor's at-risk
list and the matrix):

- A project *counts* for a learner once the cohort has opened it and it has a
  score, or once the learner's second deadline (extensions applied) has passed
  with nothing handed in: then it counts as 0. Work handed in and still waiting
  for its first review does not count until it is scored.
- Module score: the average of the module's counted project scores, weighted by
  ``Project.weight``.
- Overall score: the plain average of the module scores; a module with no
  counted project has no score and is left out.

Every builder reads a constant number of queries whatever the amount of data
(one batch for all the cohorts asked for). Results that depend on the clock carry
``valid_until`` (the next opening or deadline that would change them). Only the
cohort snapshot is cached as data (under its cohort's version, until its
``valid_until``); the other read models are cached as the HTML rendered from them
(core/reporting/views/home.py, docs/benchmarks.md "How the pages stay fast").
"""

from __future__ import annotations

from core.reporting.dashboards.cohorts import (
    AT_RISK_LISTED,
    MATRIX_LEGEND,
    MATRIX_PAGE_SIZE,
    MATRIX_SORTS,
    REVIEW_STATS_DAYS,
    AtRisk,
    CohortSnapshot,
    MatrixTable,
    MentorHome,
    ReviewStats,
    cohort_snapshot,
    cohort_snapshots,
    matrix_table,
    mentor_home,
    review_stats,
)
from core.reporting.dashboards.common import (
    CELL_STATES,
    NOT_STARTED,
    Counted,
    counted_score,
    percent_label,
    roll_up,
)
from core.reporting.dashboards.learners import (
    CLASH_WINDOW,
    RADAR_DAYS,
    LearnerData,
    LearnerHome,
    WorkloadRadar,
    learner_data,
    learner_home,
    peer_reviews_owed,
    score_chart,
    workload_radar,
)

__all__ = [
    "AT_RISK_LISTED",
    "CELL_STATES",
    "CLASH_WINDOW",
    "MATRIX_LEGEND",
    "MATRIX_PAGE_SIZE",
    "MATRIX_SORTS",
    "NOT_STARTED",
    "RADAR_DAYS",
    "REVIEW_STATS_DAYS",
    "AtRisk",
    "CohortSnapshot",
    "Counted",
    "LearnerData",
    "LearnerHome",
    "MatrixTable",
    "MentorHome",
    "ReviewStats",
    "WorkloadRadar",
    "cohort_snapshot",
    "cohort_snapshots",
    "counted_score",
    "learner_data",
    "learner_home",
    "matrix_table",
    "mentor_home",
    "peer_reviews_owed",
    "percent_label",
    "review_stats",
    "roll_up",
    "score_chart",
    "workload_radar",
]
