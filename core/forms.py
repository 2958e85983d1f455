"""Forms, rendered with crispy-forms and Bootstrap 5."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.models import MAX_ID, Cohort, Project, Review, Task, User
from core.models.submissions import validate_repository_url
from core.services.reviews import VerdictInput
from core.uploads import (
    ALLOWED_EXTENSIONS,
    allowed_kinds_text,
    clean_name,
    validate_attachments,
)


class SignupForm(forms.Form):
    """Extra sign-up field: the name mentors and peers will see."""

    display_name = forms.CharField(
        label="Your name",
        max_length=80,
        required=False,
        help_text="Optional. Shown to mentors and peers instead of your email address.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "").strip()
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm):
    """The name a user shows to mentors and peers (account settings page)."""

    class Meta:
        model = User
        fields = ["display_name"]
        labels = {"display_name": "Your name"}
        widgets = {"display_name": forms.TextInput(attrs={"autocomplete": "name"})}


# Notification email preferences (settings/notifications/).

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
}


class NotificationSettingsForm(forms.Form):
    """One checkbox per notification kind: also send it by email?"""

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        from core.models import EmailPreference, Notification
        from core.services.notifications import EMAIL_BY_DEFAULT

        super().__init__(*args, **kwargs)
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


# Discussion thread on the attempt page (attempts/<id>/comments/).


class CommentForm(forms.Form):
    """A Markdown message in an attempt's discussion thread."""

    body = forms.CharField(
        label="Your message",
        max_length=10_000,  # core.services.comments.MAX_COMMENT_CHARS
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "Ask a question or answer one. Markdown works.",
                "data-comment-body": "",
            }
        ),
        error_messages={"required": "Write a message first."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The Markdown editor include labels the body itself.
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.form_show_labels = False


# Reviews: the mentor queue's filters and the verdict form (mentor reviews now, peer reviews later).

# Longer than any real review; keeps one request from storing a novel.
MAX_FEEDBACK_CHARS = 20_000
MAX_VERDICT_COMMENT_CHARS = 5_000


class FlatSelect(forms.Select):
    """A <select> of flat choices written in Python, not through one template per option.

    The same markup as Django's Select; a filter of 70 projects renders in a tenth of
    the time, which matters on pages rendered on every poll (the review queue).
    """

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        chosen = {str(item) for item in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


class QueueFilterForm(forms.Form):
    """The review queue's filters: one cohort and one project, both optional."""

    cohort = forms.ChoiceField(
        label="Cohort", required=False, widget=FlatSelect(attrs={"class": "form-select"})
    )
    project = forms.ChoiceField(
        label="Project", required=False, widget=FlatSelect(attrs={"class": "form-select"})
    )

    def __init__(
        self,
        *args: object,
        cohorts: Iterable[Cohort],
        projects: Iterable[Project],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohort"].choices = [
            ("", "All cohorts"),
            *((cohort.slug, cohort.name) for cohort in cohorts),
        ]
        self.fields["project"].choices = [
            ("", "All projects"),
            *((project.slug, project.title) for project in projects),
        ]

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters (an unknown slug is ignored, not an error page)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: self.cleaned_data[name]
            for name in ("cohort", "project")
            if self.cleaned_data.get(name)
        }


# Peer reviews: "How confident are you?" (Review.confidence, 1–5).
CONFIDENCE_CHOICES = [
    (1, "Not sure"),
    (2, "Somewhat unsure"),
    (3, "Fairly sure"),
    (4, "Confident"),
    (5, "Certain"),
]


@dataclass(frozen=True)
class TaskVerdictRow:
    """One task of a review form with its two bound fields, for templates."""

    task: Task
    passed: forms.BoundField
    comment: forms.BoundField


class ReviewForm(forms.Form):
    """Per-task pass/fail and comment, overall feedback and a decision.

    Task fields are built from ``tasks``: ``task_<id>_passed`` (pass/fail radio)
    and ``task_<id>_comment``; templates render them with core/_review_form.html.
    A draft (``action=draft``) needs nothing; a submit (``action=submit``)
    needs a verdict on every task and, unless ``with_decision=False``, a decision.
    """

    ACTION_DRAFT = "draft"
    ACTION_SUBMIT = "submit"
    PASS = "pass"
    FAIL = "fail"

    feedback = forms.CharField(
        label="Overall feedback",
        required=False,
        max_length=MAX_FEEDBACK_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 6, "placeholder": "What works, what to fix first, what to read."}
        ),
    )
    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        choices=Review.Decision.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self,
        *args: object,
        tasks: Sequence[Task],
        with_decision: bool = True,
        with_confidence: bool = False,
        disabled: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tasks = list(tasks)
        # Peer reviews also say how sure the reviewer is (core/_review_form.html shows it).
        self.with_confidence = with_confidence
        self.submitting = self.is_bound and self.data.get("action") == self.ACTION_SUBMIT
        for task in self.tasks:
            self.fields[self.passed_name(task)] = forms.ChoiceField(
                label=f"Task {task.number}: pass or fail",
                required=False,
                choices=[(self.PASS, "Pass"), (self.FAIL, "Fail")],
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            )
            self.fields[self.comment_name(task)] = forms.CharField(
                label=f"Comment on task {task.number}",
                required=False,
                max_length=MAX_VERDICT_COMMENT_CHARS,
                widget=forms.Textarea(
                    attrs={
                        "rows": 2,
                        "class": "form-control form-control-sm",
                        "placeholder": "What passed, what failed and why (optional).",
                    }
                ),
            )
        if not with_decision:
            del self.fields["decision"]
        if with_confidence:
            self.fields["confidence"] = forms.TypedChoiceField(
                label="How confident are you?",
                required=False,
                coerce=int,
                empty_value=None,
                choices=CONFIDENCE_CHOICES,
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            )
        for field in self.fields.values():
            field.disabled = disabled
        # The Markdown editor include labels the feedback itself.
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.form_show_labels = False

    @staticmethod
    def passed_name(task: Task) -> str:
        return f"task_{task.pk}_passed"

    @staticmethod
    def comment_name(task: Task) -> str:
        return f"task_{task.pk}_comment"

    @classmethod
    def initial_for(cls, review: Review | None) -> dict[str, str]:
        """Initial values from a saved (draft or submitted) review and its verdicts."""
        if review is None:
            return {}
        initial = {"feedback": review.feedback, "decision": review.decision}
        if review.confidence is not None:
            initial["confidence"] = str(review.confidence)
        for verdict in review.verdicts.all():
            if verdict.passed is not None:
                initial[f"task_{verdict.task_id}_passed"] = cls.PASS if verdict.passed else cls.FAIL
            initial[f"task_{verdict.task_id}_comment"] = verdict.comment
        return initial

    @property
    def task_rows(self) -> list[TaskVerdictRow]:
        return [
            TaskVerdictRow(task, self[self.passed_name(task)], self[self.comment_name(task)])
            for task in self.tasks
        ]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if self.submitting:
            for task in self.tasks:
                name = self.passed_name(task)
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, "Choose pass or fail before submitting.")
            if "decision" in self.fields and not cleaned.get("decision"):
                self.add_error("decision", "Choose a decision: approved or changes requested.")
            confidence_missing = cleaned.get("confidence") is None
            if self.with_confidence and confidence_missing and "confidence" not in self.errors:
                self.add_error("confidence", "Say how confident you are in this review.")
        return cleaned

    def verdicts(self) -> dict[int, VerdictInput]:
        """The cleaned verdicts, keyed by task id, as the review services take them."""
        passed = {self.PASS: True, self.FAIL: False}
        return {
            task.pk: VerdictInput(
                passed=passed.get(self.cleaned_data.get(self.passed_name(task), "")),
                comment=self.cleaned_data.get(self.comment_name(task), "").strip(),
            )
            for task in self.tasks
        }


