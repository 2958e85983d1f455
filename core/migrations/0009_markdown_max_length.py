"""Markdown fields get a maximum length (issue #17), so ModelForms and the admin refuse
longer text. TextField's max_length is not a database constraint: the schema does
not change. The limits are settings, read here as in the models, so a deployment that
changes them does not leave a migration behind.
"""

from django.conf import settings
from django.db import migrations, models

LEARNER = settings.MARKDOWN_MAX_CHARS
CURRICULUM = settings.MARKDOWN_CURRICULUM_MAX_CHARS


def markdown(max_length, *, blank=True):
    return models.TextField(blank=blank, help_text="Markdown.", max_length=max_length)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_iteration_cohort_required"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField("comment", "body", markdown(LEARNER, blank=False)),
                migrations.AlterField("iteration", "notes", markdown(LEARNER)),
                migrations.AlterField("review", "feedback", markdown(LEARNER)),
                migrations.AlterField("verdict", "comment", markdown(LEARNER)),
                migrations.AlterField("program", "description", markdown(CURRICULUM)),
                migrations.AlterField("project", "description", markdown(CURRICULUM)),
                migrations.AlterField("task", "body", markdown(CURRICULUM)),
            ],
        ),
    ]
