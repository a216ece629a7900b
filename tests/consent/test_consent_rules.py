"""Who must consent for a minor (domain.md, "Consent by age") as a table of cases: consent/consents.py.

Each row: the subject's age and whether they can judge their own interests, the regimes of the categories, the
relations to the subject, who gave consent, whether all custodians must consent, and who is still missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from consent.consents import (
    RelationFact,
    age_band,
    giver_confirmed,
    givers_suffice,
    legal_representatives_on,
)
from consent.models import ConsentAgeRule, DataCategory

DAY = dt.date(2026, 11, 24)

# The defaults of domain.md: (regime, band) -> who consents.
DEFAULTS = {
    ("youth_care", "under_12"): "legal_representatives",
    ("youth_care", "12_15"): "child_and_legal_representatives",
    ("youth_care", "16_plus"): "child",
    ("medical", "under_12"): "legal_representatives",
    ("medical", "12_15"): "child_and_legal_representatives",
    ("medical", "16_plus"): "child",
    ("vt_municipality", "under_12"): "legal_representatives",
    ("vt_municipality", "12_15"): "child_if_able_else_legal_representatives",
    ("vt_municipality", "16_plus"): "child",
    ("avg", "under_12"): "legal_representatives",
    ("avg", "12_15"): "legal_representatives",
    ("avg", "16_plus"): "child",
}
ALL = ("youth_care", "medical", "vt_municipality", "avg")

CHILD, MOTHER, FATHER, GUARDIAN, AUNT = "child", "mother", "father", "guardian", "aunt"
SELF = (CHILD, "self")
BY_MOTHER = (MOTHER, "parent_with_custody")
BY_FATHER = (FATHER, "parent_with_custody")
BY_GUARDIAN = (GUARDIAN, "guardian")

PARENTS = (
    RelationFact(MOTHER, "parent_with_custody", dt.date(2012, 5, 20)),
    RelationFact(FATHER, "parent_with_custody", dt.date(2012, 5, 20)),
)
ONLY_GUARDIAN = (RelationFact(GUARDIAN, "guardian", dt.date(2020, 1, 1)),)
PARENT_AND_GUARDIAN = (PARENTS[0], ONLY_GUARDIAN[0])
FATHER_WITHOUT_CUSTODY = (PARENTS[0], RelationFact(FATHER, "parent_without_custody", dt.date(2012, 5, 20)))
FATHER_CUSTODY_ENDED = (
    PARENTS[0],
    RelationFact(FATHER, "parent_with_custody", dt.date(2012, 5, 20), DAY.replace(day=1)),
)
FATHER_CUSTODY_LATER = (PARENTS[0], RelationFact(FATHER, "parent_with_custody", DAY + dt.timedelta(days=1)))

PWC = "parent_with_custody"
BOTH = (BY_MOTHER, BY_FATHER)
YOUTH, MEDICAL, WMO, AVG = ("youth_care",), ("medical",), ("vt_municipality",), ("avg",)
Row = tuple[str, int, bool, tuple[str, ...], tuple[RelationFact, ...], tuple[tuple[str, str], ...], bool, list[Any]]

# (label, age, able to judge, regimes, relations, givers, all custodians must consent, missing (capacity, count))
TABLE: list[Row] = [
    # Under 12: the legal representatives decide, whatever the regime; the child's own consent does not count.
    ("under 12, youth care, both parents", 8, True, YOUTH, PARENTS, BOTH, True, []),
    ("under 12, medical, both parents", 8, True, MEDICAL, PARENTS, BOTH, True, []),
    ("under 12, every regime, both parents", 8, True, ALL, PARENTS, BOTH, True, []),
    ("under 12, one parent of two, all required", 8, True, YOUTH, PARENTS, (BY_MOTHER,), True, [(PWC, 1)]),
    ("under 12, one parent of two, one suffices", 8, True, YOUTH, PARENTS, (BY_MOTHER,), False, []),
    ("under 12, the child alone", 8, True, MEDICAL, PARENTS, (SELF,), True, [(PWC, 2)]),
    ("under 12, nobody yet, one suffices", 8, True, AVG, PARENTS, (SELF,), False, [(PWC, 1)]),
    ("under 12, a guardian", 8, True, MEDICAL, ONLY_GUARDIAN, (BY_GUARDIAN,), True, []),
    ("under 12, the guardian missing", 8, True, MEDICAL, ONLY_GUARDIAN, (SELF,), True, [("guardian", 1)]),
    ("under 12, parent and guardian", 8, True, WMO, PARENT_AND_GUARDIAN, (BY_MOTHER,), True, [("guardian", 1)]),
    ("under 12, parent or guardian", 8, True, AVG, PARENT_AND_GUARDIAN, (SELF,), False, [("legal_representative", 1)]),
    ("under 12, no representative known", 8, True, AVG, (), (SELF,), True, [("legal_representative", 1)]),
    # A parent without custody, or custody not valid on the date, makes no legal representative.
    ("a parent without custody is none", 8, True, MEDICAL, FATHER_WITHOUT_CUSTODY, (BY_MOTHER,), True, []),
    ("a parent without custody counts not", 8, True, MEDICAL, FATHER_WITHOUT_CUSTODY, (BY_FATHER,), True, [(PWC, 1)]),
    ("custody that ended before the date", 8, True, MEDICAL, FATHER_CUSTODY_ENDED, (BY_MOTHER,), True, []),
    ("custody that starts after the date", 8, True, MEDICAL, FATHER_CUSTODY_LATER, (BY_MOTHER,), True, []),
    # 12 to 15: youth care and medical ask the child and the parents; Wmo 5.3.3 the child if able; AVG the parents.
    ("12-15, youth care, child and parents", 14, True, YOUTH, PARENTS, (SELF, *BOTH), True, []),
    ("12-15, youth care, the child alone", 14, True, YOUTH, PARENTS, (SELF,), True, [(PWC, 2)]),
    ("12-15, youth care, the parents alone", 14, True, YOUTH, PARENTS, BOTH, True, [("self", 1)]),
    ("12-15, medical, child and one parent", 14, True, MEDICAL, PARENTS, (SELF, BY_MOTHER), True, [(PWC, 1)]),
    ("12-15, medical, one parent suffices", 14, True, MEDICAL, PARENTS, (SELF, BY_MOTHER), False, []),
    ("12-15, Wmo 5.3.3, child able to judge", 14, True, WMO, PARENTS, (SELF,), True, []),
    ("12-15, Wmo 5.3.3, child not able", 14, False, WMO, PARENTS, (SELF,), True, [(PWC, 2)]),
    ("12-15, Wmo 5.3.3, not able, parents", 14, False, WMO, PARENTS, BOTH, True, []),
    ("12-15, AVG, the child alone", 14, True, AVG, PARENTS, (SELF,), True, [(PWC, 2)]),
    ("12-15, AVG, the parents", 14, True, AVG, PARENTS, BOTH, True, []),
    ("12-15, youth care, not able, parents", 14, False, YOUTH, PARENTS, BOTH, True, []),
    ("12 is in the band 12 to 15", 12, True, MEDICAL, PARENTS, BOTH, True, [("self", 1)]),
    # Categories under several regimes: everyone any of them asks for.
    ("12-15, AVG and medical: the union", 14, True, AVG + MEDICAL, PARENTS, BOTH, True, [("self", 1)]),
    ("12-15, Wmo and AVG: the union", 14, True, WMO + AVG, PARENTS, (SELF,), True, [(PWC, 2)]),
    # 16 and older: the child alone, under every regime; the parents cannot consent for them.
    ("16+, every regime, the child", 17, True, ALL, PARENTS, (SELF,), True, []),
    ("16 is 16 and older", 16, True, ALL, PARENTS, (SELF,), True, []),
    ("16+, not the parents for the child", 17, True, MEDICAL, PARENTS, BOTH, True, [("self", 1)]),
    ("an adult alone", 41, True, ALL, (), (SELF,), True, []),
    # Not able to judge: treated as the younger band, in which the child's own consent does not count.
    ("16+, not able to judge, the child", 17, False, MEDICAL, PARENTS, (SELF,), True, [(PWC, 2)]),
    ("16+, not able to judge, the parents", 17, False, MEDICAL, PARENTS, BOTH, True, []),
    ("an adult not able to judge, guardian", 30, False, AVG, ONLY_GUARDIAN, (BY_GUARDIAN,), True, []),
]


@pytest.mark.parametrize(
    ("age", "able", "regimes", "relations", "givers", "all_custodians", "missing"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_givers_suffice(
    age: int,
    able: bool,
    regimes: tuple[str, ...],
    relations: tuple[RelationFact, ...],
    givers: tuple[tuple[str, str], ...],
    all_custodians: bool,
    missing: list[tuple[str, int]],
) -> None:
    result = givers_suffice(
        age=age,
        able_to_judge=able,
        regimes=regimes,
        rules=DEFAULTS,
        representatives=legal_representatives_on(relations=relations, on=DAY),
        givers=givers,
        all_custodians=all_custodians,
    )
    assert [(m.capacity, m.count) for m in result.missing] == missing
    assert result.complete is (not missing)
    assert all(m.as_dict()["message"] for m in result.missing)


def test_a_missing_cell_asks_the_strictest() -> None:
    """A gap in the table never loosens: without the medical 16+ cell, the child and the parents must consent."""
    rules = {key: value for key, value in DEFAULTS.items() if key != ("medical", "16_plus")}
    result = givers_suffice(
        age=17,
        able_to_judge=True,
        regimes=("medical",),
        rules=rules,
        representatives=legal_representatives_on(relations=PARENTS, on=DAY),
        givers=(SELF,),
        all_custodians=True,
    )
    assert [(m.capacity, m.count) for m in result.missing] == [(PWC, 2)]
    assert result.needs == (("medical", "child_and_legal_representatives"),)


def test_a_changed_cell_is_applied() -> None:
    """The table is data: let the AVG ask the child too from 12, and the parents alone no longer suffice."""
    rules = {**DEFAULTS, ("avg", "12_15"): "child_and_legal_representatives"}
    result = givers_suffice(
        age=13,
        able_to_judge=True,
        regimes=("avg",),
        rules=rules,
        representatives=legal_representatives_on(relations=PARENTS, on=DAY),
        givers=(BY_MOTHER, BY_FATHER),
        all_custodians=True,
    )
    assert [(m.capacity, m.count) for m in result.missing] == [("self", 1)]


@pytest.mark.parametrize(
    ("age", "able", "band"),
    [
        (0, True, "under_12"),
        (11, True, "under_12"),
        (12, True, "12_15"),
        (15, True, "12_15"),
        (16, True, "16_plus"),
        (80, True, "16_plus"),
        (14, False, "under_12"),
        (17, False, "under_12"),
        (40, False, "under_12"),
    ],
)
def test_age_band(age: int, able: bool, band: str) -> None:
    assert age_band(age=age, able_to_judge=able) == band


@pytest.mark.parametrize(
    ("giver", "capacity", "relations", "confirmed"),
    [
        pytest.param(CHILD, "self", (), True, id="self is the subject"),
        pytest.param(MOTHER, "self", PARENTS, False, id="self is not someone else"),
        pytest.param(MOTHER, "parent_with_custody", PARENTS, True, id="a parent with custody"),
        pytest.param(MOTHER, "guardian", PARENTS, False, id="a parent is not a guardian"),
        pytest.param(FATHER, "parent_with_custody", FATHER_WITHOUT_CUSTODY, False, id="a parent without custody"),
        pytest.param(FATHER, "parent_with_custody", FATHER_CUSTODY_ENDED, False, id="custody ended"),
        pytest.param(FATHER, "parent_with_custody", FATHER_CUSTODY_LATER, False, id="custody not yet"),
        pytest.param(GUARDIAN, "guardian", ONLY_GUARDIAN, True, id="a guardian"),
        pytest.param(AUNT, "parent_with_custody", PARENTS, False, id="no relation at all"),
        pytest.param(None, "self", (), False, id="an unknown giver"),
        pytest.param(MOTHER, "partner", PARENTS, False, id="not a capacity"),
    ],
)
def test_giver_confirmed(
    giver: str | None, capacity: str, relations: tuple[RelationFact, ...], confirmed: bool
) -> None:
    assert giver_confirmed(giver=giver, capacity=capacity, subject=CHILD, relations=relations, on=DAY) is confirmed


def test_an_unknown_subject_confirms_no_giver() -> None:
    assert not giver_confirmed(giver=CHILD, capacity="self", subject=None, relations=(), on=DAY)


def test_relation_boundaries_are_inclusive() -> None:
    relation = RelationFact(MOTHER, "guardian", DAY, DAY)
    assert legal_representatives_on(relations=[relation], on=DAY) == {MOTHER: "guardian"}
    assert legal_representatives_on(relations=[relation], on=DAY + dt.timedelta(days=1)) == {}


def test_the_default_table_is_domain_md(db: Any) -> None:
    """The data migration seeds exactly the table of domain.md, each cell at version 1."""
    stored = {(r.regime, r.band): r.consent_needed for r in ConsentAgeRule.objects.all()}
    assert stored == DEFAULTS
    assert set(ConsentAgeRule.objects.values_list("version", flat=True)) == {1}


def test_the_demo_categories_name_their_regime(db: Any) -> None:
    regimes = dict(DataCategory.objects.values_list("code", "consent_regime"))
    assert regimes["health_summary"] == regimes["forensic_medical"] == "medical"
    assert regimes["child_protection_measure"] == regimes["school_attendance"] == "youth_care"
    assert regimes["risk_assessment"] == regimes["report_content"] == "vt_municipality"
    assert regimes["police_incidents"] == "avg"
