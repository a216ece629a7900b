"""Malformed and hostile input (api.md, "Errors"): always a 4xx problem, never a 500, nothing released,
and the attempt audited when the caller was authenticated."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import get_access_token_model

from audit.models import AuditEntry
from gateway.api.throttling import ClientRateThrottle
from gateway.models import InformationRequest

MARK = "999990019"
VALID = {
    "subject": {"bsn": MARK},
    "categories": ["police_incidents", "house_ban"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:veilig-delen:problem:")
    assert body["title"] and body["detail"]
    return body


def rejected_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(kind="rejected").order_by("index"))


# --- Authentication and scope ---------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(db: Any) -> None:
    response = Client().post("/api/v1/requests", VALID, content_type="application/json")
    problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEntry.objects.filter(kind__in=["request", "rejected"]).count() == 0


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000])
def test_an_invalid_token_is_401(db: Any, header: str) -> None:
    response = Client().post("/api/v1/requests", VALID, content_type="application/json", HTTP_AUTHORIZATION=header)
    problem(response, 401)
    assert "Bearer" in response["WWW-Authenticate"]


def test_an_expired_token_is_401(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    get_access_token_model().objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    response = vt.ask(**VALID)
    problem(response, 401)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_token_without_the_scope_is_403_and_audited(partner: Any) -> None:
    vt = partner("veilig-thuis-rr", scope="audit")
    body = problem(vt.ask(**VALID), 403)
    assert body["code"] == "insufficient_scope"
    (entry,) = rejected_entries()
    assert entry.organisation == "veilig-thuis-rr"
    assert entry.outcome == "insufficient_scope"


def test_a_client_cannot_obtain_a_scope_its_organisation_lacks(db: Any) -> None:
    import base64

    basic = base64.b64encode(b"woonstad-maasstad:demo-secret-woonstad-maasstad").decode()
    response = Client().post(
        "/oauth/token/",
        {"grant_type": "client_credentials", "scope": "consents"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_scope"


def test_tokens_and_secrets_are_stored_hashed(partner: Any) -> None:
    from gateway.models import Application

    vt = partner("veilig-thuis-rr")
    stored = get_access_token_model().objects.get()
    assert stored.token == ""  # only the checksum is kept
    assert vt.token not in json.dumps(list(get_access_token_model().objects.values_list("token_checksum", flat=True)))
    app = Application.objects.get(client_id="veilig-thuis-rr")
    assert not app.client_secret.startswith("demo-secret")


# --- The body ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_body"),
        (b"", "application/json", 400, "invalid_request"),
        (b'{"a": 1, "a": 2}', "application/json", 400, "malformed_body"),
        (b'{"subject": NaN}', "application/json", 400, "malformed_body"),
        (b"\xff\xfe{}", "application/json", 400, "malformed_body"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "malformed_body"),
        (b'{"x":' + b"9" * 5000 + b"}", "application/json", 400, "malformed_body"),
        (json.dumps(VALID).encode(), "text/plain", 415, "unsupported_media_type"),
        (b"subject=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (json.dumps(VALID).encode(), "application/json; charset=latin-1", 415, "unsupported_media_type"),
        (b"[]", "application/json", 400, "invalid_request"),
        (b'"text"', "application/json", 400, "invalid_request"),
        (b"null", "application/json", 400, "invalid_request"),
    ],
)
def test_malformed_bodies(partner: Any, raw: bytes, content_type: str, status: int, code: str) -> None:
    vt = partner("veilig-thuis-rr")
    body = problem(vt.post("/api/v1/requests", raw, content_type=content_type), status)
    assert body["code"] == code
    assert InformationRequest.objects.count() == 0
    (entry,) = rejected_entries()
    assert entry.detail["status"] == status


def test_a_body_over_64_kib_is_413_and_audited(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    big = dict(VALID, justification="x" * 70_000)
    body = problem(vt.post("/api/v1/requests", json.dumps(big)), 413)
    assert body["code"] == "body_too_large"
    (entry,) = rejected_entries()
    assert entry.detail["status"] == 413


def with_(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (with_(subject=...), "subject", "required"),
        (with_(categories=...), "categories", "required"),
        (with_(purpose=...), "purpose", "required"),
        (with_(subject={"bsn": "999990008"}), "subject.bsn", "invalid_bsn"),
        (with_(subject={"bsn": "99999000"}), "subject.bsn", "invalid_bsn"),
        (with_(subject={"bsn": "99999000a"}), "subject.bsn", "invalid_bsn"),
        (with_(subject={"bsn": "９９９９９０００７"}), "subject.bsn", "invalid_bsn"),
        (with_(subject={"bsn": 999990019}), "subject.bsn", "invalid"),
        (with_(subject={"bsn": MARK, "name": "Mark"}), "subject.name", "unknown_field"),
        (with_(subject="999990019"), "subject", "invalid"),
        (with_(categories=[]), "categories", "too_short"),
        (with_(categories="police_incidents"), "categories", "invalid_type"),
        (with_(categories=["police_incidents", "tarot_reading"]), "categories[1]", "unknown_category"),
        (with_(categories=["police_incidents", "police_incidents"]), "categories[1]", "duplicate_category"),
        (with_(categories=["police_incidents"] * 21), "categories", "too_long"),
        (with_(categories=[None]), "categories[0]", "required"),
        (with_(purpose="curiosity"), "purpose", "unknown_purpose"),
        (with_(purpose=7), "purpose", "invalid"),
        (with_(emergency="yes"), "emergency", "invalid"),
        (with_(emergency=True), "justification", "justification_required"),
        (with_(emergency=True, justification="too short"), "justification", "too_short"),
        (with_(justification="x" * 2001), "justification", "too_long"),
        (with_(case_reference="C" * 65), "case_reference", "too_long"),
        (with_(case_reference="CHGK\x00"), "case_reference", "null_characters_not_allowed"),
        (
            with_(providers={"police_incidents": "nobody"}),
            "providers.police_incidents",
            "unknown_organisation",
        ),
        (with_(providers={"police_incidents": "om-rotterdam"}), "providers.police_incidents", "not_a_holder"),
        (with_(providers={"address": "gemeente-rotterdam"}), "providers.address", "unknown_category"),
        (with_(extra_field=1), "extra_field", "unknown_field"),
    ],
)
def test_invalid_requests_name_the_field(partner: Any, body: dict[str, Any], field: str, code: str) -> None:
    vt = partner("veilig-thuis-rr")
    problem_body = problem(vt.ask(**body), 400)
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in problem_body["errors"]]
    assert InformationRequest.objects.count() == 0
    (entry,) = rejected_entries()
    assert entry.subject is None
    assert MARK not in entry.leaf  # the rejected body's values never enter the trail


def test_an_unknown_member_name_does_not_enter_the_trail(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    problem(vt.ask(**with_(**{"999990007": "Sanne"})), 400)
    (entry,) = rejected_entries()
    assert "999990007" not in entry.leaf
    assert entry.detail["errors"] == [{"field": "(unknown field)", "code": "unknown_field"}]


@pytest.mark.parametrize(
    ("header", "value"),
    [("X-Acting-User", "u" * 129), ("Idempotency-Key", "k" * 65), ("Idempotency-Key", "has space")],
)
def test_bad_headers_are_400(partner: Any, header: str, value: str) -> None:
    vt = partner("veilig-thuis-rr")
    body = problem(vt.post("/api/v1/requests", VALID, headers={header: value}), 400)
    assert body["errors"][0]["field"] == header


def test_the_acting_user_is_recorded_not_trusted(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    response = vt.post("/api/v1/requests", VALID, headers={"X-Acting-User": "medewerker-0042"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(kind="request")
    assert entry.acting_user == "medewerker-0042"


# --- Idempotency --------------------------------------------------------------------------------------------


def test_the_same_key_and_body_returns_the_first_response_without_a_second_entry(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    first = vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "retry-1"})
    again = vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert AuditEntry.objects.filter(kind="request").count() == 1
    assert InformationRequest.objects.count() == 1


def test_the_same_key_with_another_body_is_409(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "retry-2"})
    other = dict(VALID, categories=["police_incidents"])
    body = problem(vt.post("/api/v1/requests", other, headers={"Idempotency-Key": "retry-2"}), 409)
    assert body["code"] == "idempotency_conflict"
    assert AuditEntry.objects.filter(kind="request").count() == 1


def test_keys_are_per_organisation(partner: Any) -> None:
    vt, police = partner("veilig-thuis-rr"), partner("politie-rotterdam")
    vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "shared"})
    response = police.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "shared"})
    assert response.status_code == 200
    assert AuditEntry.objects.filter(kind="request").count() == 2


# --- Reading requests -----------------------------------------------------------------------------------------


def test_another_organisations_request_is_404(partner: Any) -> None:
    vt, police = partner("veilig-thuis-rr"), partner("politie-rotterdam")
    created = vt.ask(**VALID).json()
    assert vt.get(f"/api/v1/requests/{created['id']}").json()["decisions"] == created["decisions"]
    problem(police.get(f"/api/v1/requests/{created['id']}"), 404)
    problem(vt.get("/api/v1/requests/req_doesnotexist"), 404)
    problem(vt.get("/api/v1/requests/" + "%00" * 10), 404)


def test_the_list_is_own_requests_newest_first_and_paginated(partner: Any) -> None:
    vt, police = partner("veilig-thuis-rr"), partner("politie-rotterdam")
    ids = [vt.ask(**VALID).json()["id"] for _ in range(3)]
    police.ask(**VALID)
    page = vt.get("/api/v1/requests", data={"limit": 2}).json()
    assert [r["id"] for r in page["results"]] == ids[::-1][:2]
    rest = vt.client.get(page["next"], **vt.headers()).json()
    assert [r["id"] for r in rest["results"]] == ids[:1]
    assert rest["next"] is None
    problem(vt.get("/api/v1/requests", data={"cursor": "garbage"}), 404)


def test_rate_limit_is_429_with_retry_after(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.clear()
    monkeypatch.setattr(ClientRateThrottle, "rate", "2/min", raising=False)
    vt = partner("veilig-thuis-rr")
    statuses = [vt.ask(**VALID).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    response = vt.ask(**VALID)
    problem(response, 429)
    assert int(response["Retry-After"]) >= 1
    cache.clear()


def test_wrong_methods_are_405(partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    problem(vt.client.delete("/api/v1/requests", **vt.headers()), 405)
    problem(vt.client.put("/api/v1/decisions", VALID, content_type="application/json", **vt.headers()), 405)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "subject": st.one_of(JSON, st.fixed_dictionaries({"bsn": st.sampled_from([MARK, "999990008", "", "1"])})),
        "categories": st.one_of(
            JSON, st.lists(st.sampled_from(["police_incidents", "address", "nope", ""]), max_size=4)
        ),
        "purpose": st.one_of(JSON, st.sampled_from(["vt_safety_assessment", "acute_danger", "x"])),
        "case_reference": JSON,
        "emergency": JSON,
        "justification": JSON,
        "providers": JSON,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(FIELDS, JSON))
def test_generated_bodies_never_give_a_server_error(partner: Any, body: Any) -> None:
    vt = partner("veilig-thuis-rr")
    for path in ("/api/v1/requests", "/api/v1/decisions"):
        response = vt.post(path, json.dumps(body))
        assert response.status_code in (200, 202, 400), (body, response.content)
        if response.status_code == 400:
            assert response["Content-Type"] == "application/problem+json"


def test_stored_idempotent_responses_are_purged_after_their_time(partner: Any, settings: Any) -> None:
    from gateway.models import IdempotencyRecord
    from gateway.tasks import idempotency_purge

    vt = partner("veilig-thuis-rr")
    vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "old"})
    record = IdempotencyRecord.objects.get()
    assert b"police_incidents" not in bytes(record.response_encrypted)  # encrypted at rest
    assert idempotency_purge() == 0
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency_purge() == 1
    again = vt.post("/api/v1/requests", VALID, headers={"Idempotency-Key": "old"})
    assert again.status_code == 200  # the key is free again: a new request, a new entry
    assert AuditEntry.objects.filter(kind="request").count() == 2
