"""Django's Redis cache backend, keeping one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the (kept) connection pool on every
cache call. Building one fills its table of about 170 response callbacks: about 0.2 ms of CPU, twice per API request
(the rate limit reads and writes its history), which is more than the round trip to Redis itself. A client over a
pool holds no per-call state, so one per pool is kept here; everything else is Django's backend unchanged.

Each thread gets its own cache object (``django.core.cache.caches`` is per thread), so the kept clients are never
shared between threads. ``docs/decisions.md`` says why this and not django-redis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

logger = logging.getLogger(__name__)

UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
WARN_EVERY_SECONDS = 30.0


class KeptClientRedisCacheClient(RedisCacheClient):
    """:class:`RedisCacheClient` whose ``get_client`` returns the same client for the same pool."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # kept by Django for the process's life
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with :class:`KeptClientRedisCacheClient`, which keeps answering
    while Redis cannot be reached.

    The cache holds only rate-limit windows. When Redis is down (a restart, a failover; the drill stops it for 30 s),
    each call goes to a memory cache of this process instead of failing the request with a 500: the limits then count
    per process, as without ``CACHE_URL`` (``gateway.W016``), and every call asks Redis first again, so the shared
    counts come back with Redis. A warning says so, at most every ``WARN_EVERY_SECONDS``.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
        self._fallback = LocMemCache(f"redis-fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._warned_at = float("-inf")

    def _unreachable(self, exc: Exception) -> LocMemCache:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("cache: Redis unreachable (%s); rate limits count per process until it is back", exc)
        return self._fallback

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except UNREACHABLE as exc:
            return self._unreachable(exc).get(key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except UNREACHABLE as exc:
            self._unreachable(exc).set(key, value, timeout, version)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).add(key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return int(super().incr(key, delta, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).incr(key, delta, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return bool(super().touch(key, timeout, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).touch(key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).delete(key, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).has_key(key, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return dict(super().get_many(keys, version))
        except UNREACHABLE as exc:
            return self._unreachable(exc).get_many(keys, version)
