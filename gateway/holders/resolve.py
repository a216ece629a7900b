"""Which organisation to ask for each category of a request (api.md, "providers"), from policy data only."""

from __future__ import annotations

from consent.models import Case, Organisation
from gateway.errors import FieldError, InvalidInput
from gateway.holders.directory import HolderDirectory


def holders_resolve(
    *,
    categories: list[str],
    named: dict[str, str],
    case_reference: str | None,
    requester: Organisation,
    directory: HolderDirectory,
) -> dict[str, str | None]:
    """Which organisation to ask for each category, from policy data only (never from facts about the person).

    A named holder must hold the category. Otherwise the sole holder; or, among several, the one that takes
    part in the case the request names (if the requester takes part in it too). Still ambiguous:
    :class:`~gateway.errors.InvalidInput` (``400``).
    """
    holders = {c: directory.holders_of(c) for c in categories}
    case_members: set[str] | None = None  # read only when a category has several holders

    def in_case() -> set[str]:
        nonlocal case_members
        if case_members is None:
            case_members = set()
            if case_reference:
                case = Case.objects.filter(reference=case_reference, participants=requester).first()
                if case is not None:
                    case_members = set(case.participants.values_list("slug", flat=True))
        return case_members

    resolved: dict[str, str | None] = {}
    errors: list[FieldError] = []
    for category in categories:
        candidates = holders[category]
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
            members = in_case()
            in_the_case = [c for c in candidates if c in members]
            if len(in_the_case) == 1:
                resolved[category] = in_the_case[0]
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
