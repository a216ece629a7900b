"""The admin is no side door (issue #9, item 7): outside demo mode it asks for the same second factor as the
privacy console. A staff user with the right password but no verified device opens no admin page at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.admin.clients import confirmed_device, token_now, verified_admin_client
from tests.admin.walk import admin_pages

PASSWORD = "veilig-delen-demo"  # the demo world's password


@pytest.fixture
def outside_demo(settings: Any, db: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # about codes, not about waiting between them


def test_a_password_alone_opens_no_admin_page(outside_demo: None) -> None:
    pages = admin_pages()
    assert len(pages) > 60  # every registered model, not a sample
    client = Client()
    client.force_login(User.objects.get(username="admin"))  # a superuser whose password was right
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/?next="), page


def test_the_admin_login_asks_for_the_code_and_refuses_a_password_without_it(outside_demo: None) -> None:
    user = User.objects.get(username="admin")
    device = confirmed_device(user)
    client = Client()
    form = client.get("/admin/login/")
    assert form.status_code == 200 and b'name="otp_token"' in form.content
    refused = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 200 and b"errornote" in refused.content
    assert client.get("/admin/").status_code == 302
    bad = "000000" if token_now(device) != "000000" else "111111"
    wrong = client.post(
        "/admin/login/",
        {"username": "admin", "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": bad},
    )
    assert wrong.status_code == 200 and client.get("/admin/").status_code == 302

    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": token_now(device)},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_with_a_verified_device_every_admin_page_opens(outside_demo: None) -> None:
    client = verified_admin_client(User.objects.get(username="admin"))
    for page in admin_pages():
        response = client.get(page)
        # 403: an add page of a model the admin only shows (the trail, requests): refused for its own reason
        assert response.status_code in (200, 403), (page, response.status_code)


def test_in_demo_mode_the_password_suffices(settings: Any, db: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    client = Client()
    form = client.get("/admin/login/")
    assert b'name="otp_token"' not in form.content
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_a_staff_user_without_a_device_cannot_log_in_at_all(outside_demo: None) -> None:
    """No device, no way in: the admin does not enrol one (an administrator issues it)."""
    user = User.objects.create_user("staff-no-device", password="a-long-staff-password", is_staff=True)
    client = Client()
    response = client.post("/admin/login/", {"username": user.username, "password": "a-long-staff-password"})
    assert response.status_code == 200 and client.get("/admin/").status_code == 302
