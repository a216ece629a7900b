"""The general guard against oracles (issue "leaks", item 1): for every organisation x category x purpose x case of
the demo world, a person the gateway knows, but who has no facts for the requester (no shared active case, no
consent for it, no order it carries out), gets exactly what an unknown BSN gets. Restrictions the requester may
not know of (Sanne's, Daan's and Lotte's shielded address, the reporter's confidentiality) are included on
purpose: they are the facts that used to leak.

Two sweeps over the same space:

- through the gateway's own decision path (``holders_resolve``, ``subject_facts``, ``decide``: what
  ``POST /api/v1/decisions`` runs), every combination for every such person, with and without emergency access,
  naming each holder of a category that several organisations hold;
- through real dry runs over HTTP, every organisation x purpose x case with all categories at once, comparing the
  unknown BSN with one such person per combination (taken in turn, so every person is compared), status codes,
  response members, outcomes, rules, bases and reason codes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from consent.models import Organisation, Person
from consent.policy import DecisionRequest, SubjectFacts, decide
from consent.selectors import policy_current, subject_facts
from demo import world
from gateway.api.serializers import MAX_CATEGORIES
from gateway.holders.directory import holder_directory_read
from gateway.holders.resolve import holders_resolve

UNKNOWN = "999999990"  # passes the eleven test; nobody in the demo world has it
CASES = (None, world.CASE_STALKING, world.CASE_CHILD)
VARIANTS = ({"emergency": False, "justification": None}, {"emergency": True, "justification": "Acuut gevaar (sweep)."})


def _holder_rounds(categories: list[str]) -> list[dict[str, str]]:
    """Named holders for each round: round k names the k-th holder of every category that several hold, so every
    holder of every category is asked about at least once."""
    rounds: list[dict[str, str]] = []
    most = max(len(world.holders_of(c)) for c in categories)
    for k in range(most):
        rounds.append({c: world.holders_of(c)[k] for c in categories if len(world.holders_of(c)) > max(k, 1)})
    return rounds


def _without_facts_for(facts: SubjectFacts, requester: str) -> bool:
    """No fact about the person that this requester may act on; restrictions do not count (they are exactly what
    must not show)."""
    return (
        not facts.in_named_case
        and not facts.shares_active_case
        and not facts.consents
        and not any(org == requester for org, _, _ in facts.supervision_orders)
    )


def _shown(decisions: Any) -> list[tuple[Any, ...]]:
    return [
        (
            d.category,
            d.provider,
            d.outcome,
            d.rule,
            d.legal_basis,
            d.consent,
            d.reason_codes,
            d.emergency_access,
            tuple(r.message for r in d.reasons),
            d.redact,
        )
        for d in decisions
    ]


def _combinations() -> Iterator[tuple[str, str, str | None, dict[str, Any]]]:
    yield from itertools.product(
        [o.slug for o in world.ORGANISATIONS],
        [p.code for p in world.PURPOSES],
        CASES,
        VARIANTS,
    )


def test_every_decision_path_treats_a_person_without_facts_like_an_unknown_bsn(db: Any) -> None:
    from django.utils import timezone

    policy = policy_current()
    categories = sorted(policy.categories)
    assert len(categories) == len(world.CATEGORIES)
    rounds = _holder_rounds(categories)
    persons = list(Person.objects.order_by("bsn"))
    organisations = {o.slug: o for o in Organisation.objects.select_related("sector")}
    today = timezone.localdate()
    compared = shielded_compared = 0
    facts_cache: dict[tuple[str, str | None], list[tuple[str, SubjectFacts]]] = {}
    providers_cache: dict[tuple[str, str | None, int], dict[str, str | None]] = {}
    directory = holder_directory_read()
    for requester, purpose, case, variant in _combinations():
        key = (requester, case)
        if key not in facts_cache:
            org = organisations[requester]
            known = [
                (p.bsn, subject_facts(subject_bsn=p.bsn, requester=org, case_reference=case, on=today)) for p in persons
            ]
            unknown = subject_facts(subject_bsn=UNKNOWN, requester=org, case_reference=case, on=today)
            assert unknown == SubjectFacts.unknown()
            facts_cache[key] = [(UNKNOWN, unknown), *[(b, f) for b, f in known if _without_facts_for(f, requester)]]
        for number, named in enumerate(rounds):
            asked = categories if number == 0 else sorted(named)
            pkey = (requester, case, number)
            if pkey not in providers_cache:
                providers_cache[pkey] = holders_resolve(
                    categories=asked,
                    named=named,
                    case_reference=case,
                    requester=organisations[requester],
                    directory=directory,
                )
            request = DecisionRequest(
                requester=requester,
                categories=tuple(asked),
                providers=providers_cache[pkey],
                purpose=purpose,
                on=today,
                case_reference=case,
                emergency=variant["emergency"],
                has_justification=bool(variant["justification"]),
            )
            (_, unknown_facts), *others = facts_cache[key]
            expected = _shown(decide(request, policy, unknown_facts))
            for bsn, facts in others:
                assert _shown(decide(request, policy, facts)) == expected, (requester, purpose, case, variant, bsn)
                compared += 1
                shielded_compared += bool(facts.restrictions)
    assert compared > 10_000 and shielded_compared > 1_000  # the sweep really ran over the space


@pytest.mark.parametrize("case", CASES, ids=["no case", "case 0001", "case 0002"])
def test_dry_runs_answer_a_person_without_facts_exactly_like_an_unknown_bsn(partner: Any, case: str | None) -> None:
    from django.utils import timezone

    policy = policy_current()
    categories = sorted(policy.categories)
    named = _holder_rounds(categories)[0]
    # All categories, in as few requests as the API's limit allows.
    chunks = [categories[i : i + MAX_CATEGORIES] for i in range(0, len(categories), MAX_CATEGORIES)]
    persons = list(Person.objects.order_by("bsn"))
    today = timezone.localdate()
    turn = itertools.count()
    seen: set[str] = set()
    for slug in [o.slug for o in world.ORGANISATIONS]:
        client = partner(slug, scope="requests")
        org = Organisation.objects.get(slug=slug)
        eligible = [
            p.bsn
            for p in persons
            if _without_facts_for(subject_facts(subject_bsn=p.bsn, requester=org, case_reference=case, on=today), slug)
        ]
        if not eligible:
            continue
        for purpose in [p.code for p in world.PURPOSES]:
            person = eligible[next(turn) % len(eligible)]
            seen.add(person)
            for chunk in chunks:
                providers = {c: h for c, h in named.items() if c in chunk}
                body = {"categories": chunk, "purpose": purpose, "case_reference": case, "providers": providers}
                unknown = client.post("/api/v1/decisions", {"subject": {"bsn": UNKNOWN}, **body})
                known = client.post("/api/v1/decisions", {"subject": {"bsn": person}, **body})
                context = (slug, purpose, case, person)
                assert known.status_code == unknown.status_code, context
                assert known["Content-Type"] == unknown["Content-Type"]
                if unknown.status_code != 200:
                    assert known.json()["code"] == unknown.json()["code"], context
                    continue
                assert set(known.json()) == set(unknown.json()) == {"decisions", "audit"}
                assert known.json()["decisions"] == unknown.json()["decisions"], context
    assert {world.SANNE, world.LOTTE, world.DAAN} <= seen  # the shielded persons were among those compared
