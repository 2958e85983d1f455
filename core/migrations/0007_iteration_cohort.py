"""Copy each iteration's cohort onto it, so a mentor's review queue reads one index.

0008 makes the column required: PostgreSQL refuses to alter a table with the
backfill's foreign-key checks still pending in the same transaction.
"""

import django.db.models.deletion
from django.db import migrations, models

# Works on PostgreSQL and SQLite alike (a correlated subquery, no UPDATE … FROM).
BACKFILL = """
UPDATE core_iteration SET cohort_id = (
    SELECT core_projectrelease.cohort_id
    FROM core_attempt
    JOIN core_projectrelease ON core_projectrelease.id = core_attempt.release_id
    WHERE core_attempt.id = core_iteration.attempt_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_queue_covering_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="iteration",
            name="cohort",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.cohort",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
