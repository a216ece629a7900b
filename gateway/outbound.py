"""Calls out of the gateway (a holder's endpoint, a partner's webhook): which secret may go out, and where to.

Two leaks are closed here (issue 9, item 7). A holder endpoint's credential and a webhook secret are read only
from environment variables with a fixed prefix, so no row (written in the admin or past it) can make the gateway
send ``GATEWAY_PSEUDONYM_KEY``, ``SECRET_KEY`` or a database password to a partner. And a URL is called only over
https (plain http in demo mode or the tests) and only at public addresses, unless an administrator allowed a
network in ``GATEWAY_OUTBOUND_ALLOWED_NETWORKS``: no request reaches the gateway's own machine, a cloud metadata
service or an internal network (server-side request forgery). Both are checked when the row is saved (model
validators, so the admin refuses) and again just before each call.

The host name is resolved once, every address it resolves to is checked, and the connection is made to the checked
address (the URL carries the IP; ``Host`` and TLS server name stay the host name, so the certificate is still
verified against it). A DNS answer that changes between the check and the connection (DNS rebinding) therefore
cannot redirect the call.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

HOLDER_CREDENTIAL_PREFIX = "VD_HOLDER_CREDENTIAL_"
WEBHOOK_SECRET_PREFIX = "VD_WEBHOOK_SECRET_"  # noqa: S105  (the prefix of a variable name, not a secret)
_ENV_SUFFIX = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,59}$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Networks that an allowance must never open (deploy check gateway.E014): the machine itself, link-local (cloud
# metadata at 169.254.169.254), "this network", multicast, reserved and the IPv4-mapped range.
NEVER_ALLOWED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "fe80::/10",
        "ff00::/8",
    )
)


# IANA's special-purpose address registries (RFC 6890 and successors), the parts that are not globally reachable
# or that translate to another address. Checked besides the ``ipaddress`` flags, which differ between Python
# versions (3.11 counts 192.0.0.8 as global, for one).
NON_PUBLIC_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class OutboundRefused(Exception):
    """A call out that must not be made. The message says why; it never holds a secret."""


# --- Secrets from the environment ---------------------------------------------------------------------------


def _env_name_problem(name: str, prefix: str) -> str | None:
    if not name.startswith(prefix) or not _ENV_SUFFIX.match(name[len(prefix) :]):
        return f"must be an environment variable named {prefix}<NAME> (capitals, digits and _)"
    return None


def validate_holder_credential_env(value: str) -> None:
    """Model validator of ``HolderEndpoint.credential_env`` (empty: the holder needs no credential)."""
    problem = _env_name_problem(value, HOLDER_CREDENTIAL_PREFIX) if value else None
    if problem:
        raise ValidationError(f"The credential variable {problem}.", code="credential_env_prefix")


def validate_webhook_secret_env(value: str) -> None:
    """Model validator of ``WebhookEndpoint.secret_env``."""
    problem = _env_name_problem(value, WEBHOOK_SECRET_PREFIX)
    if problem:
        raise ValidationError(f"The secret variable {problem}.", code="secret_env_prefix")


def secret_from_env(name: str, *, prefix: str) -> str:
    """The value of the environment variable ``name``, only if the name has ``prefix``. Checked at every read:
    a row written past the admin must not send another variable out."""
    problem = _env_name_problem(name, prefix)
    if problem:
        raise OutboundRefused(f"the variable {name[:80]!r} {problem}")
    value = os.environ.get(name, "")
    if not value:
        raise OutboundRefused(f"the variable {name} is not set")
    return value


# --- Where a call may go ------------------------------------------------------------------------------------


def _allowed_networks() -> list[IPNetwork]:
    return [ipaddress.ip_network(n) for n in settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS]


def _public(address: IPAddress) -> bool:
    flags = ("is_multicast", "is_reserved", "is_unspecified", "is_loopback", "is_link_local", "is_private")
    if not address.is_global or any(getattr(address, flag) for flag in flags):
        return False
    if any(address.version == n.version and address in n for n in NON_PUBLIC_NETWORKS):
        return False
    # 6to4 carries an IPv4 address that the relay connects to: it must be public too.
    embedded = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    return embedded is None or _public(embedded)


def address_allowed(address: IPAddress) -> bool:
    """Public addresses, and those in ``GATEWAY_OUTBOUND_ALLOWED_NETWORKS``; never loopback, link-local, private,
    reserved, multicast or unspecified otherwise (IPv4 and IPv6, an IPv4-mapped address judged as IPv4)."""
    address = _unmapped(address)
    if any(address.version == n.version and address in n for n in _allowed_networks()):
        return True
    return _public(address)


def _allowed_schemes() -> tuple[str, ...]:
    if settings.GATEWAY_DEMO or settings.GATEWAY_OUTBOUND_ALLOW_HTTP:
        return ("https", "http")
    return ("https",)


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise OutboundRefused("the URL is not valid") from None
    if parsed.scheme not in _allowed_schemes():
        raise OutboundRefused("the URL must use https")
    if not parsed.raw_host:
        raise OutboundRefused("the URL has no host")
    if parsed.userinfo:
        raise OutboundRefused("the URL must not carry a user name or password")
    return parsed


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [_unmapped(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OutboundRefused(f"the host {host} cannot be resolved") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = _unmapped(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundRefused(f"the host {host} cannot be resolved")
    return addresses


@dataclass(frozen=True)
class Target:
    """A checked destination: ``url`` names the checked IP address; send ``headers`` and ``extensions`` with it
    so that the server sees the host name and TLS verifies the certificate against it."""

    url: httpx.URL
    host: str
    address: IPAddress
    headers: dict[str, str]
    extensions: dict[str, Any]


def outbound_target(url: str) -> Target:
    """Check ``url`` and pin it to an address that was checked. Every address the host resolves to must be
    allowed, so that a host with one good and one internal address is refused whichever the resolver puts
    first. Raises :class:`OutboundRefused`."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = _resolve(host, port)
    refused = [a for a in addresses if not address_allowed(a)]
    if refused:
        raise OutboundRefused(
            f"the host {host} resolves to {refused[0]}, which is not a public address "
            "(allow its network in GATEWAY_OUTBOUND_ALLOWED_NETWORKS if the endpoint is meant to be there)"
        )
    address = addresses[0]
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https" and str(address) != host.strip("[]"):
        extensions["sni_hostname"] = host
    return Target(
        url=parsed.copy_with(host=str(address)),
        host=host,
        address=address,
        headers={"Host": parsed.netloc.decode("ascii")},
        extensions=extensions,
    )


def validate_outbound_url(value: str) -> None:
    """Model validator of holder and webhook URLs: the same check as at call time, so the admin refuses an
    address that the call would refuse."""
    if not value:
        return
    try:
        outbound_target(value)
    except OutboundRefused as exc:
        raise ValidationError(f"This URL cannot be used: {exc}.", code="outbound_url") from None
