"""The consent API is no oracle (issue "leaks", item 3): the general guard.

For every consent endpoint, a sweep over varied bodies (givers and capacities, the subject's age through the demo
persons, backdated and future periods, with and without a case) compares each demo person with a BSN the gateway
does not know: the status code, the members, the status and the problem code never differ, and neither does the
rest of the answer once the BSNs, ids and times are set aside.

The one designed difference is standing through a case: a participant of an active case may record for the
persons with a role in it (and learns nothing it does not know as a participant). Everyone else, and every case
the recorder cannot use, gets the answer an unknown BSN gets.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from consent.bsn import is_valid_bsn
from demo import world

UNKNOWN = "999990111"  # passes the eleven test; nobody in the demo world has it
OUTSIDER = "999990123"  # another valid BSN the gateway does not know, named as a giver
FATIMA, YOUSSEF, SANNE, MARK = world.FATIMA, world.YOUSSEF, world.SANNE, world.MARK
PERSONS = tuple(p.bsn for p in world.PERSONS)
IN_CASE_2 = {bsn for case in world.CASES if case.reference == world.CASE_CHILD for bsn, _ in case.persons}

# Givers as a function of the subject: the subject's own consent, and claims about representatives that are
# true for some persons and false for others (the gateway must not tell which).
GIVERS: dict[str, Any] = {
    "self": lambda s: [(s, "self")],
    "mother": lambda s: [(FATIMA, "parent_with_custody")],
    "both parents": lambda s: [(FATIMA, "parent_with_custody"), (YOUSSEF, "parent_with_custody")],
    "self and both parents": lambda s: [
        (s, "self"),
        (SANNE, "parent_with_custody"),
        (MARK, "parent_with_custody"),
    ],
    "a guardian": lambda s: [(MARK, "guardian")],
    "someone unknown": lambda s: [(OUTSIDER, "parent_with_custody")],
}
PERIODS = {"today": (0, 120), "backdated to 2018": (None, 60), "from next month": (30, 400)}


def _day(offset: int | None) -> str:
    if offset is None:
        return "2018-01-01"
    return (timezone.localdate() + dt.timedelta(days=offset)).isoformat()


def _body(subject: str, givers: str, period: str, categories: list[str], case: str | None) -> dict[str, Any]:
    start, end = PERIODS[period]
    return {
        "subject": {"bsn": subject},
        "given_by": [{"bsn": b, "capacity": c} for b, c in GIVERS[givers](subject)],
        "explicit": True,
        "purposes": ["care_coordination"],
        "recipients": ["gemeente-rotterdam"],
        "categories": categories,
        "case_reference": case,
        "valid_from": _day(start),
        "valid_until": _day(end),
        "evidence": "Consent form (sweep).",
    }


def _usable(subject: str, givers: str) -> bool:
    """Bodies that are valid input for this subject: a representative named is not the subject itself (that
    ``400`` follows from the input alone, so it may differ)."""
    return all(b == subject or c != "self" for b, c in GIVERS[givers](subject)) and all(
        b != subject for b, c in GIVERS[givers](subject) if c != "self"
    )


def _normal(answer: Any, subject: str) -> Any:
    """The answer with what legitimately differs set aside: the subject's BSN (the caller's own input), the
    consent's id and the times."""
    if isinstance(answer, dict):
        return {
            k: ("<id>" if k == "id" else "<time>" if k.endswith("_at") and v else _normal(v, subject))
            for k, v in answer.items()
        }
    if isinstance(answer, list):
        return [_normal(v, subject) for v in answer]
    return "<subject>" if answer == subject else answer


def _shape(response: Any, subject: str) -> tuple[Any, ...]:
    body = response.json()
    return (
        response.status_code,
        response["Content-Type"],
        sorted(body),
        body.get("status"),
        body.get("code"),
        _normal(body, subject),
    )


SWEEP = [
    (givers, period, categories, case)
    for givers, period, (categories, case) in itertools.product(
        GIVERS,
        PERIODS,
        [
            (["health_summary"], None),  # ggz-rijnmond holds it: standing for every BSN
            (["health_summary"], world.CASE_CHILD),
            (["school_attendance"], None),  # not held, no case: standing for no BSN
            (["school_attendance"], world.CASE_STALKING),  # a case ggz-rijnmond is not in
            (["health_summary", "school_attendance"], world.CASE_CHILD),  # case standing: its persons only
        ],
    )
]


def _as_unknown(claims: list[tuple[str, str]], subject: str, twin: str) -> list[dict[str, str]]:
    return [{"bsn": twin if b == subject else b, "capacity": c} for b, c in claims]


def _twins() -> Iterator[str]:
    """Valid BSNs the demo world does not know, one per comparison (so their consents do not mix)."""
    for number in itertools.count(999991000):
        candidate = str(number)
        if is_valid_bsn(candidate) and candidate not in PERSONS and candidate not in (UNKNOWN, OUTSIDER):
            yield candidate


