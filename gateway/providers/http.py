"""The ``http`` provider: ``POST {endpoint}`` with a timeout and bounded retries (api.md)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import httpx

from gateway.providers.errors import ProviderUnavailable

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1024 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})


def _headers(credential_env: str) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "veilig-delen-gateway/1"}
    if credential_env:
        credential = os.environ.get(credential_env)
        if not credential:
            raise ProviderUnavailable(f"the credential variable {credential_env} is not set")
        headers["Authorization"] = f"Bearer {credential}"
    return headers


def fetch(*, url: str, credential_env: str, timeout: float, retries: int, payload: dict[str, Any]) -> Any:
    """Return the holder's ``data`` (``None`` on ``404``). Retries connection failures, timeouts and 502-504
    at most ``retries`` times with a short backoff; anything else is :class:`ProviderUnavailable`."""
    if not url:
        raise ProviderUnavailable("no endpoint URL configured")
    headers = _headers(credential_env)
    attempts = max(0, retries) + 1
    last_error = "no attempt made"
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(0.1 * 2**attempt, 1.0))
            try:
                with client.stream("POST", url, json=payload, headers=headers) as response:
                    if response.status_code in RETRY_STATUSES:
                        last_error = f"HTTP {response.status_code}"
                        continue
                    if response.status_code == 404:
                        return None
                    if response.status_code != 200:
                        raise ProviderUnavailable(f"the holder answered HTTP {response.status_code}")
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise ProviderUnavailable("the holder's answer is larger than 1 MiB")
            except httpx.TimeoutException:
                last_error = "timeout"
                continue
            except httpx.TransportError as exc:
                last_error = f"transport error: {type(exc).__name__}"
                continue
            try:
                document = httpx.Response(200, content=body).json()
            except ValueError:
                raise ProviderUnavailable("the holder's answer is not JSON") from None
            if not isinstance(document, dict) or "data" not in document:
                raise ProviderUnavailable("the holder's answer has no 'data' member")
            return document["data"]
    logger.warning("provider %s unavailable after %d attempts: %s", url, attempts, last_error)
    raise ProviderUnavailable(f"the holder could not be reached ({last_error})")
