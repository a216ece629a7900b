"""Where a query goes: the primary database, or, for a read a page marks, a standby (docs/operations.md, "Reads on a
standby").

``DATABASE_REPLICA_URL`` adds the alias ``replica``: a streaming hot standby of the primary (``default``). Every write
and every read that is not marked goes to the primary; nothing is routed by model. A page marks a read with
:func:`read_on_standby` (or a queryset with ``.using(standby())``), and only reads that display and decide nothing are
marked: the console's verification history, its list of emergency reviews, the catalogue's suggestions in the search
form. The standby may lag; the primary never does.

Three things keep an audited action (one that decides, releases, records a consent or writes an audit entry) on the
primary whatever a helper marks:

- :func:`standby` answers the primary while a transaction is open on the primary, and every audited action runs in
  one (:func:`audit.ledger.audit_append` refuses to run outside a transaction);
- a query that reaches the standby while the primary has a transaction open in the same thread raises
  :class:`StandbyReadInAction` (:func:`standby_guard_install`), so a marked queryset built before an action and
  evaluated inside it fails loudly instead of reading stale consent or restriction data;
- :class:`PrimaryRouter` sends every write, and every related read of a row that came from the primary, to the
  primary.

A browser that has just changed something reads from the primary for ``GATEWAY_STANDBY_PIN_SECONDS`` after
(:class:`StandbyPinMiddleware`): what it did is what the next page shows, however far the standby lags.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PRIMARY = "default"
STANDBY = "replica"
PIN_COOKIE = "vd_primary_until"
#: The pages whose browsers are pinned to the primary after a change (the API reads no marked query).
PINNED_PATHS = ("/privacy/", "/portal/", "/admin/")

T = TypeVar("T")

_pinned: ContextVar[bool] = ContextVar("vd_primary_pinned", default=False)


class StandbyReadInAction(DatabaseError):
    """A query reached the standby while a transaction was open on the primary: inside an action, which must read
    current data."""


def standby_configured() -> bool:
    return STANDBY in settings.DATABASES


def standby() -> str:
    """The alias for a read marked standby-safe: the standby when one is configured, unless a transaction is open on
    the primary (an action is under way) or this browser changed something a moment ago; else the primary."""
    if not standby_configured() or _pinned.get() or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return STANDBY


def read_on_standby(read: Callable[[str], T]) -> T:
    """``read(alias)`` on :func:`standby`; again on the primary when the standby cannot be reached, so a standby that
    is down costs the primary a read, not the page. ``read`` must evaluate its querysets (``list``, ``count``)."""
    alias = standby()
    if alias == PRIMARY:
        return read(PRIMARY)
    try:
        return read(alias)
    except StandbyReadInAction:
        raise
    except DatabaseError as exc:
        logger.warning("the standby could not be read, reading the primary: %s", exc)
        connections[alias].close()
        return read(PRIMARY)


class PrimaryRouter:
    """Every write goes to the primary; so does every read, unless its queryset names the standby or it follows a row
    read from the standby outside an action. Only the primary is migrated."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        instance = hints.get("instance")
        if instance is not None and getattr(instance._state, "db", None) == STANDBY and standby() == STANDBY:
            return STANDBY  # the related rows of a row the page read from the standby: the same (older) view
        return PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return {obj1._state.db or PRIMARY, obj2._state.db or PRIMARY} <= {PRIMARY, STANDBY}

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY


def _refuse_in_action(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    if connections[PRIMARY].in_atomic_block:
        raise StandbyReadInAction(
            "a query on the standby while a transaction is open on the primary: an action reads the primary only"
        )
    return execute(sql, params, many, context)


def standby_guard_install(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: every connection to the standby refuses queries made inside an action."""
    if connection.alias == STANDBY and _refuse_in_action not in connection.execute_wrappers:
        connection.execute_wrappers.append(_refuse_in_action)


class StandbyPinMiddleware:
    """After a browser changes something (any request but GET, HEAD or OPTIONS under the console, the portal or the
    admin), its reads go to the primary for ``GATEWAY_STANDBY_PIN_SECONDS`` (a cookie holds until when). Does
    nothing when no standby is configured. The cookie grants nothing: all it can do is make reads fresher."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not standby_configured():
            return self.get_response(request)
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        token = _pinned.set(writes or _until(request.COOKIES.get(PIN_COOKIE)) > time.time())
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if writes and request.path.startswith(PINNED_PATHS):
            seconds = settings.GATEWAY_STANDBY_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE,
                str(int(time.time() + seconds)),
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def _until(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0
