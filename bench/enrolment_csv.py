"""Time enrolment by CSV at 1,000 rows: read, plan (the preview), sign, apply.

Uses ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/prodev_enrol_bench,
created and migrated if missing). Each run enrols a fresh cohort from a file of
1,000 people: 700 new (each invited by email: the immediate task backend and the
local-memory email backend, so the rendering is timed and no mail leaves), 200
with an account elsewhere, 50 members already and 50 whose role changes. Prints
each step's wall time and the queries it took.

    python bench/enrolment_csv.py [--rows 1000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prodev_enrol_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()

    from bench.run import ensure_database

    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    call_command("migrate", verbosity=0)

    from core.cohorts.enrolment import (
        cohort_enrol,
        enrolment_plan,
        enrolment_rows_read,
        preview_sign,
        preview_unsign,
    )
    from core.models import Cohort, Membership, Program, User

    run = secrets.token_hex(3)
    program, _ = Program.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    cohort = Cohort.objects.create(
        program=program, name=f"Bench {run}", slug=f"bench-{run}", start_date="2026-01-01"
    )
    elsewhere = Cohort.objects.create(
        program=program, name=f"Elsewhere {run}", slug=f"else-{run}", start_date="2026-01-01"
    )
    staff = User.objects.create(email=f"staff-{run}@example.com", is_staff=True)
    lines = ["email,name,role"]
    for n in range(args.rows):
        email = f"p{n}-{run}@example.com"
        kind = n % 20
        role = "learner"
        if kind >= 14:  # 30%: an account already (14..19)
            user = User.objects.create(email=email, display_name=f"Person {n}")
            Membership.objects.create(user=user, cohort=elsewhere, role="learner")
            if kind >= 18:  # 10%: in this cohort already, half of them changing role
                Membership.objects.create(user=user, cohort=cohort, role="learner")
                role = "mentor" if kind == 19 else "learner"
        lines.append(f"{email},Person {n},{role}")
    data = ("\n".join(lines) + "\n").encode()

    def step(name: str, work):  # type: ignore[no-untyped-def]  # a local timing helper
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = work()
            elapsed = time.perf_counter() - start
        print(f"{name:<28} {elapsed * 1000:8.1f} ms  {len(queries):3d} queries")
        return result, elapsed

    print(f"{args.rows} rows, {len(data) / 1024:.0f} KB, on {connection.vendor}")
    with override_settings(
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
        TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}},
    ):
        rows, t_read = step("read the file", lambda: enrolment_rows_read(data))
        _plan, t_plan = step("plan (the preview)", lambda: enrolment_plan(cohort=cohort, rows=rows))
        signed, t_sign = step(
            "sign the preview", lambda: preview_sign(cohort=cohort, actor=staff, rows=rows)
        )
        again, t_unsign = step(
            "unsign it (apply)", lambda: preview_unsign(cohort=cohort, actor=staff, signed=signed)
        )
        # The transaction first, its invitations then (after the commit, as in a request
        # with the immediate backend; a worker runs them with the database backend).
        import core.cohorts.enrolment as enrolment
        from core.accounts.invitations import invitations_send

        invited: list[int] = []
        send_later = enrolment.invitations_send_on_commit
        enrolment.invitations_send_on_commit = lambda *, user_ids, cohort: invited.extend(user_ids)
        try:
            applied, t_apply = step(
                "apply (one transaction)",
                lambda: cohort_enrol(cohort=cohort, rows=again, actor=staff),
            )
        finally:
            enrolment.invitations_send_on_commit = send_later
        _, t_invite = step(
            "invitations (the task)",
            lambda: invitations_send.call(user_ids=invited, cohort_id=cohort.pk),
        )
        from django.core import mail

        print(f"{'':<28} {len(getattr(mail, 'outbox', []))} invitations rendered and sent")
    print(f"signed preview: {len(signed) / 1024:.0f} KB in the hidden field")
    print(
        f"upload to preview: {(t_read + t_plan + t_sign) * 1000:.0f} ms; "
        f"apply: {(t_unsign + t_apply) * 1000:.0f} ms; invitations: {t_invite * 1000:.0f} ms"
    )
    print("outcomes:", {str(outcome): count for outcome, count in applied.counts.items()})


if __name__ == "__main__":
    main()
