"""Who may use the privacy officers' console, and which part of the trail each officer sees.

Officers are users with an :class:`audit.models.OfficerProfile`. A profile without an organisation sees the whole
network; with one, only entries where that organisation asked or held data (``AuditFacet`` requester/holder).
Outside demo mode (``GATEWAY_CONSOLE_REQUIRE_2FA``) every console page needs a login verified with a TOTP device.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from audit.models import AuditEntry, AuditFacet, OfficerProfile
from audit.officers import two_factor_satisfied


def officer_of(request: HttpRequest) -> OfficerProfile | None:
    if not request.user.is_authenticated:
        return None
    return OfficerProfile.objects.select_related("organisation").filter(user_id=request.user.pk).first()


def officer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, an officer profile, and (outside demo mode) a second factor; else to the login or the 2FA step."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{settings.CONSOLE_LOGIN_URL}?next={request.path}")
        officer = officer_of(request)
        if officer is None:
            raise Http404("not an officer")
        if not two_factor_satisfied(request):
            return redirect(f"{settings.CONSOLE_OTP_URL}?next={request.path}")
        request.officer = officer  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def facet_subquery(keys: tuple[str, ...], value: str, before: int | None = None) -> QuerySet[AuditFacet, Any]:
    """Entry indices with a facet, through the facet index (key, value, entry). ``before`` (a keyset page bound)
    goes inside the subquery: PostgreSQL does not carry it across ``IN`` by itself (docs/performance.md)."""
    facets = AuditFacet.objects.filter(key__in=keys, value=value)
    if before is not None:
        facets = facets.filter(entry_id__lt=before)
    return facets.values("entry_id")


def scoped_entries(officer: OfficerProfile, before: int | None = None) -> QuerySet[AuditEntry]:
    """The part of the trail this officer may see (below ``before`` when paging). An organisation-scoped officer
    sees entries where the organisation asked or held data, and nothing else, through every filter and URL."""
    entries = AuditEntry.objects.all()
    if before is not None:
        entries = entries.filter(index__lt=before)
    if officer.organisation_id is None:
        return entries
    slug = officer.organisation.slug if officer.organisation else ""
    return entries.filter(index__in=facet_subquery(("requester", "holder"), slug, before))
