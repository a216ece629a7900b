"""Shared fixtures: the demo world seeded once per test session, and partner clients with real tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from consent.demo.seed import seed_world


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


@pytest.fixture
def committed_world(transactional_db: Any) -> Any:
    """For tests whose writes must be seen by other connections or processes (concurrent writers, a Celery
    worker): the demo world committed for real. pytest-django runs these after the ordinary tests and flushes
    the database after each; the append-only triggers would refuse that flush, so it runs with them paused."""
    from django.db import connection

    from audit.models import AuditHead

    if connection.vendor != "postgresql":
        pytest.skip("committed tests run on PostgreSQL, as CI does")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = origin")
    AuditHead.objects.get_or_create(pk=1, defaults={"size": 0})
    seed_world()
    yield
    from django.db import connections

    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
