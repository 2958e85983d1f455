"""Forms of the checks domain: a learner's "check my code" request."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from core.platform.uploads import ZIP, clean_name, validate_attachment
from core.reviews.models import validate_repository_url

_SHA = re.compile(r"[0-9a-f]{40}")


class CheckRequestForm(forms.Form):
    """What to check: a repository at a commit, or a zip archive of the code."""

    SOURCES = [("repository", "My repository"), ("archive", "A zip archive")]

    source = forms.ChoiceField(
        choices=SOURCES,
        initial="repository",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        label="Check",
    )
    repo_url = forms.CharField(
        label="Repository URL",
        required=False,
        max_length=300,
        widget=forms.URLInput(attrs={"placeholder": "https://github.com/you/prodev-backend"}),
    )
    commit_sha = forms.CharField(
        label="Commit SHA",
        required=False,
        max_length=40,
        help_text="Optional: the latest commit of the default branch is checked without it.",
    )
    archive = forms.FileField(label="Zip archive", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["archive"].help_text = (
            f"A .zip of your code, up to {settings.MAX_UPLOAD_MB} MB; it may unpack to at most "
            f"{settings.MAX_ZIP_UNCOMPRESSED_MB} MB."
        )
        self.fields["archive"].widget.attrs["accept"] = ".zip"

    def clean_commit_sha(self) -> str:
        sha: str = self.cleaned_data["commit_sha"].strip().lower()
        if sha and not _SHA.fullmatch(sha):
            raise ValidationError("A commit SHA is 40 hexadecimal characters (0–9 and a–f).")
        return sha

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("source") == "archive":
            upload: UploadedFile[bytes] | None = data.get("archive")
            if upload is None:
                self.add_error("archive", "Choose the zip archive to check.")
                return data
            upload.name = clean_name(upload.name or "")
            try:
                if validate_attachment(upload) is not ZIP:
                    raise ValidationError(f"“{upload.name}” is not a zip archive.")
            except ValidationError as error:
                self.add_error("archive", error)
            data["repo_url"] = data["commit_sha"] = ""
        else:
            url = data.get("repo_url", "").strip()
            if not url:
                self.add_error("repo_url", "Paste the address of your repository.")
                return data
            try:
                validate_repository_url(url)
            except ValidationError as error:
                self.add_error("repo_url", error)
            data["repo_url"] = url.rstrip("/")
            data["archive"] = None
        return data
