"""Per-client rate limit (api.md: ``429`` with ``Retry-After`` when a client exceeds its rate)."""

from __future__ import annotations

import secrets
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCacheClient
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from gateway.api.auth import Caller

# DRF's sliding window over a sorted set of the admitted requests' times, in one step: forget the times that have
# left the window (at or before ARGV[2]), count the rest, and admit and record this request (time ARGV[1], member
# ARGV[5]) if the count is below the limit ARGV[3], keeping the set ARGV[4] seconds as DRF keeps its list. The
# script does no arithmetic on times: the edge of the window is computed in Python as DRF computes it, and times go
# in and out as exact strings. Returns whether it admitted the request, the count before it and the oldest time
# left in the window.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or false
if count < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    return {1, count, oldest}
end
return {0, count, oldest}
"""


class ClientRateThrottle(SimpleRateThrottle):
    """At most N requests of a client in any window of the rate's duration, counting the requests it admitted: DRF's
    ``SimpleRateThrottle``, whose ``wait()`` gives ``Retry-After``.

    In a Redis cache (``CACHE_URL``, as in production) the window is a sorted set of the admitted requests' times
    that one script trims, counts and extends (:data:`SLIDING_WINDOW`): one round trip instead of DRF's read and
    write, atomic across the web processes (two of DRF's read-modify-writes can each admit a request that together
    exceed the limit), and its cost does not grow with the requests in the window (DRF reads, unpickles, pickles and
    writes the whole list of times each time). Its key is not DRF's, so processes of both kinds never read each
    other's values (during an upgrade they count apart, for one window at most). In any other cache (the local
    memory of one process), and while Redis cannot be reached, DRF's list."""

    scope = "client"
    num_requests: int  # set by DRF from the rate
    duration: int
    window: tuple[int, float | None] | None = None  # what the script saw: the count and the oldest time

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        caller = request.auth
        if not isinstance(caller, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": caller.client_id}

    def allow_request(self, request: Request, view: Any) -> bool:
        self.window = None
        redis_cache = getattr(self.cache, "_cache", None)  # Django's RedisCache keeps its client there
        if not isinstance(redis_cache, RedisCacheClient) or self.rate is None:
            return bool(super().allow_request(request, view))
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        key = self.cache.make_and_validate_key(self.key) + ":window"
        client = redis_cache.get_client(key, write=True)
        self.now = self.timer()
        member = f"{self.now!r}:{secrets.token_hex(8)}"  # two requests at the same time both count
        try:
            admitted, count, oldest = _sliding_window(client)(
                keys=[key],
                args=[repr(self.now), repr(self.now - self.duration), self.num_requests, self.duration, member],
                client=client,
            )
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis down: DRF's list in the cache, which then counts in this process's memory (config/redis_cache.py)
            return bool(super().allow_request(request, view))
        self.window = (int(count), None if oldest is None else float(oldest))
        return bool(admitted)

    def wait(self) -> float | None:
        """DRF's ``wait()`` over the window the script saw: the times in it are ``count``, the oldest ``oldest``."""
        if self.window is None:
            return super().wait()
        count, oldest = self.window
        remaining = self.duration - (self.now - oldest) if oldest is not None else self.duration
        available = self.num_requests - count + 1
        if available <= 0:
            return None
        return float(remaining / available)


_script: Any = None


def _sliding_window(client: Any) -> Any:
    """The registered script (redis-py runs it by its SHA-1 and loads it again if the server lost it)."""
    global _script
    if _script is None:
        _script = client.register_script(SLIDING_WINDOW)
    return _script
