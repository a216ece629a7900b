"""The API contract, checked on real responses: every response the tests get from a documented operation must be
one the generated OpenAPI description documents, status and body.

:func:`install` wraps Django's test client for the whole session (``tests/conftest.py``), so every test that
calls the API (the scenario tests, the API tests) is also a contract test: a response whose status the operation
does not document, whose content type is not the documented one (``application/problem+json`` for every error),
or whose body does not match the documented schema, fails the test that made the request. Objects are checked
strictly: a member the serializer does not define fails (``additionalProperties: false``).

The description is drf-spectacular's, generated in-process from the views and serializers, the same one
``/api/v1/schema/`` serves; OpenAPI 3.0's ``nullable`` is translated to JSON Schema for :mod:`jsonschema`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from django.test import Client
from django.urls import resolve
from django.urls.exceptions import Resolver404

PROBLEM_JSON = "application/problem+json"
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass
class Capture:
    """The responses seen in this session, by operation and status, and what failed the contract."""

    seen: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    checked: int = 0


CAPTURE = Capture()


@functools.cache
def openapi() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _strict(node: Any) -> Any:
    """OpenAPI 3.0 schema to JSON Schema: ``nullable`` as a ``null`` type, and objects closed to members their
    definition does not name."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items() if key not in ("nullable", "readOnly", "writeOnly")}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _components() -> dict[str, Any]:
    return {"schemas": _strict(openapi()["components"]["schemas"])}


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The documented operation a request reached: its path template and its description, or ``None`` when the
    route is not part of the described API (health probes, the schema itself, OAuth) or not this method."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    template = "/" + ROUTE_PARAMETER.sub(r"{\1}", match.route)
    operations = openapi()["paths"].get(template)
    if operations is None:
        return None
    operation = operations.get(method.lower())
    if operation is None:
        return None
    return template, operation


def violations(method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """What is wrong with this response by the contract (empty: it conforms, or it is not a documented
    operation)."""
    found = operation_for(method, path)
    if found is None:
        return []
    template, operation = found
    where = f"{method} {template} -> {status}"
    CAPTURE.seen.setdefault((method.upper(), template), set()).add(status)
    CAPTURE.checked += 1
    documented = operation["responses"].get(str(status))
    if documented is None:
        return [f"{where}: status not documented (documented: {sorted(operation['responses'])})"]
    content = documented.get("content") or {}
    if not content:
        return [] if not body else [f"{where}: a body where the description has none"]
    media = content_type.split(";")[0].strip()
    if media not in content:
        return [f"{where}: content type {media!r}, documented {sorted(content)}"]
    if status >= 400 and media != PROBLEM_JSON:
        return [f"{where}: an error that is not problem details"]
    try:
        instance = json.loads(body)
    except ValueError:
        return [f"{where}: the body is not JSON"]
    schema = {**_strict(content[media]["schema"]), "components": _components()}
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


class ContractViolation(AssertionError):
    """A real response that the generated OpenAPI description does not allow."""


def install() -> Any:
    """Wrap :meth:`django.test.Client.request` so that each API response is checked as it arrives; returns a
    function that undoes it."""
    original = Client.request

    def request(self: Client, **environ: Any) -> Any:
        response = original(self, **environ)
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        # the redirect to HTTPS (SECURE_SSL_REDIRECT) is transport, answered before any operation is reached
        to_https = response.status_code in (301, 308) and response.get("Location", "").startswith("https://")
        if path.startswith("/api/v1/") and not to_https and not getattr(response, "streaming", False):
            problems = violations(
                method, path, response.status_code, response.get("Content-Type", ""), response.content
            )
            if problems:
                raise ContractViolation("The response breaks the API contract:\n" + "\n".join(problems))
        return response

    Client.request = request  # type: ignore[method-assign]

    def uninstall() -> None:
        Client.request = original  # type: ignore[method-assign]

    return uninstall
