"""Account forms: sign-up and the profile on the settings page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest

from core.accounts.models import validate_display_name
from core.models import User


class SignupForm(forms.Form):
    """Extra sign-up field: the name mentors and peers will see."""

    display_name = forms.CharField(
        label="Your name",
        max_length=80,
        required=False,
        help_text="Optional. Shown to mentors and peers instead of your email address.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[validate_display_name],
    )

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "").strip()
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm[User]):
    """The name a user shows to mentors and peers (account settings page)."""

    class Meta:
        model = User
        fields = ["display_name"]
        labels = {"display_name": "Your name"}
        widgets = {"display_name": forms.TextInput(attrs={"autocomplete": "name"})}
