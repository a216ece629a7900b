"""The published checkpoint, kept outside the database, and the check that the trail still holds it.

Every checkpoint the gateway signs is recorded here before the transaction that stores it commits, so before any
partner can fetch it: in a file (``GATEWAY_PUBLISHED_CHECKPOINT_FILE``, by default in ``GATEWAY_DATA_DIR``) and, when
set, under a key in Redis (``GATEWAY_PUBLISHED_CHECKPOINT_REDIS``). Neither goes back in time with the database. When
the database comes back older than what was published (an asynchronous standby promoted after the primary died with
entries it had not yet sent, an older backup restored), its trail is shorter than the record, or holds another
history at the record's size. Then the gateway

- refuses to sign (:func:`audit.checkpoints.checkpoint_create`): a new checkpoint would fork from the published one;
- refuses to append, so nothing is released (:func:`trail_guard`, which :func:`audit.ledger.audit_append_many` calls);
- says why on ``/readyz`` and on every page of the privacy console (:func:`trail_state`, :func:`trail_alarm`).

It stays so until the trail holds the published checkpoint again (the lost entries restored, for instance by bringing
back the old primary): the state is computed, never stored, so nothing has to be cleared.

The check needs no gpg: the root the trail itself gives at the record's size is compared with the record's root. A
record carries an HMAC under ``SECRET_KEY`` (every node has it), so that a store others can write to (a Redis without a
password) cannot be used to stop the gateway with a record of an invented size: such a record is ignored and logged.
A process also remembers the largest record it has seen, so a store that is emptied or unreachable does not make it
forget.

On the request path this costs no statement: the record is read, and the trail compared with it (two queries), at
most once every ``GATEWAY_TRAIL_CHECK_SECONDS`` per process; every append in between compares only the index it was
given with the published size.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from audit.models import Checkpoint
from audit.tree import tree_root, tree_size

logger = logging.getLogger(__name__)

MAC_SALT = "veilig-delen.audit.published-checkpoint"
REDIS_KEY = "veilig-delen:published-checkpoint:{origin}"


class TrailMismatch(RuntimeError):
    """The trail in the database does not hold the last published checkpoint: nothing may be appended or signed."""


class PublishedStoreError(RuntimeError):
    """A store could not be written: the checkpoint is not published."""


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A signed checkpoint as it was given out: what partners may hold and what the trail must always extend."""

    origin: str
    tree_size: int
    root_hash: str
    body: str
    signature: str
    key_fingerprint: str
    signed_at: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> PublishedCheckpoint:
        return cls(
            origin=checkpoint.origin,
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash,
            body=checkpoint.body,
            signature=checkpoint.signature,
            key_fingerprint=checkpoint.key_fingerprint,
            signed_at=checkpoint.signed_at.isoformat().replace("+00:00", "Z"),
        )

    def _payload(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def dumps(self) -> str:
        """The stored form: the fields and their HMAC under ``SECRET_KEY``."""
        mac = salted_hmac(MAC_SALT, self._payload(), algorithm="sha256").hexdigest()
        return json.dumps({**asdict(self), "mac": mac}, indent=1) + "\n"

    @classmethod
    def loads(cls, text: str) -> PublishedCheckpoint:
        """The record in ``text``; ValueError when it is not one or its HMAC fails under every key the gateway has."""
        try:
            data = json.loads(text)
            mac = data.pop("mac")
            record = cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a published-checkpoint record ({type(exc).__name__})") from None
        if not isinstance(record.tree_size, int) or record.tree_size < 1 or not isinstance(mac, str):
            raise ValueError("not a published-checkpoint record")
        keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        payload = record._payload()
        if not any(
            constant_time_compare(mac, salted_hmac(MAC_SALT, payload, secret=key, algorithm="sha256").hexdigest())
            for key in keys
        ):
            raise ValueError("its HMAC does not match: not written by this gateway (or SECRET_KEY changed)")
        return record


class PublishedStore(Protocol):
    name: str

    def read(self) -> str | None:
        """The stored text, or None when nothing was recorded yet."""

    def write(self, text: str) -> None: ...


class FileStore:
    """The record as a file, replaced atomically and synced to disk before the checkpoint is given out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file {path}"

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


_redis_clients: dict[str, Any] = {}


class RedisStore:
    """The record under a key in Redis, one key per origin. Short timeouts: a Redis that is away costs little."""

    def __init__(self, url: str, origin: str) -> None:
        self.url = url
        self.key = REDIS_KEY.format(origin=origin)
        self.name = f"redis key {self.key}"

    def _client(self) -> Any:
        client = _redis_clients.get(self.url)
        if client is None:
            import redis

            client = _redis_clients[self.url] = redis.Redis.from_url(
                self.url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return client

    def read(self) -> str | None:
        value = self._client().get(self.key)
        return None if value is None else bytes(value).decode("utf-8")

    def write(self, text: str) -> None:
        self._client().set(self.key, text)


def published_stores() -> list[PublishedStore]:
    """The stores the settings name: the file always, Redis when ``GATEWAY_PUBLISHED_CHECKPOINT_REDIS`` is set."""
    stores: list[PublishedStore] = [FileStore(Path(settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE))]
    if settings.GATEWAY_PUBLISHED_CHECKPOINT_REDIS:
        stores.append(RedisStore(settings.GATEWAY_PUBLISHED_CHECKPOINT_REDIS, settings.GATEWAY_AUDIT_ORIGIN))
    return stores


@dataclass(frozen=True)
class PublishedRead:
    """What the stores hold: every valid record (the largest first), the size each store holds (0 for none; for the
    repair of a store that lags) and what could not be read."""

    records: tuple[PublishedCheckpoint, ...]
    held: dict[str, int]
    problems: tuple[str, ...]

    @property
    def latest(self) -> PublishedCheckpoint | None:
        return self.records[0] if self.records else None


_highest: PublishedCheckpoint | None = None
"""The largest record this process has read or written: a store emptied or away does not make it forget."""


def _remember(record: PublishedCheckpoint | None) -> None:
    global _highest
    if record is not None and (_highest is None or record.tree_size > _highest.tree_size):
        _highest = record


def published_read(stores: Iterable[PublishedStore] | None = None) -> PublishedRead:
    """Read every store. A store that cannot be read, or holds a record that fails its HMAC or names another origin,
    is logged and listed in ``problems``; the others count (and what this process remembers)."""
    records: dict[tuple[int, str], PublishedCheckpoint] = {}
    held: dict[str, int] = {}
    problems: list[str] = []
    for store in published_stores() if stores is None else stores:
        try:
            text = store.read()
            record = None if text is None else PublishedCheckpoint.loads(text)
        except Exception as exc:
            problems.append(f"{store.name}: {exc}" if isinstance(exc, ValueError) else f"{store.name}: {exc!r}")
            logger.error("the published checkpoint in %s cannot be used: %s", store.name, exc)
            continue
        if record is not None and record.origin != settings.GATEWAY_AUDIT_ORIGIN:
            problems.append(f"{store.name}: a record of another origin ({record.origin})")
            logger.error("the published checkpoint in %s is of origin %s, not ours", store.name, record.origin)
            record = None
        held[store.name] = record.tree_size if record else 0
        if record is not None:
            records[(record.tree_size, record.root_hash)] = record
    for record in records.values():
        _remember(record)
    if _highest is not None:
        records.setdefault((_highest.tree_size, _highest.root_hash), _highest)
    ordered = tuple(sorted(records.values(), key=lambda r: r.tree_size, reverse=True))
    return PublishedRead(ordered, held, tuple(problems))


def published_record(record: PublishedCheckpoint, *, read: PublishedRead) -> None:
    """Write ``record`` to every store that holds less (``read``, taken under the checkpoint lock); never replaces a
    larger record. Raises :class:`PublishedStoreError` when a store cannot be written."""
    for store in published_stores():
        if read.held.get(store.name, 0) >= record.tree_size:
            continue
        try:
            store.write(record.dumps())
        except Exception as exc:
            raise PublishedStoreError(f"{store.name}: {exc!r}") from exc
    _remember(record)


# --- The trail against the record -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailState:
    """Whether the trail holds every published checkpoint. ``code``: ``consistent``, ``nothing_published``,
    ``behind`` (fewer entries than a published checkpoint) or ``diverged`` (another history at its size)."""

    code: str
    reason: str
    published_size: int = 0

    @property
    def ok(self) -> bool:
        return self.code in ("consistent", "nothing_published")


def trail_compare(records: Iterable[PublishedCheckpoint], size: int) -> TrailState:
    """Compare a trail of ``size`` entries with every published record: one tree read per record."""
    ordered = sorted(records, key=lambda r: r.tree_size, reverse=True)
    if not ordered:
        return TrailState("nothing_published", "no checkpoint was published yet")
    latest = ordered[0]
    for record in ordered:
        if size < record.tree_size:
            return TrailState(
                "behind",
                f"the audit trail holds {size} entries, but a checkpoint at {record.tree_size} was published: the "
                "database lost entries (an asynchronous standby promoted, or an older backup restored)",
                latest.tree_size,
            )
        try:
            root = tree_root(record.tree_size).hex()
        except KeyError as exc:
            root = f"missing ({exc})"
        if root != record.root_hash:
            return TrailState(
                "diverged",
                f"the audit trail at {record.tree_size} entries has root {root}, but the checkpoint published at that "
                f"size has root {record.root_hash}: the database holds another history than the one published",
                latest.tree_size,
            )
    return TrailState(
        "consistent",
        f"the trail ({size} entries) extends the published checkpoint at {latest.tree_size}",
        latest.tree_size,
    )


def trail_state() -> TrailState:
    """The trail against the published checkpoint, read now (``/readyz``, the checkpoint task); also renews what the
    process keeps for :func:`trail_guard`."""
    read = published_read()
    state = trail_compare(read.records, tree_size()) if read.records else trail_compare((), 0)
    _keep(state)
    return state


@dataclass(frozen=True)
class TrailGuard:
    """What a process keeps between checks: the state found and the published size every append is compared with."""

    state: TrailState
    checked_at: float

    def check(self, size: int) -> None:
        """Refuse an append at index ``size`` (the trail's size before it) below the published size: the database
        went back since the last check, and the entry would fork the trail."""
        if size < self.state.published_size:
            raise TrailMismatch(
                f"the audit trail holds {size} entries, but a checkpoint at {self.state.published_size} was "
                "published: the database lost entries; nothing is appended or released"
            )


_kept: TrailGuard | None = None


def _keep(state: TrailState) -> TrailGuard:
    global _kept
    if not state.ok:
        logger.critical("audit trail does not hold the published checkpoint: %s", state.reason)
    kept = _kept = TrailGuard(state, time.monotonic())
    return kept


def _current() -> TrailGuard:
    kept = _kept
    if kept is None or time.monotonic() - kept.checked_at >= settings.GATEWAY_TRAIL_CHECK_SECONDS:
        trail_state()
        kept = _kept
        assert kept is not None
    return kept


def trail_guard() -> TrailGuard:
    """For :func:`audit.ledger.audit_append_many`, before it takes its indices: the kept check, renewed when older
    than ``GATEWAY_TRAIL_CHECK_SECONDS``. Raises :class:`TrailMismatch` when the trail does not hold the published
    checkpoint; call :meth:`TrailGuard.check` with the index the append was given."""
    kept = _current()
    if not kept.state.ok:
        raise TrailMismatch(f"{kept.state.reason}; nothing is appended or released")
    return kept


def trail_alarm() -> TrailState | None:
    """The state for the privacy console when it is not right (kept, renewed as for :func:`trail_guard`); else None."""
    state = _current().state
    return None if state.ok else state


def forget() -> None:
    """Drop what this process keeps and remembers (the tests: each has a store of its own and a database that was
    rolled back, which is what an older database looks like)."""
    global _kept, _highest
    _kept = None
    _highest = None
