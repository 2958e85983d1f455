"""The learner's dispute form and the mentor's decision form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from core.disputes.models import Dispute
from core.models import Verdict


class VerdictChoiceField(forms.ModelChoiceField[Verdict]):
    def label_from_instance(self, obj: Verdict) -> str:
        return f"Task {obj.task.number}. {obj.task.title} (iteration {obj.review.iteration.number})"


class DisputeForm(forms.Form):
    """Which failed verdict the learner contests, and why (Markdown)."""

    verdict = VerdictChoiceField(
        queryset=Verdict.objects.none(),
        label="Verdict to contest",
        empty_label=None,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"invalid_choice": "Choose one of the failed verdicts listed."},
    )
    reason = forms.CharField(
        label="Why this verdict is wrong",
        max_length=settings.MARKDOWN_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Point to the code, commit or requirement that shows the task is done.",
        error_messages={"required": "Say why you contest this verdict."},
    )

    def __init__(self, *args: Any, verdicts: QuerySet[Verdict], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["verdict"]
        assert isinstance(field, VerdictChoiceField)
        field.queryset = verdicts


class ResolveForm(forms.Form):
    """The mentor's outcome, with the comment the learner reads."""

    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[
            (Dispute.Status.UPHELD, "Uphold: the verdict stands"),
            (
                Dispute.Status.OVERTURNED,
                "Overturn: the verdict is reversed and the score recomputed",
            ),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choose an outcome."},
    )
    comment = forms.CharField(
        label="Comment for the learner",
        max_length=settings.MARKDOWN_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Explain the outcome to the learner."},
    )
