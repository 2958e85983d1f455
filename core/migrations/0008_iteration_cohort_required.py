"""Every iteration now has its cohort (0007); require it and index the mentor's queue."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_iteration_cohort"),
    ]

    operations = [
        migrations.AlterField(
            model_name="iteration",
            name="cohort",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.cohort",
            ),
        ),
        migrations.AddIndex(
            model_name="iteration",
            index=models.Index(
                condition=models.Q(("status", "waiting")),
                fields=["cohort", "submitted_at"],
                include=("id", "attempt", "peer_due_at", "peer_tie"),
                name="iteration_waiting_cohort",
            ),
        ),
    ]
