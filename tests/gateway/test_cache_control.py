"""No cache keeps personal data (issue 9, item 8): every response of every route is ``Cache-Control: no-store``,
except the few public things (static files, the OpenAPI schema and docs, the public key, health)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from gateway.middleware import PUBLIC_PATHS
from tests.conftest import obtain_token


def _sample(part: str, is_regex: bool) -> str:
    """A concrete path segment for a route or regex pattern part."""
    if not is_regex:
        return re.sub(r"<[^>]+>", "1", part)
    part = part.strip("^$")
    part = re.sub(r"\(\?P<\w+>([\w-]+)(\|[^)]*)?\)", r"\1", part)  # an alternative: take the first
    part = re.sub(r"\(\?P<\w+>[^)]*\)", "no-such-page", part)
    return part.replace("$", "")


def every_route() -> list[str]:
    """One concrete path for every URL pattern of the project, admin included."""
    paths: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            regex = type(pattern.pattern).__name__ == "RegexPattern"
            here = prefix + _sample(str(pattern.pattern), regex)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, here)
            elif isinstance(pattern, URLPattern):
                paths.append("/" + here)

    walk(get_resolver().url_patterns, "")
    return sorted(set(paths))


def test_the_sweep_covers_every_audience() -> None:
    routes = every_route()
    for prefix in ("/api/v1/", "/oauth/", "/portal/", "/privacy/", "/admin/"):
        assert any(route.startswith(prefix) for route in routes), prefix
    assert len(routes) > 100


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_route_is_no_store_unless_public(db: Any, method: str) -> None:
    """The general guard: a new page or endpoint cannot be cacheable by accident."""
    client = Client(raise_request_exception=False)
    for path in every_route():
        response = getattr(client, method)(path)
        if path in PUBLIC_PATHS:
            assert "no-store" not in response.get("Cache-Control", ""), path
        else:
            assert response.get("Cache-Control") == "no-store", (path, response.status_code)


def test_responses_with_personal_data_are_no_store(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    released = vt.ask(
        subject={"bsn": "999990019"},
        categories=["police_incidents"],
        purpose="vt_safety_assessment",
        case_reference="CHGK-RR-2026-0001",
    )
    assert released.status_code == 200
    assert released["Cache-Control"] == "no-store"
    assert vt.get("/api/v1/requests")["Cache-Control"] == "no-store"
    assert Client().get("/no/such/page")["Cache-Control"] == "no-store"


def test_a_token_response_is_no_store(db: Any) -> None:
    client = Client()
    obtain_token(client, "veilig-thuis-rr")
    response = client.post("/oauth/token/", {"grant_type": "client_credentials"})
    assert response["Cache-Control"] == "no-store"


def test_public_things_stay_cacheable(db: Any, settings: Any) -> None:
    client = Client()
    for path in ("/api/v1/schema/", "/api/v1/audit/public-key", "/healthz"):
        assert "no-store" not in client.get(path).get("Cache-Control", ""), path
    static = client.get("/" + settings.STATIC_URL.lstrip("/") + "portal/portal.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")
