"""OAuth endpoints as a partner and a resource server meet them (api.md, "Authentication")."""

from __future__ import annotations

import base64
from typing import Any

from django.test import Client

from tests.conftest import obtain_token


def basic(slug: str) -> str:
    return "Basic " + base64.b64encode(f"{slug}:demo-secret-{slug}".encode()).decode()


def test_client_credentials_in_the_body_work_too(db: Any) -> None:
    response = Client().post(
        "/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": "slachtofferhulp",
            "client_secret": "demo-secret-slachtofferhulp",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert set(body["scope"].split()) == {"requests", "audit", "provider"}


def test_scopes_follow_the_organisation(db: Any) -> None:
    client = Client()
    assert set(obtain_token(client, "veilig-thuis-rr")["scope"].split()) == {
        "requests",
        "audit",
        "consents",
        "provider",
    }
    assert set(obtain_token(client, "zvh-rr")["scope"].split()) == {"requests", "audit", "consents"}
    assert obtain_token(client, "politie-rotterdam", scope="requests")["scope"] == "requests"


def test_a_wrong_secret_gets_no_token(db: Any) -> None:
    response = Client().post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"politie-rotterdam:guess").decode(),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_other_grants_are_refused(db: Any) -> None:
    response = Client().post(
        "/oauth/token/",
        {"grant_type": "password", "username": "admin", "password": "veilig-delen-demo"},
        HTTP_AUTHORIZATION=basic("politie-rotterdam"),
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unsupported_grant_type", "unauthorized_client")


def test_an_inactive_organisations_client_gets_no_token_and_its_tokens_stop_working(partner: Any) -> None:
    from consent.models import Organisation

    police = partner("politie-rotterdam")
    Organisation.objects.filter(slug="politie-rotterdam").update(active=False)
    response = Client().post(
        "/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("politie-rotterdam")
    )
    assert response.status_code == 401
    assert police.get("/api/v1/requests").status_code == 401


def test_introspection_for_a_resource_server(db: Any) -> None:
    """RFC 7662: a registered client may ask whether a token of its own organisation is active and what it
    carries (another organisation's tokens: tests/gateway/test_token_endpoint.py)."""
    client = Client()
    token = obtain_token(client, "veilig-thuis-rr", scope="requests")["access_token"]
    active = client.post("/oauth/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic("veilig-thuis-rr"))
    assert active.status_code == 200
    assert active.json()["active"] is True
    assert active.json()["scope"] == "requests"
    assert active.json()["client_id"] == "veilig-thuis-rr"
    unknown = client.post("/oauth/introspect/", {"token": "nope"}, HTTP_AUTHORIZATION=basic("veilig-thuis-rr"))
    assert unknown.json() == {"active": False}
    anonymous = client.post("/oauth/introspect/", {"token": token})
    assert anonymous.status_code in (401, 403)
