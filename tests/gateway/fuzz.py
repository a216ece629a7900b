"""Hostile requests over every operation of the OpenAPI description (issue 13, item 4), with schemathesis.

schemathesis reads the description the running application serves (``/api/v1/schema/``) and generates requests
from it with Hypothesis: *positive* ones that the description allows and *negative* ones that break it (wrong
types, missing members, values out of range, strings where numbers go, ...). Each request is sent in process to
Django's WSGI application, as one of these callers, drawn per request:

- ``scoped``: a demo-world client with a real OAuth2 token (``/oauth/token/``) carrying the scope the operation
  needs; all clients that hold that scope take turns, so the per-client rate limit is shared out as real
  traffic would;
- ``owner``: for an operation with an id in its path, the client that owns a real object (its request, its
  pending item, its consent, its pre-authorisation), so the body's checks run past the 404;
- ``unscoped``: a real token without that scope (``403 insufficient_scope``);
- ``anonymous``: no ``Authorization`` header, and ``forged``: a made-up token, a real one with a character
  changed or under another scheme, the client's secret where the token belongs (all ``401``).

The body's members that name things in the demo world (a BSN, a category, a purpose, a case, an organisation, a
sector) and the optional headers get a real value nine times in ten in a positive request and half the time in a
negative one, so that requests reach the policy decision and the actions behind it instead of stopping at the first
unknown code. One request with a body in six is twisted on the wire (another content type or charset, broken or
empty JSON, duplicate members, NaN, deep nesting, over 64 KiB); one in twenty of the rest uses a method the path
does not have.

The full run (``main``) starts with schemathesis' coverage cases, about 950 requests that walk the boundaries of
every value of every operation deterministically; then random cases share out the rest evenly. The CI share has
random cases only.

Each response must pass: no ``5xx``; every ``4xx`` problem details (``application/problem+json`` with ``type``,
``title`` and ``status`` equal to the response's status, gateway/api/problems.py); a documented status and content
type, a body that matches its documented schema, and a negative request never accepted (schemathesis' checks). A
failure is recorded, not raised, so one run lists all it found.

Used by ``scripts/fuzz`` (the full run, ``python -m tests.gateway.fuzz``) and ``tests/gateway/test_fuzz.py``
(the bounded share CI runs).
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

SCHEMA_PATH = "/api/v1/schema/?format=json"
PROBLEM_JSON = "application/problem+json"
TOKEN_REFRESH_SECONDS = 0.8  # of the token's lifetime: a token is fetched again before it runs out mid-run
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CALLERS = ("scoped", "owner", "unscoped", "anonymous", "forged")
# How often each kind of caller is drawn: mostly real clients with the right scope, where the work is.
CALLER_WEIGHTS = {"scoped": 6, "owner": 3, "unscoped": 1, "anonymous": 1, "forged": 1}


@dataclasses.dataclass
class Finding:
    """One failed check, with what is needed to send the request again."""

    operation: str
    check: str
    status: int
    message: str
    caller: str
    request: str

    def key(self) -> tuple[str, str, int]:
        return (self.operation, self.check, self.status)


@dataclasses.dataclass
class Report:
    """What one run sent and what came back, per operation."""

    seed: int
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[str, collections.Counter[int]] = dataclasses.field(default_factory=dict)
    callers: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    audit_ok: bool | None = None
    audit_detail: str = ""

    def distinct_findings(self) -> list[tuple[Finding, int]]:
        """Each kind of failure once (operation, check, status), with how often it was seen."""
        counts: collections.Counter[tuple[str, str, int]] = collections.Counter(f.key() for f in self.findings)
        first: dict[tuple[str, str, int], Finding] = {}
        for finding in self.findings:
            first.setdefault(finding.key(), finding)
        return [(finding, counts[key]) for key, finding in first.items()]

    @property
    def ok(self) -> bool:
        return not self.findings and self.audit_ok is not False

    def table(self) -> str:
        """The summary: requests and statuses per operation, failures, the audit check."""
        failures = collections.Counter(f.operation for f in self.findings)
        width = max([len(name) for name in self.statuses] + [9])
        lines = [f"{'operation':<{width}}  {'requests':>8}  {'failures':>8}  statuses"]
        total: collections.Counter[int] = collections.Counter()
        for name in sorted(self.statuses):
            counter = self.statuses[name]
            total.update(counter)
            statuses = " ".join(f"{code}:{count}" for code, count in sorted(counter.items()))
            lines.append(f"{name:<{width}}  {sum(counter.values()):>8}  {failures[name]:>8}  {statuses}")
        statuses = " ".join(f"{code}:{count}" for code, count in sorted(total.items()))
        lines.append(f"{'total':<{width}}  {self.requests:>8}  {len(self.findings):>8}  {statuses}")
        rate = self.requests / self.seconds if self.seconds else 0.0
        lines.append("")
        lines.append(f"{self.requests} requests in {self.seconds:.0f} s ({rate:.0f}/s), seed {self.seed}")
        lines.append("callers: " + ", ".join(f"{name} {self.callers[name]}" for name in CALLERS))
        server_errors = sum(count for code, count in total.items() if code >= 500)
        lines.append(f"5xx: {server_errors}; distinct failures: {len(self.distinct_findings())}")
        if self.audit_ok is not None:
            lines.append(f"audit_verify: {'intact' if self.audit_ok else 'NOT INTACT'} ({self.audit_detail})")
        for finding, count in self.distinct_findings():
            lines.append("")
            lines.append(f"FAILURE {finding.check} on {finding.operation}: status {finding.status}, seen {count}x")
            lines.append(f"  caller: {finding.caller}")
            lines.append(f"  request: {finding.request}")
            lines.append("  " + finding.message.strip().replace("\n", "\n  ")[:1500])
        return "\n".join(lines)


# --- the callers ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Token:
    value: str
    expires_at: float


class Callers:
    """Real tokens of the demo world's clients, fetched through the application's own ``/oauth/token/`` (and
    fetched again before they run out). A demo client's secret is ``demo-secret-<client id>``."""

    def __init__(self, app: Any) -> None:
        from werkzeug import Client

        from gateway.models import Application
        from gateway.oauth import organisation_scopes

        self._client = Client(app)
        self.scopes: dict[str, frozenset[str]] = {}
        for application in Application.objects.select_related("organisation__sector").order_by("client_id"):
            scopes = frozenset(organisation_scopes(application))
            if scopes:
                self.scopes[application.client_id] = scopes
        if not self.scopes:
            raise RuntimeError("no OAuth clients: seed the demo world first (manage.py seed_demo)")
        self._tokens: dict[tuple[str, str], Token] = {}

    def with_scope(self, scope: str) -> list[str]:
        return [client for client, scopes in self.scopes.items() if scope in scopes]

    def without_scope(self, scope: str) -> list[str]:
        return [client for client, scopes in self.scopes.items() if scope not in scopes]

    def bearer(self, client_id: str, scope: str = "") -> str:
        """A valid bearer token of the client (all its scopes, or only ``scope``)."""
        key = (client_id, scope)
        token = self._tokens.get(key)
        if token is None or time.monotonic() > token.expires_at:
            token = self._fetch(client_id, scope)
            self._tokens[key] = token
        return token.value

    def _fetch(self, client_id: str, scope: str) -> Token:
        basic = base64.b64encode(f"{client_id}:demo-secret-{client_id}".encode()).decode()
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        for _ in range(5):
            started = time.monotonic()
            response = self._client.post("/oauth/token/", data=form, headers={"Authorization": f"Basic {basic}"})
            if response.status_code != 429:
                break
            # the token endpoint's own limit (per client and per address) holds for the fuzzer too: wait as told
            time.sleep(float(response.headers.get("Retry-After", "5")))
        if response.status_code != 200:
            raise RuntimeError(f"no token for {client_id}: {response.status_code} {response.get_data(as_text=True)}")
        body = response.get_json()
        lifetime = float(body["expires_in"]) * TOKEN_REFRESH_SECONDS
        return Token(body["access_token"], started + lifetime)