# Peer reviews (issue #5): the reviewed learner rates a peer review and may report it.

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


# --- Submit page (issue #4): a learner hands in an iteration ------------------------------

# Longer than any honest note to a reviewer; the Markdown preview accepts more.
NOTES_MAX_CHARS = 20_000
_SHA = re.compile(r"[0-9a-f]{40}")
_SHORT_SHA = re.compile(r"[0-9a-f]{7,39}")


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that lets the learner pick several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A FileField whose cleaned value is a list of files (empty when none were sent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        # Empty files are refused by core.uploads with a message that names them.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


class TaskChoiceField(forms.ModelMultipleChoiceField):
    """Checkboxes labelled the way the project page lists tasks."""

    def label_from_instance(self, obj: Task) -> str:
        points = f"{obj.points} pt{'' if obj.points == 1 else 's'}"
        return f"{obj.number}. {obj.title} ({obj.get_kind_display().lower()}, {points})"

    def _check_values(self, value: Iterable[Any]) -> QuerySet[Task]:
        # Django checks the ids with one pk__in query, which an id beyond the 64-bit
        # column range crashes (OverflowError on SQLite, a DataError on PostgreSQL).
        for pk in value:
            try:
                out_of_range = not -MAX_ID - 1 <= int(str(pk)) <= MAX_ID
            except ValueError:
                continue  # not a number: Django refuses it as an invalid value
            if out_of_range:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class SubmitForm(forms.Form):
    """An iteration: repository, commit, tasks claimed done, notes and attachments."""

    # Fields the server checks as the learner types (HTMX, see core/views/submissions.py).
    LIVE_FIELDS = ("repo_url", "commit_sha")

    repo_url = forms.URLField(
        label="Repository URL",
        max_length=300,
        assume_scheme="https",
        validators=[validate_repository_url],
        help_text="The https link to your repository, like https://github.com/you/repo.",
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://github.com/you/prodev-backend-python",
                "autocomplete": "url",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
    )
    commit_sha = forms.CharField(
        label="Commit SHA",
        required=False,
        help_text="Optional: the exact commit to review (git rev-parse HEAD prints it).",
        widget=forms.TextInput(
            attrs={
                "class": "font-monospace",
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
                "placeholder": "40 characters, like 3f9a1c…",
            }
        ),
    )
    tasks = TaskChoiceField(
        label="Tasks you have done",
        queryset=Task.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Your reviewer checks every task; tick the ones you expect to pass.",
    )
    notes = forms.CharField(
        label="Notes for your reviewer",
        required=False,
        max_length=NOTES_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = MultipleFileField(label="Attachments", required=False)
    submit_token = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form has expired: reload the page and submit again.",
            "invalid": "This form has expired: reload the page and submit again.",
        },
    )

    def __init__(
        self, *args: Any, tasks: QuerySet[Task], validate_url: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tasks"].queryset = tasks
        attachments = self.fields["attachments"]
        # Read at run time: the limits are settings (tests and deployments change them).
        attachments.help_text = (
            f"Optional, up to {settings.MAX_ATTACHMENTS} files of {settings.MAX_UPLOAD_MB} MB "
            f"each: {allowed_kinds_text()}. A zip archive may unpack to at most "
            f"{settings.MAX_ZIP_UNCOMPRESSED_MB} MB."
        )
        attachments.widget.attrs.update(
            {
                "accept": ",".join(ALLOWED_EXTENSIONS),
                "data-max-files": settings.MAX_ATTACHMENTS,
                "data-max-mb": settings.MAX_UPLOAD_MB,
            }
        )
        if validate_url:
            for name in self.LIVE_FIELDS:
                self.fields[name].widget.attrs.update(
                    {
                        "hx-post": validate_url,
                        "hx-trigger": "change, keyup changed delay:500ms",
                        "hx-target": f"#submit-field-{name}",
                        "hx-swap": "outerHTML",
                        # Only this field travels (not the notes, not the files).
                        "hx-params": name,
                        "hx-sync": "this:replace",
                    }
                )

    def clean_commit_sha(self) -> str:
        sha = self.cleaned_data["commit_sha"].strip().lower()
        if not sha or _SHA.fullmatch(sha):
            return sha
        if _SHORT_SHA.fullmatch(sha):
            raise ValidationError(
                "That is a short SHA: paste all 40 characters (git rev-parse HEAD prints them).",
                code="short_sha",
            )
        raise ValidationError(
            "A commit SHA is 40 hexadecimal characters (0–9 and a–f).", code="invalid_sha"
        )

    def clean_attachments(self) -> list[UploadedFile]:
        uploads = self.cleaned_data["attachments"]
        kinds = validate_attachments(uploads)
        for upload, kind in zip(uploads, kinds, strict=True):
            # Stored and served as what we found inside, never what the browser claimed.
            upload.name = clean_name(upload.name or "")
            upload.content_type = kind.content_type
        return uploads
