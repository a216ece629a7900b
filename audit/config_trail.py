"""Configuration changes on the audit trail (audit.md, "What is recorded": ``config``; issue item 6).

Sectors, organisations, data categories and their fields, purposes, the legal-basis catalogue, sharing rules (with
their categories and purposes) and OAuth clients are *configuration*: they decide what may be shared with whom.
They are registered with django-auditlog, which keeps the field-level history (which fields changed, from what to
what, by whom) in ``auditlog_logentry``; that table is append-only (migration ``0004``). Each LogEntry is also
anchored in our Merkle trail by one ``config`` entry that references it by id and carries the SHA-256 of its
stable fields (:func:`logentry_digest`), so a rewritten auditlog history no longer matches a signed checkpoint.
The trail never holds the changed values, which can be names: only the model, the object's key, the action, the
*names* of the changed fields and the hash. The OAuth client secret is not logged at all (``exclude_fields``):
it is stored hashed, but a hash of a weak secret can still be guessed.

Why a signal receiver, when every other entry is written by the code path that makes the event happen:
configuration is edited through the admin (ours and django-oauth-toolkit's), where django-auditlog itself writes
its entries from model signals (``pre_save`` for updates, ``post_save`` for creations, ``post_delete``,
``m2m_changed``). The one place that sees every LogEntry is the saving of the LogEntry itself.
``auditlog.signals.post_log`` is not enough: django-auditlog 3.4 sends it for create, update, delete and access,
but not for many-to-many changes (``LogEntryManager.log_m2m_changes`` sends nothing). So :func:`config_entry_append`
runs from Django's ``post_save`` for the LogEntry model: synchronously, on the same connection and in the same
transaction, right after the row is inserted. An exception raised there propagates (auditlog's
``_create_log_entry`` re-raises whatever failed) to the code that saved the configuration, and the transaction
rolls back: no configuration change without its LogEntry, and no LogEntry without its ``config`` entry.

Transactions: :func:`audit.ledger.audit_append` refuses to run outside a transaction, but by then a creation would
already be committed in autocommit mode (auditlog logs creations in ``post_save``, after the INSERT). So the
receivers here refuse earlier, with :class:`ConfigurationAuditError`: a ``pre_save``/``pre_delete`` guard on every
registered model and a ``pre_save`` guard on LogEntry. Outside ``transaction.atomic()`` nothing is written at all.
The admin (``changeform_view``), :func:`demo.seed.seed_world`, ``loaddata`` and migrations run in
transactions; deletions and many-to-many changes open their own.

Not seen by django-auditlog, and therefore not on the trail: ``QuerySet.update()``, ``bulk_create()``,
``bulk_update()``, raw SQL, and anything inside ``auditlog.context.disable_auditlog()``. Configuration is changed
through ``save()`` (the admin, services, the seed).

Actors: in a request, django-auditlog's middleware puts the logged-in user on the LogEntry (``actor``), and the
``config`` entry's ``user`` is that user's username. Outside requests (management commands, the seed, a shell,
Celery) there is no user: wrap the work in :func:`config_actor`, e.g. ``with config_actor("seed_demo"):``, and the
LogEntry's ``additional_data`` and the entry's ``user`` say ``system:seed_demo``. Without it the actor is named
after the process (:func:`process_actor`: ``system:<command>`` for ``manage.py <command>``, ``system:celery``, ...),
in the trail only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from auditlog import get_logentry_model
from auditlog.context import auditlog_value, set_extra_data
from auditlog.registry import auditlog
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.signals import post_save, pre_delete, pre_save

from audit.ledger import Actor, EntryDraft, audit_append, canonical_bytes
from audit.models import AuditEntry, AuditKind

SYSTEM_PREFIX = "system:"
ACTOR_MAX_LENGTH = 150  # AuditEntry.user

# django-auditlog's LogEntry.Action values.
ACTIONS = {0: "create", 1: "update", 2: "delete", 3: "access"}

# The LogEntry fields :func:`logentry_digest` hashes, in the names used in the hashed object. Written into every
# ``config`` entry (``auditlog_hashed``) so that a verifier needs no code from this project to recompute the hash.
HASHED_FIELDS = ("id", "content_type", "object_pk", "action", "changes", "actor_id", "additional_data", "timestamp")

_system_actor: ContextVar[str | None] = ContextVar("veilig_delen_config_actor", default=None)


class ConfigurationAuditError(RuntimeError):
    """A configuration change was attempted where it cannot be audited (outside a transaction)."""


_REGISTERED: dict[str, tuple[type[models.Model], dict[str, Any]]] = {}


def register_configuration_model(model: type[models.Model], **options: Any) -> None:
    """Put ``model`` on the trail as configuration: django-auditlog logs every change (``options`` are its
    registration options), and a change outside a transaction is refused.

    Each app calls this for its own configuration models from its ``AppConfig.ready`` (the trail knows no app
    above it); safe to call again (registrations and receivers are keyed).
    """
    auditlog.register(model, **options)
    label = model._meta.label_lower
    _REGISTERED[label] = (model, options)
    pre_save.connect(_refuse_outside_transaction, sender=model, dispatch_uid=f"config_trail.save.{label}")
    pre_delete.connect(_refuse_outside_transaction, sender=model, dispatch_uid=f"config_trail.delete.{label}")


def configuration_models() -> list[tuple[type[models.Model], dict[str, Any]]]:
    """The configuration models registered so far, with the django-auditlog options of each."""
    return list(_REGISTERED.values())


def connect_configuration_trail() -> None:
    """Anchor every django-auditlog entry in the trail. Called from :meth:`audit.apps.AuditConfig.ready`."""
    entry_model = get_logentry_model()
    pre_save.connect(_refuse_outside_transaction, sender=entry_model, dispatch_uid="config_trail.logentry.guard")
    post_save.connect(_logentry_saved, sender=entry_model, dispatch_uid="config_trail.logentry.anchor")


def _refuse_outside_transaction(sender: type[models.Model], using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Refuse a configuration write (or a LogEntry) in autocommit mode, before anything reaches the database."""
    if not transaction.get_connection(using).in_atomic_block:
        raise ConfigurationAuditError(
            f"{sender._meta.label} is audited configuration: change it inside transaction.atomic(), so that the "
            "change, its django-auditlog entry and its audit trail entry commit together"
        )