# --- the demo world's names -------------------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    """Names the demo world knows, to put into generated bodies, and real objects with their owners."""

    vocabulary: dict[str, list[Any]]
    #: path parameter name -> [(value, owning client id or "" for any client with the scope)]
    objects: dict[str, list[tuple[Any, str]]]

    @classmethod
    def load(cls) -> World:
        from consent.models import Case, Consent, DataCategory, Organisation, Person, Preauthorisation, Purpose, Sector
        from gateway.models import Application, InformationRequest, PendingItem

        def ordered(queryset: Any, field: str, limit: int = 40) -> list[Any]:
            return list(queryset.order_by(field).values_list(field, flat=True)[:limit])

        organisations = ordered(Organisation.objects.all(), "slug", 100)
        categories = ordered(DataCategory.objects.all(), "code", 100)
        purposes = ordered(Purpose.objects.all(), "code", 100)
        vocabulary: dict[str, list[Any]] = {
            "bsn": ordered(Person.objects.all(), "bsn", 100),
            "category": categories,
            "categories": [[code] for code in categories] + [categories[:3], categories[-2:]],
            "purpose": purposes,
            "purposes": [[code] for code in purposes] + [purposes[:2]],
            "case_reference": ordered(Case.objects.all(), "reference", 100),
            "recipient": organisations,
            "recipient_organisation": organisations,
            "recipients": [[slug] for slug in organisations],
            "recipient_sector": ordered(Sector.objects.all(), "code", 100),
            # which holder to ask, per category: none named, the gateway finds it (a named one is left to chance)
            "providers": [{}],
        }
        client_of = {
            organisation_id: client_id
            for organisation_id, client_id in Application.objects.order_by("client_id").values_list(
                "organisation_id", "client_id"
            )
        }

        def owned(rows: Iterator[tuple[Any, Any]]) -> list[tuple[Any, str]]:
            return [(value, client_of.get(owner, "")) for value, owner in rows]

        requests = InformationRequest.objects.order_by("-created_at", "id")
        objects = {
            "request_id": owned(requests.values_list("id", "organisation_id")[:60].iterator()),
            "item_id": owned(PendingItem.objects.order_by("id").values_list("id", "holder_id")[:60].iterator()),
            "consent_id": owned(Consent.objects.order_by("id").values_list("id", "recorded_by_id")[:60].iterator()),
            "preauthorisation_id": owned(
                Preauthorisation.objects.order_by("id").values_list("id", "holder_id")[:60].iterator()
            ),
        }
        return cls(vocabulary, {name: rows for name, rows in objects.items() if rows})


