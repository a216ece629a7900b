"""The holder directory: which organisation holds which category, and how the gateway reaches it.

Read from :class:`gateway.models.HolderEndpoint` once per configuration token (:mod:`consent.configuration`: every
change to an endpoint or to its categories sets a new token) and kept in the process, so a request resolves its
holders and their endpoints without a query. A directory read without a token (a flushed test database) is not
kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from consent.choices import HolderKind
from gateway.models import HolderEndpoint


@dataclass(frozen=True)
class EndpointView:
    """What :func:`gateway.holders.holder_fetch` needs of an active endpoint of an active organisation."""

    organisation_id: int
    organisation: str
    kind: str
    url: str
    credential_env: str
    timeout_seconds: float | None


@dataclass(frozen=True)
class HolderDirectory:
    """Active endpoints by (holder, category); the first endpoint by primary key wins, as a query's would."""

    endpoints: dict[tuple[str, str], EndpointView]

    def holders_of(self, category: str) -> list[str]:
        """The organisations holding ``category``, sorted."""
        return sorted({holder for holder, code in self.endpoints if code == category})

    def endpoint(self, holder: str, category: str) -> EndpointView | None:
        return self.endpoints.get((holder, category))

    def kept_here(self, holder: str, category: str) -> bool:
        """Whether asking ``holder`` for ``category`` stays inside the gateway: its records are kept here
        (``builtin``), or it has no active endpoint, so nobody is asked. A holder reached over the network
        (``http``) learns of the question."""
        found = self.endpoints.get((holder, category))
        return found is None or found.kind == HolderKind.BUILTIN


def holder_directory_read() -> HolderDirectory:
    """The directory as the tables hold it now (one query)."""
    endpoints: dict[tuple[str, str], EndpointView] = {}
    rows = (
        HolderEndpoint.objects.filter(active=True, organisation__active=True, categories__isnull=False)
        .order_by("pk")
        .values_list(
            "organisation_id",
            "organisation__slug",
            "categories__code",
            "kind",
            "url",
            "credential_env",
            "timeout_seconds",
        )
    )
    for organisation_id, slug, code, kind, url, credential_env, timeout in rows:
        endpoints.setdefault((slug, code), EndpointView(organisation_id, slug, kind, url, credential_env, timeout))
    return HolderDirectory(endpoints)


_kept: tuple[str, HolderDirectory] | None = None


def holder_directory(token: str | None) -> HolderDirectory:
    """The directory at configuration ``token`` (:attr:`consent.policy.Policy.token`): kept per process and read
    again when the token differs. Kept only once the reading transaction commits, as the policy is."""
    global _kept
    kept = _kept
    if token is not None and kept is not None and kept[0] == token:
        return kept[1]
    directory = holder_directory_read()
    if token is not None:

        def keep() -> None:
            global _kept
            _kept = (token, directory)

        transaction.on_commit(keep)
    return directory