def _logentry_saved(sender: type[models.Model], instance: Any, created: bool = False, **kwargs: Any) -> None:
    """Anchor each new LogEntry in the trail (LogEntries are never saved twice: the table refuses UPDATE)."""
    if created:
        config_entry_append(instance)


@contextlib.contextmanager
def config_actor(name: str) -> Iterator[str]:
    """Name the system actor of the configuration changes made inside the block (no user outside requests).

    ``name`` gets the ``system:`` prefix if it lacks it. The name goes into each LogEntry's ``additional_data``
    (``{"system_actor": name}``) through django-auditlog's own context (``auditlog.context.set_extra_data``;
    ``set_actor`` takes only a user object) and becomes the ``user`` of the ``config`` entries. A user recorded by
    the request middleware takes precedence. Yields the full name.

    django-auditlog's context does not restore the context that was active before it (its ``auditlog_value`` is
    set, never reset), which would silence an enclosing request's actor after the block; the value is restored
    here.
    """
    actor = name if name.startswith(SYSTEM_PREFIX) else SYSTEM_PREFIX + name
    if len(actor) > ACTOR_MAX_LENGTH or actor == SYSTEM_PREFIX:
        raise ValueError(f"a system actor name has 1 to {ACTOR_MAX_LENGTH - len(SYSTEM_PREFIX)} characters")
    outer_auditlog = auditlog_value.set(auditlog_value.get(None))
    token = _system_actor.set(actor)
    try:
        with set_extra_data(context_data={"additional_data": {"system_actor": actor}}):
            yield actor
    finally:
        _system_actor.reset(token)
        auditlog_value.reset(outer_auditlog)


def process_actor() -> str:
    """The actor when no user and no :func:`config_actor` names one: the command or program that runs.

    ``manage.py seed_demo`` gives ``system:seed_demo``, a Celery worker ``system:celery``, ``python -m pytest``
    ``system:pytest``; anything unrecognisable ``system:unattributed``.
    """
    argv = sys.argv
    path = Path(argv[0]) if argv and argv[0] else Path()
    program = path.parent.name if path.name == "__main__.py" else path.stem
    if program in {"manage", "django-admin", "django"} and len(argv) > 1:
        program = argv[1]
    if program.startswith("-"):  # "-c" for ``python -c``, "-" for a script read from stdin
        program = ""
    program = re.sub(r"[^A-Za-z0-9_.-]", "", program)[:64]
    return SYSTEM_PREFIX + (program or "unattributed")


