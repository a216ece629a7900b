"""The OAuth endpoints tell nothing about other clients (issue 9, item 8): an unknown client id and a wrong secret
get the same answer for the same work, guessing is rate limited, and introspection shows a client only its own
organisation's tokens (RFC 6749 §5.2, RFC 7662 §2.2 and §4)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.test import Client

from tests.conftest import obtain_token

TOKEN = "/oauth/token/"
INTROSPECT = "/oauth/introspect/"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ask_token(client_id: str, secret: str, *, in_body: bool = False, **extra: str) -> Any:
    data = {"grant_type": "client_credentials"}
    if in_body:
        return Client().post(TOKEN, {**data, "client_id": client_id, "client_secret": secret}, **extra)
    return Client().post(TOKEN, data, HTTP_AUTHORIZATION=basic(client_id, secret), **extra)


def comparable(response: Any) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.content


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """The rate limits live in the cache; each test starts and ends with none counted."""
    cache.clear()
    yield
    cache.clear()


class CountingHasher(MD5PasswordHasher):
    """The tests' hasher, counting each time a secret is hashed."""

    calls = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings: Any) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = ["tests.gateway.test_token_endpoint.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


# --- Unknown client id and wrong secret alike ----------------------------------------------------------------


@pytest.mark.parametrize("in_body", [False, True], ids=["basic", "body"])
def test_an_unknown_client_and_a_wrong_secret_get_the_same_answer(db: Any, in_body: bool) -> None:
    unknown = ask_token("no-such-organisation", "guess-123", in_body=in_body)
    wrong = ask_token("politie-rotterdam", "guess-123", in_body=in_body)
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_client"
    assert comparable(unknown) == comparable(wrong)


@pytest.mark.parametrize("in_body", [False, True], ids=["basic", "body"])
def test_an_unknown_client_costs_the_same_hash_as_a_wrong_secret(
    db: Any, hashes: type[CountingHasher], in_body: bool
) -> None:
    """The toolkit skips the hash for an unknown client id; the time would tell. Counted, not timed."""
    ask_token("politie-rotterdam", "guess-123", in_body=in_body)
    wrong_secret = hashes.calls
    hashes.calls = 0
    ask_token("no-such-organisation", "guess-123", in_body=in_body)
    assert wrong_secret == 1
    assert hashes.calls == wrong_secret


def test_an_inactive_organisations_client_costs_the_same_and_gets_the_same(db: Any, hashes: Any) -> None:
    from consent.models import Organisation

    Organisation.objects.filter(slug="politie-rotterdam").update(active=False)
    inactive = ask_token("politie-rotterdam", "demo-secret-politie-rotterdam")
    assert hashes.calls == 1
    assert comparable(inactive) == comparable(ask_token("no-such-organisation", "demo-secret-politie-rotterdam"))


def test_a_right_secret_still_gets_a_token(db: Any, hashes: Any) -> None:
    response = ask_token("politie-rotterdam", "demo-secret-politie-rotterdam")
    assert response.status_code == 200 and response.json()["access_token"]
    assert hashes.calls == 1


# --- Rate limits ---------------------------------------------------------------------------------------------


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) >= 1
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "temporarily_unavailable"


def test_token_requests_are_limited_per_client_id(db: Any, settings: Any, hashes: Any) -> None:
    settings.GATEWAY_TOKEN_RATE_CLIENT = "3/min"
    for attempt in range(3):
        assert (
            ask_token("politie-rotterdam", f"guess-{attempt}", REMOTE_ADDR=f"198.51.100.{attempt}").status_code == 401
        )
    hashes.calls = 0
    limited = ask_token("politie-rotterdam", "demo-secret-politie-rotterdam", REMOTE_ADDR="198.51.100.9")
    assert_rate_limited(limited)
    assert hashes.calls == 0  # refused before any hash: guessing costs the gateway nothing
    # Another client, and an unknown client id, are counted on their own.
    assert ask_token("zvh-rr", "demo-secret-zvh-rr").status_code == 200
    for _ in range(3):
        ask_token("no-such-organisation", "guess", in_body=True)
    assert_rate_limited(ask_token("no-such-organisation", "guess"))


def test_token_requests_are_limited_per_client_address(db: Any, settings: Any) -> None:
    settings.GATEWAY_TOKEN_RATE_ADDRESS = "4/min"
    for client_id in ("a", "b", "c", "d"):
        assert ask_token(client_id, "guess", REMOTE_ADDR="203.0.113.5").status_code == 401
    assert_rate_limited(ask_token("politie-rotterdam", "demo-secret-politie-rotterdam", REMOTE_ADDR="203.0.113.5"))
    assert ask_token("politie-rotterdam", "demo-secret-politie-rotterdam", REMOTE_ADDR="203.0.113.6").status_code == 200


def test_behind_the_proxy_the_limit_is_per_real_client(db: Any, settings: Any) -> None:
    """With one trusted proxy, the address the proxy appended counts; a client-written X-Forwarded-For entry
    does not get a fresh allowance."""
    settings.GATEWAY_TOKEN_RATE_ADDRESS = "2/min"
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR",)
    settings.AXES_IPWARE_PROXY_COUNT = 0
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        ask_token("x", "guess", HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.5", **proxy)
    assert_rate_limited(ask_token("y", "guess", HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.5", **proxy))
    assert ask_token("y", "guess", HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy).status_code == 401


# --- Introspection -------------------------------------------------------------------------------------------


def test_introspection_of_another_organisations_token_is_as_of_an_unknown_one(db: Any) -> None:
    client = Client()
    police_token = obtain_token(client, "politie-rotterdam")["access_token"]
    vt = basic("veilig-thuis-rr", "demo-secret-veilig-thuis-rr")
    other = client.post(INTROSPECT, {"token": police_token}, HTTP_AUTHORIZATION=vt)
    unknown = client.post(INTROSPECT, {"token": "no-such-token"}, HTTP_AUTHORIZATION=vt)
    assert other.status_code == 200
    assert other.json() == {"active": False}
    assert comparable(other) == comparable(unknown)
    own = client.post(
        INTROSPECT,
        {"token": police_token},
        HTTP_AUTHORIZATION=basic("politie-rotterdam", "demo-secret-politie-rotterdam"),
    )
    assert own.json()["active"] is True and own.json()["client_id"] == "politie-rotterdam"


def test_introspection_needs_client_authentication_and_post(db: Any) -> None:
    client = Client()
    token = obtain_token(client, "politie-rotterdam")["access_token"]
    police = basic("politie-rotterdam", "demo-secret-politie-rotterdam")
    assert client.post(INTROSPECT, {"token": token}).status_code in (401, 403)
    assert client.post(
        INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic("politie-rotterdam", "x")
    ).status_code in (
        401,
        403,
    )
    # A bearer token is no client authentication here (and a token in a query string would end up in logs).
    bearer = client.post(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.status_code in (401, 403) or bearer.json() == {"active": False}
    assert client.get(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=police).status_code == 405
