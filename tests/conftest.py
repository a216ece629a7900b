"""Shared fixtures: the demo world seeded once per test session, and partner clients with real tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from consent.demo.seed import seed_world
from django.test import Client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """The demo world (demo-world.md) is the test world: seeded once, each test rolls back its own changes."""
    with django_db_blocker.unblock():
        seed_world()


def obtain_token(client: Client, slug: str, scope: str | None = None) -> dict[str, Any]:
    """Client credentials at /oauth/token/ with HTTP Basic, as a partner system does."""
    basic = base64.b64encode(f"{slug}:demo-secret-{slug}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post("/oauth/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()


class Partner:
    """A partner system calling the API with its own bearer token."""

    def __init__(self, client: Client, slug: str, token: str) -> None:
        self.client = client
        self.slug = slug
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        for name, value in (extra or {}).items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        return headers

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        kw.setdefault("content_type", "application/json")
        return self.client.post(path, body, **self.headers(headers), **kw)

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get(path, **self.headers(headers), **kw)

    def ask(self, **body: Any) -> Any:
        return self.post("/api/v1/requests", body)


@pytest.fixture
def partner(db: Any) -> Callable[..., Partner]:
    """``partner("veilig-thuis-rr")`` gives a client of that organisation with a freshly issued token."""

    def make(slug: str, scope: str | None = None) -> Partner:
        client = Client()
        return Partner(client, slug, obtain_token(client, slug, scope)["access_token"])

    return make
