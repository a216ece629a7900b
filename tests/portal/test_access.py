"""The family access rules (domain.md, "Family access") as a table of cases."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.access import CaseFact, PersonFact, WithheldFact, is_withheld, visible_subjects

SANNE, MARK, DAAN, LOTTE = "s", "m", "d", "l"
CASE_1 = CaseFact(
    "CHGK-1",
    {
        SANNE: frozenset({"victim"}),
        MARK: frozenset({"suspect"}),
        DAAN: frozenset({"child_involved"}),
        LOTTE: frozenset({"child_involved"}),
    },
)


def kid(bsn: str, age: int, blocks: bool = False) -> PersonFact:
    return PersonFact(bsn, age, blocks)


@pytest.mark.parametrize(
    ("viewer", "wards", "cases", "expected"),
    [
        (kid(SANNE, 35), [kid(DAAN, 14), kid(LOTTE, 9)], [CASE_1], {SANNE: "self", DAAN: "parent", LOTTE: "parent"}),
        (kid(MARK, 39), [kid(DAAN, 14), kid(LOTTE, 9)], [CASE_1], {MARK: "self"}),  # suspect: never the children
        (kid(MARK, 39), [kid(SANNE, 35)], [CASE_1], {MARK: "self"}),  # nor the victim
        (
            kid(MARK, 39),
            [kid(DAAN, 14)],
            [CaseFact("other", {MARK: frozenset({"legal_representative"}), DAAN: frozenset({"child_involved"})})],
            {MARK: "self", DAAN: "parent"},
        ),  # not a suspect there
        (
            kid(MARK, 39),
            [kid(DAAN, 14)],
            [CaseFact("closed", {MARK: frozenset({"suspect"}), DAAN: frozenset({"child_involved"})}, active=False)],
            {MARK: "self"},
        ),  # the protection outlives the case
        (kid("f", 41), [kid("noor", 17), kid("adam", 7)], [], {"f": "self", "adam": "parent"}),  # 16+: not the parent
        (kid("f", 41), [kid("c", 16)], [], {"f": "self"}),  # exactly 16
        (kid("f", 41), [kid("c", 15)], [], {"f": "self", "c": "parent"}),
        (kid("f", 41), [kid("c", 15, blocks=True)], [], {"f": "self"}),  # the child's interest opposes it
        (kid("c", 11), [], [], {}),  # under 12: no own access
        (kid("c", 12), [], [], {"c": "self"}),
        (kid("c", 16), [], [], {"c": "self"}),
    ],
)
def test_visible_subjects(
    viewer: PersonFact, wards: list[PersonFact], cases: list[CaseFact], expected: dict[str, str]
) -> None:
    assert visible_subjects(viewer=viewer, wards=wards, cases=cases) == expected


@pytest.mark.parametrize(
    ("request_id", "categories", "facts", "withheld"),
    [
        ("req_1", ["address"], [WithheldFact("req_1", frozenset(), dt.date(2027, 3, 1))], True),
        ("req_2", ["address"], [WithheldFact("req_1", frozenset(), dt.date(2027, 3, 1))], False),
        ("req_2", ["address", "identity"], [WithheldFact("", frozenset({"address"}), None)], True),
        ("req_2", ["identity"], [WithheldFact("", frozenset({"address"}), None)], False),
        ("req_2", ["identity"], [WithheldFact("", frozenset(), None)], False),  # names nothing: withholds nothing
        ("req_2", ["identity"], [], False),
    ],
)
def test_is_withheld(request_id: str, categories: list[str], facts: list[WithheldFact], withheld: bool) -> None:
    assert is_withheld(request_id=request_id, categories=categories, withheld=facts) is withheld
