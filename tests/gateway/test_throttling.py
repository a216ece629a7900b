"""The per-client rate limit in a Redis cache (``CACHE_URL``, production): the same decisions and ``Retry-After`` as
DRF's list in a local-memory cache, in one round trip, shared by every process."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from config.redis_cache import RedisCache as ProjectRedisCache
from consent.models import Organisation
from gateway.api.throttling import ClientRateThrottle
from gateway.callers import Caller

VALID = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def redis_url() -> str:
    url = os.environ.get("CACHE_URL") or os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (CACHE_URL or a redis:// CELERY_BROKER_URL)")
    return url


@pytest.fixture
def redis_cache() -> Iterator[RedisCache]:
    cache = RedisCache(redis_url(), {"KEY_PREFIX": f"vd-test-throttle-{uuid.uuid4().hex}"})
    yield cache
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    for key in client.scan_iter(match=f"{cache.key_prefix}*"):
        client.delete(key)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


SECONDS = {"s": 1, "min": 60}


def request(client_id: str) -> Any:
    """What the throttle reads of a DRF request: the caller."""
    return SimpleNamespace(auth=Caller(Organisation(slug="veilig-thuis-rr"), client_id, frozenset({"requests"})))


def throttle(cache: Any, clock: Clock, rate: str) -> ClientRateThrottle:
    """The API's throttle at ``rate``, keeping its window in ``cache``, reading the time from ``clock``."""
    made = ClientRateThrottle()
    made.cache = cache
    made.timer = clock
    made.rate = rate
    number, period = rate.split("/")
    made.num_requests, made.duration = int(number), SECONDS[period]
    return made


@pytest.mark.parametrize("rate", ["3/s", "5/min", "20/min"])
def test_the_same_decisions_and_waits_as_drfs_list(redis_cache: RedisCache, rate: str) -> None:
    """One client's requests at random times, some at the same instant and some exactly a window apart: the
    script admits and refuses exactly the requests that DRF's list does, with the same ``Retry-After``."""
    listed, windowed = Clock(), Clock()
    memory = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    rng = random.Random(rate)
    duration = SECONDS[rate.split("/")[1]]
    seen = set()
    for _ in range(400):
        step = rng.choice(
            [0.0, 0.001, duration / 50, duration / 30, duration / 7, float(duration), rng.uniform(0, duration / 10)]
        )
        listed.now = windowed.now = listed.now + step
        reference = throttle(memory, listed, rate)
        assert type(reference.cache) is LocMemCache
        ours = throttle(redis_cache, windowed, rate)
        admitted = ours.allow_request(request("client-a"), None)
        assert admitted == reference.allow_request(request("client-a"), None)
        assert ours.window is not None  # the script ran, not DRF's list
        if not admitted:
            assert ours.wait() == reference.wait()
        seen.add(admitted)
    assert seen == {True, False}


@pytest.mark.parametrize("fraction", [0.123449, 0.987654321, 0.5, 1e-7])
def test_a_time_exactly_a_window_old_is_compared_to_the_microsecond(redis_cache: RedisCache, fraction: float) -> None:
    """A request exactly a window after the last one: the same answer as DRF's list, whatever the digits."""
    listed, windowed = Clock(), Clock()
    memory = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    for now in (listed.now + fraction, listed.now + fraction + 1.0, listed.now + fraction + 1.0 + 1e-6):
        listed.now = windowed.now = now
        reference, ours = throttle(memory, listed, "1/s"), throttle(redis_cache, windowed, "1/s")
        assert ours.allow_request(request("client-e"), None) == reference.allow_request(request("client-e"), None)


def test_every_process_counts_in_the_same_window(redis_cache: RedisCache) -> None:
    clock = Clock()
    admitted = [throttle(redis_cache, clock, "4/min").allow_request(request("client-b"), None) for _ in range(6)]
    assert admitted == [True] * 4 + [False] * 2
    assert throttle(redis_cache, clock, "4/min").allow_request(request("client-c"), None)
    clock.now += 60  # the first four leave the window exactly a minute later
    assert throttle(redis_cache, clock, "4/min").allow_request(request("client-b"), None)


def test_the_window_expires_with_the_rate(redis_cache: RedisCache) -> None:
    clock = Clock()
    limiter = throttle(redis_cache, clock, "4/min")
    assert limiter.allow_request(request("client-d"), None)
    client = redis_cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    key = redis_cache.make_and_validate_key("throttle_client_client-d") + ":window"
    assert 0 < client.ttl(key) <= 60
    assert client.zcard(key) == 1


def test_an_unreachable_redis_counts_in_the_process_instead_of_failing() -> None:
    """While Redis is down (config/redis_cache.py falls back to a memory cache of the process) the limit still holds,
    per process, and no request fails."""
    down = ProjectRedisCache("redis://127.0.0.1:1/0", {})  # nothing listens on port 1
    clock = Clock()
    limiter = [throttle(down, clock, "2/min") for _ in range(3)]
    assert [t.allow_request(request("client-f"), None) for t in limiter] == [True, True, False]
    assert limiter[2].window is None  # DRF's list answered
    assert 0 < (limiter[2].wait() or 0) <= 60


def test_the_api_answers_429_with_retry_after_from_redis(partner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": f"vd-test-throttle-{uuid.uuid4().hex}",
        }
    }
    monkeypatch.setattr(ClientRateThrottle, "rate", "2/min", raising=False)
    vt = partner("veilig-thuis-rr")
    with override_settings(CACHES=caches):
        statuses = [vt.ask(**VALID).status_code for _ in range(2)]
        response = vt.ask(**VALID)
        from django.core.cache import cache

        cache.clear()
    assert statuses == [200, 200]
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert 1 <= int(response["Retry-After"]) <= 60
