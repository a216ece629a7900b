"""Which organisation to ask for each category of a request (api.md, "providers"), from policy data only."""

from __future__ import annotations

from consent.models import Case, Organisation
from gateway.errors import FieldError, InvalidInput
from gateway.models import HolderEndpoint


def holders_resolve(
    *, categories: list[str], named: dict[str, str], case_reference: str | None, requester: Organisation
) -> dict[str, str | None]:
    """Which organisation to ask for each category, from policy data only (never from facts about the person).

    A named holder must hold the category. Otherwise the sole holder; or, among several, the one that takes
    part in the case the request names (if the requester takes part in it too). Still ambiguous:
    :class:`~gateway.errors.InvalidInput` (``400``).
    """
    holders: dict[str, list[str]] = {c: [] for c in categories}
    for slug, code in HolderEndpoint.objects.filter(
        active=True, organisation__active=True, categories__code__in=categories
    ).values_list("organisation__slug", "categories__code"):
        if slug not in holders[code]:
            holders[code].append(slug)
    case_members: set[str] = set()
    if case_reference:
        case = Case.objects.filter(reference=case_reference, participants=requester).first()
        if case is not None:
            case_members = set(case.participants.values_list("slug", flat=True))
    resolved: dict[str, str | None] = {}
    errors: list[FieldError] = []
    for category in categories:
        candidates = sorted(holders[category])
        if category in named:
            if named[category] not in candidates:
                errors.append(
                    FieldError(
                        f"providers.{category}",
                        "not_a_holder",
                        f"{named[category]} does not hold {category}.",
                    )
                )
            resolved[category] = named[category]
        elif len(candidates) <= 1:
            resolved[category] = candidates[0] if candidates else None
        else:
            in_case = [c for c in candidates if c in case_members]
            if len(in_case) == 1:
                resolved[category] = in_case[0]
            else:
                errors.append(
                    FieldError(
                        f"providers.{category}",
                        "provider_required",
                        f"Several organisations hold {category}; name one of: {', '.join(candidates)}.",
                    )
                )
    if errors:
        raise InvalidInput(tuple(errors))
    return resolved
