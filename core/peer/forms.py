"""Peer review forms: the reviewed learner rates a peer review and may report it."""

from __future__ import annotations

from django import forms

MAX_REPORT_CHARS = 2_000  # ReviewReport.reason


class ReviewRatingForm(forms.Form):
    """Was this peer review helpful? Yes or no."""

    helpful = forms.TypedChoiceField(
        choices=[("yes", "Helpful"), ("no", "Not helpful")],
        coerce=lambda value: value == "yes",
        error_messages={"required": "Say whether the review was helpful."},
    )


class ReviewReportForm(forms.Form):
    """Why a peer review should be looked at by staff."""

    reason = forms.CharField(
        label="What is wrong with this review?",
        max_length=MAX_REPORT_CHARS,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "For example: insulting language, or verdicts that ignore the work.",
            }
        ),
        error_messages={"required": "Say what is wrong with this review."},
    )