@pytest.mark.parametrize(("givers", "period", "categories", "case"), SWEEP)
def test_recording_answers_every_person_like_an_unknown_bsn(
    partner: Any, givers: str, period: str, categories: list[str], case: str | None
) -> None:
    ggz = partner("ggz-rijnmond")
    compared = 0
    for subject in PERSONS:
        if not _usable(subject, givers):
            continue
        if "school_attendance" in categories and case == world.CASE_CHILD and subject in IN_CASE_2:
            continue  # standing through the case: the designed difference (see the module docstring)
        claims = GIVERS[givers](subject)
        body = _body(subject, givers, period, categories, case)
        known = ggz.post("/api/v1/consents", body)
        unknown = ggz.post(
            "/api/v1/consents",
            body | {"subject": {"bsn": UNKNOWN}, "given_by": _as_unknown(claims, subject, UNKNOWN)},
        )
        assert _shape(known, subject) == _shape(unknown, UNKNOWN), (subject, givers, period, categories, case)
        assert known.status_code in (201, 403)
        compared += 1
    assert compared >= 2  # every combination compared someone


def test_the_other_consent_endpoints_answer_every_person_like_an_unknown_bsn(partner: Any) -> None:
    """Adding givers (true and false claims), searching (as recorder and as recipient), withdrawing and
    withdrawing again, for a consent recorded with the holder's standing about each demo person and the same
    about a BSN the gateway does not know: the same answers."""
    ggz = partner("ggz-rijnmond")
    gemeente = partner("gemeente-rotterdam")
    twins = _twins()
    for subject in PERSONS:
        twin = next(twins)
        claims = [
            (b, c)
            for b, c in ((FATIMA, "parent_with_custody"), (MARK, "guardian"), (OUTSIDER, "parent_with_custody"))
            if b != subject
        ]
        answers: dict[str, list[Any]] = {}
        for bsn in (subject, twin):
            seen: list[Any] = []
            created = ggz.post("/api/v1/consents", _body(bsn, "self", "today", ["health_summary"], None))
            assert created.status_code == 201, created.content
            consent_id = created.json()["id"]
            seen.append(_shape(created, bsn))
            for b, c in claims:
                added = ggz.post(f"/api/v1/consents/{consent_id}/givers", {"given_by": [{"bsn": b, "capacity": c}]})
                seen.append(_shape(added, bsn))
            for who in (ggz, gemeente):
                found = who.post("/api/v1/consents/search", {"subject": {"bsn": bsn}})
                # only this consent: Fatima also has the demo world's own, which is a fact, not an oracle
                mine = [c for c in found.json()["results"] if c["id"] == consent_id]
                seen.append((found.status_code, sorted(found.json()), _normal(mine, bsn)))
            seen.append(_shape(gemeente.post(f"/api/v1/consents/{consent_id}/withdraw", {"reason": "Sweep."}), bsn))
            seen.append(_shape(ggz.post(f"/api/v1/consents/{consent_id}/withdraw", {"reason": "Again."}), bsn))
            answers[bsn] = seen
        assert answers[subject] == answers[twin], subject


def test_a_person_without_other_facts_and_an_unknown_bsn_get_the_same_decision_on_the_same_consent(
    partner: Any,
) -> None:
    """Decision side: a consent recorded by the holder about a known person whom the requester has no case with
    counts exactly as the same consent about a BSN the gateway does not know: at once for the recorder's own
    data, and for another holder only as that holder decides."""
    ggz = partner("ggz-rijnmond")
    gemeente = partner("gemeente-rotterdam")
    claims = {
        SANNE: [(SANNE, "self")],
        MARK: [(MARK, "self")],
        world.DAAN: [(world.DAAN, "self"), (SANNE, "parent_with_custody"), (MARK, "parent_with_custody")],
        world.LOTTE: [(SANNE, "parent_with_custody"), (MARK, "parent_with_custody")],
    }
    for subject, givers in claims.items():
        for bsn in (subject, UNKNOWN):
            named = [{"bsn": bsn if b == subject else b, "capacity": c} for b, c in givers]
            body = _body(bsn, "self", "today", ["health_summary"], None) | {"given_by": named}
            assert ggz.post("/api/v1/consents", body).status_code == 201

        def decided(bsn: str, holder: str) -> list[tuple[Any, ...]]:
            response = gemeente.post(
                "/api/v1/decisions",
                {
                    "subject": {"bsn": bsn},
                    "categories": ["health_summary"],
                    "purpose": "care_coordination",
                    "providers": {"health_summary": holder},
                },
            )
            assert response.status_code == 200, response.content
            return [
                (d["outcome"], d["rule"], [r["code"] for r in d["reasons"]], d["consent"] is not None)
                for d in response.json()["decisions"]
            ]

        for holder, outcome in (("ggz-rijnmond", "permit"), ("huisarts-kralingen", "pending")):
            assert decided(subject, holder) == decided(UNKNOWN, holder), (subject, holder)
            assert decided(subject, holder)[0][0] == outcome
