"""The ``http`` provider: ``POST {endpoint}`` with a timeout and bounded retries (api.md).

The credential comes only from a ``VD_HOLDER_CREDENTIAL_`` variable and the call goes only to a checked address
(:mod:`gateway.outbound`), whatever the endpoint row says.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from gateway.holders.errors import HolderUnavailable
from gateway.outbound import HOLDER_CREDENTIAL_PREFIX, OutboundRefused, outbound_target, secret_from_env

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1024 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})


def _headers(credential_env: str) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "veilig-delen-gateway/1"}
    if credential_env:
        try:
            credential = secret_from_env(credential_env, prefix=HOLDER_CREDENTIAL_PREFIX)
        except OutboundRefused as exc:
            raise HolderUnavailable(f"the credential cannot be used: {exc}") from None
        headers["Authorization"] = f"Bearer {credential}"
    return headers


def fetch(*, url: str, credential_env: str, timeout: float, retries: int, payload: dict[str, Any]) -> Any:
    """Return the holder's ``data`` (``None`` on ``404``). Retries connection failures, timeouts and 502-504
    at most ``retries`` times with a short backoff; anything else is :class:`HolderUnavailable`."""
    if not url:
        raise HolderUnavailable("no endpoint URL configured")
    headers = _headers(credential_env)
    try:
        target = outbound_target(url)
    except OutboundRefused as exc:
        logger.warning("provider call refused: %s", exc)
        raise HolderUnavailable(f"the endpoint cannot be called: {exc}") from None
    headers.update(target.headers)
    attempts = max(0, retries) + 1
    last_error = "no attempt made"
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(0.1 * 2**attempt, 1.0))
            try:
                with client.stream(
                    "POST", target.url, json=payload, headers=headers, extensions=target.extensions
                ) as response:
                    if response.status_code in RETRY_STATUSES:
                        last_error = f"HTTP {response.status_code}"
                        continue
                    if response.status_code == 404:
                        return None
                    if response.status_code != 200:
                        raise HolderUnavailable(f"the holder answered HTTP {response.status_code}")
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise HolderUnavailable("the holder's answer is larger than 1 MiB")
            except httpx.TimeoutException:
                last_error = "timeout"
                continue
            except httpx.TransportError as exc:
                last_error = f"transport error: {type(exc).__name__}"
                continue
            try:
                document = httpx.Response(200, content=body).json()
            except ValueError:
                raise HolderUnavailable("the holder's answer is not JSON") from None
            if not isinstance(document, dict) or "data" not in document:
                raise HolderUnavailable("the holder's answer has no 'data' member")
            return document["data"]
    logger.warning("provider %s unavailable after %d attempts: %s", url, attempts, last_error)
    raise HolderUnavailable(f"the holder could not be reached ({last_error})")
