"""The Redis cache backend (config/redis_cache.py) against the real Redis: Django's backend, one client per pool."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import redis

from config.redis_cache import KeptClientRedisCacheClient, RedisCache

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture
def cache() -> Any:
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.RedisError:
        pytest.fail(f"Redis is not reachable at {REDIS} (the suite needs it, as CI does)")
    backend = RedisCache(REDIS, {"KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    yield backend
    backend.clear()


def test_values_round_trip_and_expire_as_with_djangos_backend(cache: Any) -> None:
    cache.set("history", [1.5, 2.5], 60)
    assert cache.get("history") == [1.5, 2.5]
    assert cache.add("history", "other") is False
    assert cache.add("counter", 1) is True
    assert cache.incr("counter") == 2 and cache.get("counter") == 2
    cache.set("gone", 1, 0)
    assert cache.get("gone") is None


def test_one_client_is_kept_per_pool(cache: Any) -> None:
    client = cache._cache
    assert isinstance(client, KeptClientRedisCacheClient)
    first = client.get_client("a", write=True)
    assert client.get_client("b") is first  # one server: reads and writes share its pool
    assert first.connection_pool is client._get_connection_pool(True)
    cache.set("k", "v")
    assert client.get_client("k") is first and cache.get("k") == "v"


def test_reads_from_replicas_get_the_client_of_their_own_pool() -> None:
    """With several servers Django reads from a random replica: each kept client wraps the pool it was made for."""
    client = KeptClientRedisCacheClient([REDIS, REDIS + "?replica=1", REDIS + "?replica=2"])
    for _ in range(20):
        reader = client.get_client("k")
        assert reader is client._clients[id(reader.connection_pool)]
    assert {id(c.connection_pool) for c in client._clients.values()} <= {id(p) for p in client._pools.values()}
    assert client.get_client("k", write=True).connection_pool is client._pools[0]


def test_an_unreachable_redis_falls_back_to_a_memory_cache_of_the_process(caplog: pytest.LogCaptureFixture) -> None:
    """The cache holds rate-limit windows: while Redis is down they count per process instead of every call failing."""
    down = RedisCache("redis://127.0.0.1:1/0", {})  # nothing listens on port 1
    down.set("history", [1.5], 60)
    assert down.get("history") == [1.5]
    assert down.add("counter", 1) is True and down.incr("counter") == 2
    assert down.get_many(["history", "counter"]) == {"history": [1.5], "counter": 2}
    assert down.has_key("counter") and down.touch("counter", 60) and down.delete("counter")
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1  # once, not on every call


def test_a_reachable_redis_is_used_again_after_an_outage(cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache._cache, "get", lambda *a, **k: (_ for _ in ()).throw(redis.ConnectionError("down")))
    cache._fallback.set("k", "local")
    assert cache.get("k") == "local"
    monkeypatch.undo()
    cache.set("k", "shared")
    assert cache.get("k") == "shared"


def test_a_redis_host_that_does_not_answer_costs_a_bounded_wait() -> None:
    """A server that takes the connection but never answers (a hung or partitioned Redis, not a refused connection)
    costs at most the configured timeout per try, and the call is answered from the process's memory: no request
    hangs on the rate limit."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the connections; nothing ever reads or answers
    try:
        port = silent.getsockname()[1]
        cache = RedisCache(
            f"redis://127.0.0.1:{port}/0", {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}
        )
        started = time.monotonic()
        cache.set("history", [1.5], 60)
        assert cache.get("history") == [1.5]
        assert time.monotonic() - started < 5  # two calls, each at most the timeout for each of redis-py's tries
    finally:
        silent.close()
