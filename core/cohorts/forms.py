"""The join-code form people fill in on their home page."""

from __future__ import annotations

from django import forms

from core.cohorts.join_codes import MAX_INPUT, code_normalized


class JoinCodeForm(forms.Form):
    """A join code as typed or pasted: checked for its shape here, redeemed by the view."""

    code = forms.CharField(
        label="Join code",
        max_length=MAX_INPUT,
        strip=True,
        error_messages={"required": "Enter the join code program staff gave you."},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if code_normalized(code) is None:
            raise forms.ValidationError(
                "A join code has 20 letters and digits. Check that you copied all of it."
            )
        return code