def logentry_actor_name(entry: Any) -> str:
    """Who made the change the LogEntry records: the user's username, else the system actor."""
    if entry.actor_id is not None:
        return str(entry.actor.get_username())
    extra = entry.additional_data
    if isinstance(extra, dict) and isinstance(extra.get("system_actor"), str):
        return str(extra["system_actor"])
    return _system_actor.get() or process_actor()


def _as_stored(value: Any) -> Any:
    """The value as a JSONField returns it after saving (tuples become lists, keys strings)."""
    return None if value is None else json.loads(json.dumps(value))


def logentry_hashed_object(entry: Any) -> dict[str, Any]:
    """The JSON object whose RFC 8785 canonical bytes :func:`logentry_digest` hashes.

    Exactly these fields of the LogEntry (``HASHED_FIELDS``), all stored columns of ``auditlog_logentry``, so the
    hash can be recomputed from the row at any time:

    - ``id``: the LogEntry's primary key (integer);
    - ``content_type``: ``"<app_label>.<model>"`` of its content type;
    - ``object_pk``: the changed object's key as the stored string;
    - ``action``: django-auditlog's integer (0 create, 1 update, 2 delete, 3 access);
    - ``changes``: the JSON as stored (``{field: [old, new]}``, or ``{field: {"type": "m2m", ...}}``), or null;
    - ``actor_id``: the user's primary key, or null outside requests;
    - ``additional_data``: the JSON as stored (``{"system_actor": ...}`` under :func:`config_actor`), or null;
    - ``timestamp``: in UTC, ISO 8601 with microseconds (``2026-11-24T05:13:00.123456+00:00``).

    Not hashed: the username (a user can be renamed; the ``config`` entry records the name at the time),
    ``object_repr``, ``serialized_data`` (unused), ``changes_text`` (empty), ``cid``, ``remote_addr``,
    ``remote_port`` and ``actor_email`` (request metadata that the database may normalise).
    """
    content_type = entry.content_type
    timestamp: dt.datetime = entry.timestamp
    return {
        "id": entry.pk,
        "content_type": f"{content_type.app_label}.{content_type.model}",
        "object_pk": str(entry.object_pk),
        "action": int(entry.action),
        "changes": _as_stored(entry.changes),
        "actor_id": entry.actor_id,
        "additional_data": _as_stored(entry.additional_data),
        "timestamp": timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }


def logentry_digest(entry: Any) -> str:
    """SHA-256 (lowercase hex) of the RFC 8785 canonical bytes of :func:`logentry_hashed_object`."""
    return hashlib.sha256(canonical_bytes(logentry_hashed_object(entry))).hexdigest()


def config_entry_append(entry: Any) -> AuditEntry:
    """Append the ``config`` entry that references and hashes one django-auditlog LogEntry.

    Runs in the transaction that wrote the LogEntry; raises :class:`audit.ledger.AuditWriteError` when the entry
    cannot be written, which makes the configuration change fail. The detail holds ``auditlog_entry`` (the
    LogEntry id), ``model``, ``object_pk``, ``action``, ``changed_fields`` (the names only, never the values),
    ``auditlog_sha256`` (:func:`logentry_digest`) and ``auditlog_hashed`` (the names of the hashed fields).
    """
    hashed = logentry_hashed_object(entry)
    changes = hashed["changes"]
    action = ACTIONS.get(hashed["action"], str(hashed["action"]))
    return audit_append(
        EntryDraft(
            kind=AuditKind.CONFIG.value,
            actor=Actor(user=logentry_actor_name(entry)),
            reference=f"auditlog:{entry.pk}",
            outcome=action,
            detail={
                "auditlog_entry": entry.pk,
                "model": hashed["content_type"],
                "object_pk": hashed["object_pk"],
                "action": action,
                "changed_fields": sorted(changes) if isinstance(changes, dict) else [],
                "auditlog_sha256": hashlib.sha256(canonical_bytes(hashed)).hexdigest(),
                "auditlog_hashed": list(HASHED_FIELDS),
            },
        )
    )