def _plant(
    body: Any, vocabulary: dict[str, list[Any]], flip: Callable[[], bool], draw: Callable[[list[Any]], Any]
) -> Any:
    """The body with the values of known member names replaced by a real name of the demo world, each one when
    ``flip()`` says so (otherwise the generated value stays)."""
    if isinstance(body, list):
        return [_plant(item, vocabulary, flip, draw) for item in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        choices = vocabulary.get(key) if isinstance(key, str) else None
        if choices and flip():
            out[key] = draw(choices)
        else:
            out[key] = _plant(value, vocabulary, flip, draw)
    return out


def served_schema(app: Any) -> dict[str, Any]:
    """The OpenAPI description as the application serves it."""
    from werkzeug import Client

    response = Client(app).get(SCHEMA_PATH)
    if response.status_code != 200:
        raise RuntimeError(f"{SCHEMA_PATH}: {response.status_code}")
    return dict(json.loads(response.get_data()))


def closed_request_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    """Request body objects closed to members they do not define (``additionalProperties: false``), as the
    strict serializers read them (an unknown member is ``400 unknown_field``). Positive requests then carry only
    defined members and get past that check; negative ones add unknown members on purpose."""
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return schema


# --- the checks -------------------------------------------------------------------------------------------------


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is problem details: ``application/problem+json`` with ``type``, ``title`` and ``status``
    (RFC 9457; docs/api.md, "Errors")."""
    from schemathesis.core.failures import CustomFailure

    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    problems: list[str] = []
    body: Any = None
    if content_type != PROBLEM_JSON:
        problems.append(f"content type {content_type or 'missing'!r}, not {PROBLEM_JSON}")
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        problems.append("the body is not JSON")
    if isinstance(body, dict):
        if not isinstance(body.get("type"), str) or not body.get("type"):
            problems.append("no 'type'")
        if not isinstance(body.get("title"), str) or not body.get("title"):
            problems.append("no 'title'")
        if body.get("status") != response.status_code:
            problems.append(f"'status' is {body.get('status')!r}, the response's is {response.status_code}")
    elif not problems or body is not None:
        problems.append("the body is not a JSON object")
    if problems:
        message = "A 4xx response must be problem details: " + "; ".join(problems)
        raise CustomFailure(
            operation=case.operation.label,
            title="Not problem details",
            message=message,
            exception=AssertionError(message),
        )
    return None


def _checks() -> list[Callable[..., Any]]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        problem_details,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]


# --- the run ----------------------------------------------------------------------------------------------------

# What may be done to the bytes on the wire of a request with a body, besides sending the generated JSON; drawn for
# one request in six. Each must come back as problem details, never as a 5xx.
WIRE = {
    "text/plain": lambda body: ({"Content-Type": "text/plain"}, body),
    "form": lambda body: ({"Content-Type": "application/x-www-form-urlencoded"}, b"subject=1&categories=x"),
    "latin-1": lambda body: ({"Content-Type": "application/json; charset=latin-1"}, body),
    "not UTF-8": lambda body: ({}, b'{"subject": {"bsn": "\xff\xfe"}}'),
    "truncated": lambda body: ({}, body[: max(1, len(body) // 2)]),
    "empty": lambda body: ({}, b""),
    "duplicate member": lambda body: ({}, b'{"purpose": "a", "purpose": "b"}'),
    "NaN": lambda body: ({}, b'{"purpose": NaN}'),
    "deep": lambda body: ({}, b"[" * 5000 + b"]" * 5000),
    "over 64 KiB": lambda body: ({}, b'{"justification": "' + b"x" * 70_000 + b'"}'),
}
# Header values a real client sends (api.md: an idempotency key of printable ASCII, an opaque user id).
HEADERS = {
    "Idempotency-Key": ["7f3c1a9e-0d7b-4c55-9a55-1f0e6c2b9d41", "order-2026-0001", "k"],
    "X-Acting-User": ["user-42", "medewerker@veilig-thuis.example"],
}
# Methods no operation has; drawn for one request in twenty, on the operation's own path.
OTHER_METHODS = ("PUT", "PATCH", "DELETE")


def _describe(case: Any, twist: str) -> str:
    body = "" if type(case.body).__name__ == "NotSet" else json.dumps(case.body, default=str)[:600]
    query = f"?{case.query}" if case.query else ""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    twisted = f" [{twist}]" if twist else ""
    return f"{case.method} {case.formatted_path}{query}{twisted} headers={headers} body={body}"


@dataclasses.dataclass
class Bucket:
    """One operation in one generation mode."""

    operation: Any
    mode: Any
    label: str
    scope: str
    sent: int = 0
    exhausted: bool = False


def _scope_of(operation: Any) -> str:
    for requirement in operation.definition.raw.get("security") or []:
        for scopes in requirement.values():
            if scopes:
                return str(scopes[0])
    return ""


class _Sender:
    """Sends one generated case as a drawn caller, perhaps twisted on the wire, and checks the response."""

    def __init__(
        self, app: Any, report: Report, callers: Callers, world: World, progress: Callable[[Report], None] | None
    ) -> None:
        self.app = app
        self.report = report
        self.progress = progress
        self.started = time.monotonic()
        self.callers = callers
        self.world = world
        self.checks = _checks()
        self.weighted = [name for name in CALLERS for _ in range(CALLER_WEIGHTS[name])]

    def __call__(self, bucket: Bucket, case: Any, draw: Callable[[Any], Any]) -> None:
        """Send ``case``; ``draw(choices)`` picks one of ``choices`` (from a seeded generator)."""
        from schemathesis.checks import not_a_server_error
        from schemathesis.core.failures import Failure, FailureGroup

        caller, client, authorization = self._caller(bucket, case, draw)
        # a schema-valid request mostly with real names and header values (to get past the first unknown code); a
        # negative one half of the time
        odds = 9 if case.meta is None or case.meta.generation.mode.is_positive else 5
        if isinstance(case.body, dict | list):
            case.body = _plant(case.body, self.world.vocabulary, lambda: draw(range(10)) < odds, draw)
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        for name, choices in HEADERS.items():
            if name in headers and draw(range(10)) < odds:
                headers[name] = draw(choices)
        case.headers = headers
        extra = {"Authorization": authorization} if authorization else {}
        kwargs: dict[str, Any] = {}
        checks = self.checks
        twist = ""
        has_body = type(case.body).__name__ != "NotSet"
        if has_body and draw(range(6)) == 0:
            twist = draw(WIRE)
            raw = case.body if isinstance(case.body, bytes) else json.dumps(case.body, default=str).encode()
            headers, kwargs["data"] = WIRE[twist](raw)
            extra.update(headers)
        elif draw(range(20)) == 0:
            # a method the path does not have: 405, which the description does not list per operation
            twist = draw(OTHER_METHODS)
            case.method = twist
            checks = [not_a_server_error, problem_details]
        response = case.call(headers=extra, app=self.app, **kwargs)
        bucket.sent += 1
        self.report.requests += 1
        self.report.callers[caller] += 1
        self.report.statuses[bucket.label][response.status_code] += 1
        self.report.seconds = time.monotonic() - self.started
        if self.progress is not None and self.report.requests % 1000 == 0:
            self.progress(self.report)
        failures: list[Any] = []
        try:
            case.validate_response(response, checks=checks, headers=extra)
        except FailureGroup as group:
            failures.extend(group.exceptions)
        except Failure as failure:
            failures.append(failure)
        for failure in failures:
            who = f"{caller} ({client})" if client else caller
            self.report.findings.append(
                Finding(
                    operation=bucket.label,
                    check=str(getattr(failure, "title", None) or type(failure).__name__),
                    status=response.status_code,
                    message=str(getattr(failure, "message", "") or failure),
                    caller=who,
                    request=_describe(case, twist),
                )
            )

    def _caller(self, bucket: Bucket, case: Any, draw: Callable[[Any], Any]) -> tuple[str, str, str]:
        """Who sends it: the kind of caller, the client id (if any) and the ``Authorization`` header (if any)."""
        caller = draw(self.weighted)
        objects = [name for name in case.path_parameters or {} if name in self.world.objects]
        if caller == "owner" and not objects:
            caller = "scoped"
        scoped = self.callers.with_scope(bucket.scope)
        if caller == "owner":
            value, client = draw(self.world.objects[objects[0]])
            case.path_parameters[objects[0]] = value
            if client not in scoped:
                client = draw(scoped)
            return caller, client, f"Bearer {self.callers.bearer(client)}"
        if caller == "scoped":
            client = draw(scoped)
            return caller, client, f"Bearer {self.callers.bearer(client)}"
        if caller == "unscoped":
            others = self.callers.without_scope(bucket.scope)
            if others:
                client = draw(others)
                return caller, client, f"Bearer {self.callers.bearer(client)}"
            # every client holds this scope: a token narrowed to another scope lacks it
            client, narrow = scoped[0], "audit" if bucket.scope != "audit" else "requests"
            return caller, f"{client}, scope {narrow}", f"Bearer {self.callers.bearer(client, narrow)}"
        if caller == "forged":
            client = draw(scoped)
            real = self.callers.bearer(client)
            basic = base64.b64encode(f"{client}:demo-secret-{client}".encode()).decode()
            made_up = hashlib.sha256(f"{client}{case.formatted_path}".encode()).hexdigest()[:43]
            changed = real[:-1] + ("A" if real[-1] != "A" else "B")
            # a made-up token, none, a real one with one character changed or under another scheme, the client's
            # own secret where a token belongs
            header = draw(
                [
                    f"Bearer {made_up}",
                    "Bearer",
                    f"Bearer {changed}",
                    f"Token {real}",
                    f"Basic {basic}",
                    f"Bearer {real}x",
                ]
            )
            return caller, client, header
        return caller, "", ""


def run(
    *,
    app: Any,
    requests: int,
    seed: int,
    operations: set[str] | None = None,
    coverage: bool = False,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Send ``requests`` generated requests spread evenly over every operation (or those named, as
    ``"GET /api/v1/requests"``), positive and negative, and check each response; with ``coverage``, schemathesis'
    coverage cases of every operation first (about 950). Reproducible for a seed and the same demo world."""
    from schemathesis import Config, GenerationMode
    from schemathesis.openapi import from_dict

    # The configuration is this one, never a schemathesis.toml found on the way: a refusal of a request that breaks
    # the description may be any of the API's 4xx, 413 (over 64 KiB) included.
    config = Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}})
    schema = from_dict(closed_request_bodies(served_schema(app)), config=config)
    report = Report(seed=seed)
    send = _Sender(app, report, Callers(app), World.load(), progress)
    buckets: list[Bucket] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operations is not None and operation.label not in operations:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            buckets.append(Bucket(operation, mode, operation.label, _scope_of(operation)))
            report.statuses.setdefault(operation.label, collections.Counter())
    if coverage:
        # first schemathesis' coverage cases: for each operation, deterministically, the boundaries of each value
        # (lengths, ranges, formats), a missing required member at a time, each type where another belongs
        for bucket in buckets[::2]:
            choose = random.Random(f"{seed} {bucket.label}").choice
            gen_config = schema.config.generation_for(operation=bucket.operation)
            modes = list(GenerationMode)
            for case in schema.iter_coverage_cases(
                bucket.operation, generation_modes=modes, generation_config=gen_config
            ):
                if report.requests >= requests:
                    break
                send(bucket, case, lambda choices, choose=choose: choose(list(choices)))
    round_ = 0
    while report.requests < requests:
        live = [bucket for bucket in buckets if not bucket.exhausted]
        if not live:
            break
        share = max(1, math.ceil((requests - report.requests) / len(live)))
        for bucket in live:
            budget = min(share, requests - report.requests)
            if budget <= 0:
                break
            before = bucket.sent
            _generate(bucket, budget, seed + 7919 * round_ + buckets.index(bucket), send)
            if bucket.sent == before:
                bucket.exhausted = True
        round_ += 1
    return report


