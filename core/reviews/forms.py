"""Forms of submitting and reviewing: the submit form, the review (verdict) form, the queue's
filters and the discussion thread's comment form."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.checks.selectors import IterationChecks, TaskResultView
from core.models import MAX_ID, Cohort, ProjectRelease, Review, Task, Verdict
from core.platform.markup import text
from core.platform.uploads import (
    ALLOWED_EXTENSIONS,
    allowed_kinds_text,
    clean_name,
    unreadable_upload_errors,
    validate_attachments,
)
from core.reviews.models import validate_repository_url
from core.reviews.services import VerdictInput


class CommentForm(forms.Form):
    """A Markdown message in an attempt's discussion thread."""

    body = forms.CharField(
        label="Your message",
        max_length=settings.MARKDOWN_MAX_CHARS,
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


# Why a mentor's verdict goes against the checks: a sentence or two, plain text.
MAX_OVERRIDE_CHARS = 2_000
# Markdown, so one limit for all of it (settings.MARKDOWN_MAX_CHARS).
MAX_FEEDBACK_CHARS = MAX_VERDICT_COMMENT_CHARS = settings.MARKDOWN_MAX_CHARS


class FlatSelect(forms.Select):
    """A <select> of flat choices written in Python, not through one template per option.

    The same markup as Django's Select; a filter of 70 projects renders in a hundredth
    of the time, which matters on pages rendered on every request (the review queue).
    Choices are plain text (``core.platform.markup.text``).
    """

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        chosen = {str(item) for item in self.format_value(value)}
        options = "".join(
            f'<option value="{text(key)}"{" selected" if str(key) in chosen else ""}>'
            f"{text(label)}</option>"
            for key, label in self.choices
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(final), mark_safe(options)
        )


class QueueFilterForm(forms.Form):
    """The review queue's filters: one cohort and one project, both optional.

    ``projects`` are the choices of project as ``(slug, title)`` pairs.
    """

    cohort = forms.ChoiceField(
        label="Cohort", required=False, widget=FlatSelect(attrs={"class": "form-select"})
    )
    project = forms.ChoiceField(
        label="Project", required=False, widget=FlatSelect(attrs={"class": "form-select"})
    )

    def __init__(
        self,
        data: Mapping[str, object] | None = None,
        *,
        cohorts: Iterable[Cohort],
        projects: Iterable[tuple[str, str]],
    ) -> None:
        super().__init__(data)
        # The fields declared above (each form holds copies of them).
        cohort_field = cast(forms.ChoiceField, self.fields["cohort"])
        project_field = cast(forms.ChoiceField, self.fields["project"])
        cohort_field.choices = [
            ("", "All cohorts"),
            *((cohort.slug, cohort.name) for cohort in cohorts),
        ]
        project_field.choices = [("", "All projects"), *projects]

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
    """One task of a review form with its bound fields and its checks, for templates."""

    task: Task
    passed: forms.BoundField | None  # None: the checks decide this task
    comment: forms.BoundField
    override: forms.BoundField | None  # why the verdict goes against the checks
    checks: TaskResultView | None  # the newest run's result for this task, if any
    checks_passed: bool | None  # what the newest finished checks said

    @property
    def decided_by_checks(self) -> bool:
        return self.passed is None


class ReviewForm(forms.Form):
    """Per-task pass/fail and comment, overall feedback and a decision.

    Task fields are built from ``tasks``: ``task_<id>_passed`` (pass/fail radio)
    and ``task_<id>_comment``; templates render them with core/reviews/_review_form.html.
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
        data: Mapping[str, object] | None = None,
        *,
        initial: dict[str, str] | None = None,
        tasks: Sequence[Task],
        with_decision: bool = True,
        with_confidence: bool = False,
        disabled: bool = False,
        checks: IterationChecks | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.tasks = list(tasks)
        self.checks = checks
        passed_by_checks = checks.passed if checks else {}
        # Tasks graded by checks are decided by them when they have said (or are saying) it;
        # when they could not check, a person decides.
        self.decided_by_checks = {
            task.pk
            for task in self.tasks
            if task.graded_by_checks and (task.pk in passed_by_checks or (checks and checks.live))
        }
        self.checks_passed = passed_by_checks
        # Peer reviews also say how sure the reviewer is (core/reviews/_review_form.html shows it).
        self.with_confidence = with_confidence
        self.submitting = self.is_bound and self.data.get("action") == self.ACTION_SUBMIT
        for task in self.tasks:
            if task.pk not in self.decided_by_checks:
                self.fields[self.passed_name(task)] = forms.ChoiceField(
                    label=f"Task {task.number}: pass or fail",
                    required=False,
                    choices=[(self.PASS, "Pass"), (self.FAIL, "Fail")],
                    widget=forms.RadioSelect(attrs={"class": "btn-check"}),
                )
            if task.prefilled_by_checks and task.pk in self.checks_passed:
                name = self.passed_name(task)
                self.initial.setdefault(
                    name, self.PASS if self.checks_passed[task.pk] else self.FAIL
                )
                self.fields[self.override_name(task)] = forms.CharField(
                    label=f"Why task {task.number} goes against the checks",
                    required=False,
                    max_length=MAX_OVERRIDE_CHARS,
                    widget=forms.Textarea(
                        attrs={
                            "rows": 2,
                            "class": "form-control form-control-sm",
                            "placeholder": "Only when your verdict differs from the checks'.",
                        }
                    ),
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
                        # core/reviews/_review_form.html: Markdown, and its limit.
                        "aria-describedby": "review-comment-help",
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

    @staticmethod
    def override_name(task: Task) -> str:
        return f"task_{task.pk}_override"

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
            initial[f"task_{verdict.task_id}_override"] = verdict.override_reason
        return initial

    @property
    def task_rows(self) -> list[TaskVerdictRow]:
        return [
            TaskVerdictRow(
                task=task,
                passed=self[self.passed_name(task)]
                if self.passed_name(task) in self.fields
                else None,
                comment=self[self.comment_name(task)],
                override=(
                    self[self.override_name(task)]
                    if self.override_name(task) in self.fields
                    else None
                ),
                checks=self.checks.result_for(task.pk) if self.checks else None,
                checks_passed=self.checks_passed.get(task.pk),
            )
            for task in self.tasks
        ]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean() returns cleaned_data
        if self.submitting:
            for task in self.tasks:
                if task.pk in self.decided_by_checks:
                    if task.pk not in self.checks_passed:
                        self.add_error(
                            None,
                            f"The checks of task {task.number} are still running: submit when "
                            "they finish (this page shows them as soon as they do).",
                        )
                    continue
                name = self.passed_name(task)
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, "Choose pass or fail before submitting.")
                elif self._overrides(task) and not cleaned.get(self.override_name(task)):
                    self.add_error(
                        self.override_name(task),
                        "Your verdict differs from the checks': say why, for the learner.",
                    )
            if "decision" in self.fields and not cleaned.get("decision"):
                self.add_error("decision", "Choose a decision: approved or changes requested.")
            confidence_missing = cleaned.get("confidence") is None
            if self.with_confidence and confidence_missing and "confidence" not in self.errors:
                self.add_error("confidence", "Say how confident you are in this review.")
        return cleaned

    def _chosen(self, task: Task) -> bool | None:
        return {self.PASS: True, self.FAIL: False}.get(
            self.cleaned_data.get(self.passed_name(task), "")
        )

    def _overrides(self, task: Task) -> bool:
        """A verdict on a task the checks pre-fill that says otherwise than they do."""
        checked = self.checks_passed.get(task.pk)
        chosen = self._chosen(task)
        return task.prefilled_by_checks and None not in (checked, chosen) and checked != chosen

    def verdicts(self) -> dict[int, VerdictInput]:
        """The cleaned verdicts, keyed by task id, as the review services take them."""
        verdicts = {}
        for task in self.tasks:
            comment = self.cleaned_data.get(self.comment_name(task), "").strip()
            checked = self.checks_passed.get(task.pk)
            if task.pk in self.decided_by_checks:
                verdicts[task.pk] = VerdictInput(
                    passed=checked,
                    comment=comment,
                    source=Verdict.Source.CHECKS,
                    checks_passed=checked,
                )
                continue
            reason = self.cleaned_data.get(self.override_name(task), "").strip()
            verdicts[task.pk] = VerdictInput(
                passed=self._chosen(task),
                comment=comment,
                checks_passed=checked,
                override_reason=reason if self._overrides(task) else "",
            )
        return verdicts


# Markdown, so the limit of all Markdown people write (the preview's too).
NOTES_MAX_CHARS = settings.MARKDOWN_MAX_CHARS
_SHA = re.compile(r"[0-9a-f]{40}")


_SHORT_SHA = re.compile(r"[0-9a-f]{7,39}")


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that lets the learner pick several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A FileField whose cleaned value is a list of files (empty when none were sent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        # Empty files are refused by core.platform.uploads with a message that names them.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


class TaskChoiceField(forms.ModelMultipleChoiceField[Task]):
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
        # Django's own check of the ids, a private method the stubs leave out.
        checked: QuerySet[Task] = super()._check_values(value)  # type: ignore[misc]  # private
        return checked


class SubmitForm(forms.Form):
    """An iteration: repository, commit, tasks claimed done, notes and attachments."""

    # Fields the server checks as the learner types (HTMX, see core/reviews/views/submissions.py).
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
    # Sent by the "Submit anyway" button the page shows when nothing changed since the
    # previous iteration (core.reviews.services.NothingChanged); never rendered as a field.
    confirm_unchanged = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        tasks: QuerySet[Task],
        validate_url: str = "",
        unreadable_uploads: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(TaskChoiceField, self.fields["tasks"]).queryset = tasks  # declared above
        # Files the browser sent that Django could not read (core.platform.uploads).
        self.unreadable_uploads = list(unreadable_uploads)
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
        sha: str = self.cleaned_data["commit_sha"].strip().lower()
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

    def clean_attachments(self) -> list[UploadedFile[bytes]]:
        uploads: list[UploadedFile[bytes]] = self.cleaned_data["attachments"]
        if self.unreadable_uploads:
            raise ValidationError(unreadable_upload_errors(self.unreadable_uploads))
        kinds = validate_attachments(uploads)
        for upload, kind in zip(uploads, kinds, strict=True):
            # Stored and served as what we found inside, never what the browser claimed.
            upload.name = clean_name(upload.name or "")
            upload.content_type = kind.content_type
        return uploads


# --- Staff overrides (core/reviews/overrides.py) ----------------------------------------------


def _override_reason() -> forms.CharField:
    return forms.CharField(
        label="Reason (the learner reads it on their receipt)",
        max_length=settings.MARKDOWN_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why: the learner reads the reason on their receipt."},
    )


class ScoreOverrideForm(forms.Form):
    """Staff set an attempt's final score, with a reason."""

    score = forms.DecimalField(
        label="Final score (%)",
        min_value=0,
        max_value=200,
        max_digits=5,
        decimal_places=2,
        help_text="0 to 200, as the formula gives: mandatory work, plus advanced work on top.",
    )
    reason = _override_reason()


class VerdictOverrideForm(forms.Form):
    """Staff set one task's verdict on an attempt, with a reason."""

    task = forms.ModelChoiceField(queryset=Task.objects.none(), label="Task", empty_label=None)
    passed = forms.TypedChoiceField(
        label="Verdict",
        choices=[("pass", "Pass"), ("fail", "Fail")],
        coerce=lambda value: value == "pass",
        widget=forms.RadioSelect,
    )
    reason = _override_reason()

    def __init__(self, *args: Any, tasks: Sequence[Task] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        task_field = cast(forms.ModelChoiceField[Task], self.fields["task"])
        task_field.queryset = Task.objects.filter(pk__in=[task.pk for task in tasks])
        # The tasks the page already has, so listing them costs no query.
        task_field.choices = [
            (task.pk, f"{task.number}. {task.title} ({task.get_kind_display().lower()})")
            for task in tasks
        ]


# What-if: after the second deadline every date scores alike, so a year past it is room enough.
WHATIF_HORIZON = timedelta(days=366)
WHATIF_DATE_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


class WhatIfForm(forms.Form):
    """What-if (SPEC §4a): the tasks that would pass and when the iteration would be submitted.

    A plain GET form; the date is read in the cohort's time zone, as the page shows dates.
    """

    task = forms.TypedMultipleChoiceField(coerce=int, required=False)
    at = forms.CharField(
        max_length=32, error_messages={"required": "Choose when the iteration would be submitted."}
    )

    def __init__(
        self, data: Mapping[str, Any] | None, *, tasks: Sequence[Task], release: ProjectRelease
    ) -> None:
        super().__init__(data)
        self.release = release
        self.zone = release.cohort.tz
        self.fields["task"].choices = [(task.pk, str(task)) for task in tasks]  # type: ignore[attr-defined]  # a ChoiceField's

    def clean_at(self) -> datetime:
        raw = self.cleaned_data["at"]
        try:
            local = datetime.strptime(raw, WHATIF_DATE_FORMAT)
        except ValueError:
            try:  # a browser that sends seconds too
                local = datetime.strptime(raw, WHATIF_DATE_FORMAT + ":%S")
            except ValueError:
                raise ValidationError("Enter a date and time, such as 2026-10-06 23:59.") from None
        # Compared before a zone is attached: no year 9999 overflows on the way to UTC.
        opens = timezone.localtime(self.release.opens_at, self.zone).replace(tzinfo=None)
        last = timezone.localtime(self.release.second_deadline, self.zone).replace(tzinfo=None)
        if local < opens:
            raise ValidationError(
                f"The project opened on {opens:%a} {opens.day} {opens:%b %H:%M}: pick a later date."
            )
        if local > last + WHATIF_HORIZON:
            raise ValidationError("Pick a date within a year of the second deadline.")
        return local.replace(tzinfo=self.zone)
