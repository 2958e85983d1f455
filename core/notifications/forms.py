"""Notification email preferences (settings/notifications/)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from core.models import User

# "Email me when…" finished for each notification kind.
EMAIL_WHEN = {
    "iteration_submitted": (
        "a learner in a cohort I mentor submits work",
        "For mentors: every new iteration in your cohorts' review queue.",
    ),
    "claim_taken": ("a mentor starts reviewing my work", ""),
    "review_done": ("my work is approved", "With your new score."),
    "changes_requested": ("a reviewer requests changes on my work", ""),
    "new_comment": ("someone comments in a discussion I am part of", ""),
    "project_released": ("a new project is released to my cohort", ""),
    "deadline_soon": (
        "a deadline is less than 24 hours away",
        "Only for projects you still have to submit or resubmit.",
    ),
    "dispute_opened": (
        "a learner contests a verdict I am asked to decide",
        "For mentors: disputes routed to you (staff: those no other mentor can decide).",
    ),
    "dispute_resolved": ("a mentor decides a verdict I contested", "With your new score."),
    "deadline_changed": (
        "my deadlines change",
        "An extension granted or withdrawn, or the cohort's calendar moved.",
    ),
}


class NotificationSettingsForm(forms.Form):
    """One checkbox per notification kind: also send it by email?"""

    def __init__(self, data: Mapping[str, object] | None = None, *, user: User) -> None:
        from core.models import EmailPreference, Notification
        from core.notifications.services import EMAIL_BY_DEFAULT

        super().__init__(data)
        self.user = user
        saved = dict(EmailPreference.objects.filter(user=user).values_list("kind", "enabled"))
        for kind in Notification.Kind:
            label, help_text = EMAIL_WHEN.get(kind.value, (kind.label, ""))
            self.fields[f"email_{kind.value}"] = forms.BooleanField(
                label=label,
                help_text=help_text,
                required=False,
                initial=saved.get(kind.value, kind in EMAIL_BY_DEFAULT),
            )

    def save(self) -> None:
        """Upsert one EmailPreference per kind (one query)."""
        from core.models import EmailPreference, Notification

        EmailPreference.objects.bulk_create(
            [
                EmailPreference(
                    user=self.user,
                    kind=kind.value,
                    enabled=self.cleaned_data[f"email_{kind.value}"],
                )
                for kind in Notification.Kind
            ],
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["enabled"],
        )
