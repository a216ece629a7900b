"""The family access rules (domain.md, "Family access") as a table of cases."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.access import (
    CASE_CHAIN_SECTORS,
    NAMED_PURPOSES,
    OTHER_SECTORS,
    VICTIM_SIDE_SECTORS,
    CaseFact,
    NoticeFact,
    PersonFact,
    SuspectLens,
    WithheldFact,
    held_for_notice,
    inform_on,
    is_withheld,
    suspect_lens,
    visible_subjects,
)

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
        (
            kid(MARK, 39),
            [kid(DAAN, 14), kid(SANNE, 35)],
            [CaseFact("alleged", {MARK: frozenset({"alleged_perpetrator"}), DAAN: frozenset({"child_involved"})})],
            {MARK: "self"},
        ),  # an alleged perpetrator is shielded from like a suspect
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


# --- A suspect is never tipped off (Wmo 2015 art. 5.3.1; UAVG art. 41(1)(i)) -----------------------------------

DAY = dt.date(2026, 12, 1)
CLOSED_1 = CaseFact("CHGK-0", {MARK: frozenset({"suspect"}), SANNE: frozenset({"victim"})}, active=False)
ALLEGED = CaseFact("CHGK-2", {MARK: frozenset({"alleged_perpetrator"})})
VICTIM_ONLY = CaseFact("CHGK-3", {SANNE: frozenset({"victim"})})


@pytest.mark.parametrize(
    ("subject", "cases", "notice", "today", "held"),
    [
        (MARK, [CASE_1], NoticeFact(DAY), DAY, True),  # the day it is made
        (MARK, [CASE_1], NoticeFact(DAY), DAY + dt.timedelta(days=27), True),
        (MARK, [CASE_1], NoticeFact(DAY), DAY + dt.timedelta(days=28), False),  # four weeks: he is informed
        (MARK, [CASE_1], NoticeFact(DAY, cleared=True), DAY, False),  # cleared: at once
        (
            MARK,
            [CASE_1],
            NoticeFact(DAY, postponed_until=DAY + dt.timedelta(days=60)),
            DAY + dt.timedelta(days=28),
            True,
        ),
        (
            MARK,
            [CASE_1],
            NoticeFact(DAY, postponed_until=DAY + dt.timedelta(days=60)),
            DAY + dt.timedelta(days=60),
            False,
        ),
        (
            MARK,
            [CASE_1],
            NoticeFact(DAY, postponed_until=DAY + dt.timedelta(days=3)),
            DAY + dt.timedelta(days=10),
            True,
        ),
        (MARK, [ALLEGED], NoticeFact(DAY), DAY, True),  # an alleged perpetrator alike
        (MARK, [CLOSED_1], NoticeFact(DAY), DAY, True),  # closing the case shows nothing at once
        (SANNE, [CASE_1], NoticeFact(DAY), DAY, False),  # the victim sees her entries at once
        (DAAN, [CASE_1], NoticeFact(DAY), DAY, False),
        (MARK, [VICTIM_ONLY], NoticeFact(DAY), DAY, False),  # not a suspect anywhere
        (MARK, [], NoticeFact(DAY), DAY, False),
    ],
)
def test_held_for_notice(subject: str, cases: list[CaseFact], notice: NoticeFact, today: dt.date, held: bool) -> None:
    assert held_for_notice(subject=subject, cases=cases, notice=notice, inform_days=28, today=today) is held


def test_a_postponement_never_brings_the_informing_day_forward() -> None:
    assert inform_on(NoticeFact(DAY, postponed_until=DAY), inform_days=28) == DAY + dt.timedelta(days=28)
    assert inform_on(NoticeFact(DAY), inform_days=7) == DAY + dt.timedelta(days=7)


SECTOR_OF = {
    "veilig-thuis-rr": "veilig_thuis",
    "veilig-thuis-haaglanden": "veilig_thuis",
    "politie-rotterdam": "police",
    "slachtofferhulp": "victim_support",
    "vrouwenopvang-rijnmond": "shelter",
    "gemeente-schiedam": "municipality",
    "nieuwe-opvang": "men_shelter",  # a sector nobody classified yet
}
STALKING = CaseFact(
    "CHGK-1",
    {MARK: frozenset({"suspect"}), SANNE: frozenset({"victim"})},
    organisations=frozenset(
        {"veilig-thuis-rr", "politie-rotterdam", "slachtofferhulp", "vrouwenopvang-rijnmond", "gemeente-schiedam"}
    ),
)
HOLDER_SECTORS = {
    "risk_assessment": frozenset({"veilig_thuis"}),
    "forensic_medical": frozenset({"forensic_medicine", "sexual_violence_centre"}),
    "victim_support": frozenset({"victim_support"}),
    "shelter_stay": frozenset({"shelter"}),
    "new_category": frozenset({"men_shelter"}),
}


def lens(*cases: CaseFact, subject: str = MARK) -> SuspectLens | None:
    return suspect_lens(subject=subject, cases=cases, sector_of=SECTOR_OF, holder_sectors=HOLDER_SECTORS)


def test_no_lens_for_someone_who_is_no_suspect() -> None:
    assert lens(STALKING, subject=SANNE) is None
    assert lens(VICTIM_ONLY) is None


@pytest.mark.parametrize(
    ("cases", "named"),
    [
        ([STALKING], {"veilig-thuis-rr", "politie-rotterdam"}),  # the chain of his case; not its victim side
        ([CaseFact("old", STALKING.roles, active=False, organisations=STALKING.organisations)], set()),
        (
            [CaseFact("x", {MARK: frozenset({"legal_representative"})}, organisations=STALKING.organisations), ALLEGED],
            set(),
        ),  # a case where he is no suspect names nobody
    ],
)
def test_who_may_be_named_to_a_suspect(cases: list[CaseFact], named: set[str]) -> None:
    found = lens(*cases)
    assert found is not None
    assert {slug for slug in SECTOR_OF if found.names(slug)} == named
    assert not found.names("veilig-thuis-haaglanden")  # another region: never
    assert not found.names(None)


def test_which_categories_a_suspect_reads_by_name() -> None:
    found = lens(STALKING)
    assert found is not None
    assert {c for c in HOLDER_SECTORS if found.describes(c)} == {"risk_assessment", "forensic_medical"}
    assert not found.describes("a_category_without_holders")


@pytest.mark.parametrize(
    ("purpose", "requester", "named"),
    [
        ("vt_safety_assessment", "veilig-thuis-rr", True),
        ("criminal_law", "politie-rotterdam", True),
        ("acute_danger", "politie-rotterdam", False),  # an emergency about her safety: never
        ("victim_support", "veilig-thuis-rr", False),
        ("vt_safety_assessment", "veilig-thuis-haaglanden", False),  # the purpose would name the sector again
        ("a_new_purpose", "politie-rotterdam", False),
    ],
)
def test_which_purposes_a_suspect_reads(purpose: str, requester: str, named: bool) -> None:
    found = lens(STALKING)
    assert found is not None
    assert found.names_purpose(purpose=purpose, requester=requester) is named


@pytest.mark.parametrize(
    ("requester", "kind", "emergency_only", "emergency_access", "shown"),
    [
        ("politie-rotterdam", "public_task", False, False, True),
        ("politie-rotterdam", "vital_interest", False, False, False),
        ("politie-rotterdam", "secrecy_override", False, False, False),
        ("politie-rotterdam", "public_task", True, False, False),
        ("politie-rotterdam", "public_task", False, True, False),
        ("slachtofferhulp", "public_task", False, False, False),
    ],
)
def test_which_legal_bases_a_suspect_reads(
    requester: str, kind: str, emergency_only: bool, emergency_access: bool, shown: bool
) -> None:
    found = lens(STALKING)
    assert found is not None
    assert (
        found.shows_basis(
            requester=requester, basis_kind=kind, emergency_only=emergency_only, emergency_access=emergency_access
        )
        is shown
    )


def test_every_sector_and_purpose_of_the_demo_world_is_classified() -> None:
    """The general guard: a sector or purpose added to the world must be placed knowingly (an unplaced one is
    treated as the victim's side, which is safe but hides it)."""
    from demo import world

    sets = (CASE_CHAIN_SECTORS, VICTIM_SIDE_SECTORS, OTHER_SECTORS)
    for sector in world.SECTORS:
        assert sum(sector.code in s for s in sets) == 1, sector.code
    assert set().union(*sets) == {s.code for s in world.SECTORS}
    purposes = {p.code for p in world.PURPOSES}
    assert purposes >= NAMED_PURPOSES
    # Feedback to a reporter stays neutral: to a suspect it would say that someone reported him.
    assert purposes - NAMED_PURPOSES == {"acute_danger", "victim_support", "report_feedback"}


def test_a_category_only_the_victims_side_receives_is_not_described() -> None:
    """Held by the police but given only to victim support ("incidents concerning the victim"): its name would say
    that victim support asked about him, so it reads as an undescribed category. Found by the suspect sweep when
    the catalogue of issue 11 added the category."""
    holders = {**HOLDER_SECTORS, "victim_incidents": frozenset({"police"}), "police_incidents": frozenset({"police"})}
    recipients = {
        "victim_incidents": frozenset({"victim_support"}),
        "police_incidents": frozenset({"veilig_thuis", "victim_support"}),
        "risk_assessment": frozenset({"police"}),
    }
    found = suspect_lens(
        subject=MARK, cases=[STALKING], sector_of=SECTOR_OF, holder_sectors=holders, recipient_sectors=recipients
    )
    assert found is not None
    assert "victim_incidents" not in found.described
    assert {"police_incidents", "risk_assessment"} <= found.described
    assert "forensic_medical" not in found.described  # no rule gives it outside the victim's side