def _generate(bucket: Bucket, budget: int, seed: int, send: _Sender) -> None:
    """Up to ``budget`` requests of one bucket: Hypothesis draws the case (schemathesis' strategy); no shrinking
    and no example database, so the run is the same for the same seed."""
    import hypothesis
    from hypothesis import HealthCheck, Phase
    from hypothesis import strategies as st

    target = bucket.sent + budget
    # The caller and the twists come from a generator of this bucket's own, seeded like Hypothesis: Hypothesis' own
    # draws favour the first choice and small numbers (it shrinks towards them), which would turn "one in twenty"
    # into nearly one in two.
    choose = random.Random(seed).choice

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=budget,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    # ``salt`` keeps the examples apart where an operation has little to vary (a GET without parameters), so that
    # Hypothesis does not stop after the one request it can make: the callers and twists vary there
    @hypothesis.given(case=bucket.operation.as_strategy(generation_mode=bucket.mode), salt=st.integers(0, 2**64))
    def one(case: Any, salt: int) -> None:
        if bucket.sent < target:
            send(bucket, case, lambda choices: choose(list(choices)))

    with suppress(hypothesis.errors.Unsatisfiable):
        one()


def audit_intact() -> tuple[bool, str]:
    """``audit_verify``: the whole trail recomputed, every checkpoint checked."""
    from audit.verification import verify_trail

    result = verify_trail()
    detail = f"{result.entries_checked} entries, {result.checkpoints_checked} checkpoints"
    return bool(result.ok), detail if result.ok else f"{detail}: {result.failure}"


@contextmanager
def connections_kept() -> Iterator[None]:
    """Django's handler closes stale connections at each request's start and end; inside a test's transaction
    that would end the transaction, so here (as Django's test client does) the connection is kept."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="how many requests to send (10000)")
    parser.add_argument("--seed", type=int, default=13, help="the generator's seed (13)")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()

    def progress(report: Report) -> None:
        print(f"  {report.requests} requests, {len(report.findings)} failures, {report.seconds:.0f} s", flush=True)

    report = run(app=app, requests=options.requests, seed=options.seed, coverage=True, progress=progress)
    from audit.checkpoints import checkpoint_create

    checkpoint_create()  # a signed checkpoint over what the run wrote, consistent with the ones before it
    report.audit_ok, report.audit_detail = audit_intact()
    print(report.table())
    return 0 if report.ok and report.requests >= options.requests else 1


if __name__ == "__main__":
    sys.exit(main())
