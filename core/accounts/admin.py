"""Admin of accounts: users and the cohort roles they hold."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from core.models import Membership, User
from core.platform.admin_helpers import LabelledRowsMixin


class UserChangeAdminForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class UserCreationAdminForm(AdminUserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class UserMembershipInline(LabelledRowsMixin, admin.TabularInline[Membership, User]):
    """The user's roles, one row per cohort."""

    model = Membership
    fields = ["cohort", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["cohort"]
    extra = 0
    verbose_name = "cohort role"
    verbose_name_plural = "cohort roles"


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    """Accounts: search by email or name, filter by staff and active flags."""

    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "display_name"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [UserMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name",)}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type]:
        # Roles are given once the account exists.
        return self.inlines if obj is not None else []
