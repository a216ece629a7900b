"""The audit of a refused request (api.md: a rejected request is still audited): a ``rejected`` entry.

Only the method, the path, the status, the problem code and the failing field names and codes are kept: a
rejected body may hold anything, so none of its values enter the trail, and a member name the API does not
know is recorded as ``(unknown field)``. The names the API knows are read from the OpenAPI description that
the serializers and views generate (request members, query parameters and headers), never kept by hand.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from django.db import DatabaseError, transaction

from audit.choices import AuditKind
from audit.ledger import AuditWriteError, EntryDraft, audit_append
from gateway.callers import Caller

logger = logging.getLogger(__name__)
UNKNOWN_FIELD = "(unknown field)"


def _member_names(schema: dict[str, Any], node: Any, seen: set[str]) -> set[str]:
    """Every property name in ``node`` and the components it refers to, at any depth."""
    names: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            target: Any = schema
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            names |= _member_names(schema, target, seen)
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                names |= set(value)
            names |= _member_names(schema, value, seen)
    elif isinstance(node, list):
        for value in node:
            names |= _member_names(schema, value, seen)
    return names


@functools.cache
def known_fields() -> frozenset[str]:
    """The names a client may send: the members of every request body, and every parameter (path, query,
    header), as the generated OpenAPI description has them; ``""`` stands for the body as a whole."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    names: set[str] = {""}
    for operations in schema["paths"].values():
        for operation in operations.values():
            names |= {p["name"] for p in operation.get("parameters", [])}
            names |= _member_names(schema, operation.get("requestBody", {}), set())
    return frozenset(names)


def _safe_field(field: str) -> str:
    """The field path as far as it is ours: a client's unknown member names never enter the trail."""
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    if root not in known_fields():
        return UNKNOWN_FIELD
    if root == "providers":
        return "providers"
    return field if re.fullmatch(r"[a-zA-Z_-]+(\[\d{1,2}\])?(\.[a-z_]+)?", field) else root


def rejected_attempt_record(
    *, caller: Caller, method: str, path: str, status_code: int, code: str, errors: list[dict[str, str]]
) -> None:
    """Write the ``rejected`` entry for an authenticated request that was refused. Its own transaction; if it
    cannot be written the request is refused all the same (it released nothing) and the failure is logged."""
    try:
        with transaction.atomic():
            audit_append(
                EntryDraft(
                    kind=AuditKind.REJECTED,
                    actor=caller.actor(),
                    outcome=code or "rejected",
                    detail={
                        "method": method[:10],
                        "path": path[:200],
                        "status": status_code,
                        "errors": [
                            {
                                "field": _safe_field(str(e.get("field", ""))),
                                "code": str(e.get("code", ""))[:64],
                            }
                            for e in errors[:50]
                        ],
                    },
                )
            )
    except (AuditWriteError, DatabaseError):  # DatabaseError: the database is gone (a failover), not only the entry
        logger.exception("could not audit a rejected attempt")
