"""Every admin changelist and add page loads for a staff user."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from core.models import User

MODELS = list(admin.site._registry)


def model_id(model: type) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


@pytest.mark.parametrize("model", MODELS, ids=model_id)
def test_it_loads_the_changelist_and_add_page(model: type, staff_client: Client) -> None:
    opts = model._meta
    changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    add = staff_client.get(add_url)
    # Models that are read-only in the admin refuse the add page with 403.
    model_admin = admin.site._registry[model]
    expected = 200 if model_admin.has_add_permission(add.wsgi_request) else 403
    assert add.status_code == expected


def test_it_searches_users(staff_client: Client, learner: User) -> None:
    response = staff_client.get(reverse("admin:core_user_changelist"), {"q": "alice"})
    assert response.status_code == 200
    assert learner.email in response.content.decode()


def test_it_sends_non_staff_to_sign_in(learner_client: Client) -> None:
    response = learner_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_signs_admins_in_through_allauth(client: Client, db: None) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
