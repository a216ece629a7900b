"""Django's Redis cache backend, keeping one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the (kept) connection pool on every
cache call. Building one fills its table of about 170 response callbacks: about 0.2 ms of CPU, twice per API request
(the rate limit reads and writes its history), which is more than the round trip to Redis itself. A client over a
pool holds no per-call state, so one per pool is kept here; everything else is Django's backend unchanged.

Each thread gets its own cache object (``django.core.cache.caches`` is per thread), so the kept clients are never
shared between threads. ``docs/decisions.md`` says why this and not django-redis.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


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
    """``django.core.cache.backends.redis.RedisCache`` with :class:`KeptClientRedisCacheClient`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
