"""The privacy officers' console (issue #6): two-factor login, search of the trail, an entry with its proof, the
emergency review queue, the scope of an organisation's officer, and the console's own audit entries.

The trail is built through the partner API on the demo world; the officers are the seeded ``privacy`` (network)
and ``privacy-vt`` (Veilig Thuis Rotterdam-Rijnmond only).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.checkpoints import checkpoint_create
from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append
from audit.models import AuditEntry, AuditFacet, AuditHead
from audit.pseudonym import subject_pseudonym
from gateway.models import EmergencyReview

MARK, SANNE, LOTTE, FATIMA = "999990019", "999990007", "999990032", "999990044"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"
PASSWORD = "veilig-delen-demo"
VT = "veilig-thuis-rr"
EMERGENCY = {
    "subject": {"bsn": MARK},
    "categories": ["risk_assessment"],
    "purpose": "acute_danger",
    "emergency": True,
    "justification": "Mark was seen outside the shelter with a weapon; act now.",
}


@dataclass
class Trail:
    """The entries a test wrote, by name; ``start`` is the first index written by the test itself."""

    start: int
    names: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.names[name]

    def indices(self, *names: str) -> set[int]:
        return {self.names[n] for n in names}


@pytest.fixture(autouse=True)
def demo_mode(settings: Any, db: Any) -> None:
    """Every test uses the database; most run as in the demo (no second factor), the two-factor tests switch it on
    themselves."""
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False


@pytest.fixture
def trail(partner: Any) -> Trail:
    """Requests of several organisations, an emergency access, a denial and a dry run; with their tokens."""
    start = AuditHead.objects.get(pk=1).size
    vt = partner(VT)
    police = partner("politie-rotterdam")
    municipality = partner("gemeente-rotterdam")
    victim_support = partner("slachtofferhulp")
    housing = partner("woonstad-maasstad")

    def index(response: Any) -> int:
        assert response.status_code in (200, 202), response.content
        return int(response.json()["audit"]["index"])

    names = {
        # VT asks the police: VT asked, the police held
        "vt_police": index(
            vt.ask(
                subject={"bsn": MARK},
                categories=["police_incidents", "house_ban"],
                purpose="vt_safety_assessment",
                case_reference=CASE_1,
            )
        ),
        # a reporting right: pending at the school
        "vt_school": index(
            vt.ask(
                subject={"bsn": LOTTE},
                categories=["school_attendance"],
                purpose="vt_safety_assessment",
                providers={"school_attendance": "school-regenboog"},
            )
        ),
        # explicit consent
        "municipality_health": index(
            municipality.ask(
                subject={"bsn": FATIMA},
                categories=["health_summary"],
                purpose="care_coordination",
                case_reference=CASE_2,
                providers={"health_summary": "ggz-rijnmond"},
            )
        ),
        # the police asks the municipality (VT neither asked nor held)
        "police_address": index(
            police.ask(
                subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1
            )
        ),
        # emergency access to VT's risk assessment
        "emergency": index(victim_support.ask(**EMERGENCY)),
        # an outsider is denied
        "housing_denied": index(
            housing.ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting")
        ),
        # the police asks VT (denied, but VT held)
        "police_vt_denied": index(
            police.ask(
                subject={"bsn": MARK}, categories=["risk_assessment"], purpose="zvh_case_meeting", case_reference=CASE_1
            )
        ),
        # a dry run
        "vt_check": index(
            vt.post(
                "/api/v1/decisions",
                {
                    "subject": {"bsn": MARK},
                    "categories": ["police_incidents"],
                    "purpose": "vt_safety_assessment",
                    "case_reference": CASE_1,
                },
            )
        ),
    }
    for entry in AuditEntry.objects.filter(index__gte=start, kind="token"):
        names[f"token:{entry.organisation}"] = entry.index
    return Trail(start, names)


def officer(username: str = "privacy") -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def found(client: Client, **filters: Any) -> list[int]:
    """The indices a search finds. A search for a person posts the BSN and follows the redirect, whose address
    carries the pseudonym only, as the console's own form does."""
    if "bsn" in filters:
        posted = client.post("/privacy/", filters)
        assert posted.status_code == 303, posted.content[:2000]
        assert filters["bsn"] not in posted["Location"] and "bsn" not in posted["Location"]
        assert f"subject={subject_pseudonym(filters['bsn'])}" in posted["Location"]
        response = client.get(posted["Location"])
    else:
        response = client.get("/privacy/", filters)
    assert response.status_code == 200, response.content[:2000]
    return [row.index for row in response.context["rows"]]


def involves(index: int, slug: str) -> bool:
    return AuditFacet.objects.filter(entry_id=index, key__in=["requester", "holder"], value=slug).exists()


def console_views() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(kind="console_view").order_by("index"))


TODAY = "today"
YESTERDAY = "yesterday"

# filter → the entries of the test's own trail that it finds (``token:<org>``: the token issued to that org)
FILTER_TABLE: list[tuple[dict[str, str], set[str]]] = [
    (
        {},
        {
            "vt_police",
            "vt_school",
            "municipality_health",
            "police_address",
            "emergency",
            "housing_denied",
            "police_vt_denied",
            "vt_check",
            "token:veilig-thuis-rr",
            "token:politie-rotterdam",
            "token:gemeente-rotterdam",
            "token:slachtofferhulp",
            "token:woonstad-maasstad",
        },
    ),
    (
        {"organisation": VT},
        {"vt_police", "vt_school", "emergency", "police_vt_denied", "vt_check", "token:veilig-thuis-rr"},
    ),
    ({"requester": "politie-rotterdam"}, {"police_address", "police_vt_denied", "token:politie-rotterdam"}),
    ({"holder": "politie-rotterdam"}, {"vt_police", "vt_check"}),
    ({"holder": "gemeente-rotterdam"}, {"police_address", "housing_denied"}),
    ({"holder": VT}, {"emergency", "police_vt_denied"}),
    ({"requester": "politie-rotterdam", "holder": VT}, {"police_vt_denied"}),
    ({"bsn": MARK}, {"vt_police", "emergency", "police_vt_denied", "vt_check"}),
    ({"bsn": SANNE}, {"police_address", "housing_denied"}),
    ({"category": "address"}, {"police_address", "housing_denied"}),
    ({"category": "police_incidents"}, {"vt_police", "vt_check"}),
    ({"purpose": "acute_danger"}, {"emergency"}),
    ({"purpose": "zvh_case_meeting"}, {"police_address", "housing_denied", "police_vt_denied"}),
    ({"legal_basis": "BRP_3_3"}, {"police_address"}),  # the BRP authorisation (issue 11), no longer the Wgs
    ({"legal_basis": "AVG_9_2_A"}, {"municipality_health"}),
    ({"legal_basis": "WPG_20"}, {"vt_police", "vt_check"}),
    ({"outcome": "released"}, {"vt_police", "municipality_health", "police_address", "vt_check"}),
    ({"outcome": "pending"}, {"vt_school", "emergency"}),  # the emergency waits in VT's urgent lane (issue 11)
    ({"outcome": "denied"}, {"housing_denied", "police_vt_denied"}),
    ({"outcome": "deny"}, {"housing_denied", "police_vt_denied"}),
    ({"outcome": "permit"}, {"vt_police", "municipality_health", "police_address", "vt_check"}),
    ({"emergency": "yes"}, {"emergency"}),
    ({"kind": "check"}, {"vt_check"}),
    (
        {"kind": "request"},
        {
            "vt_police",
            "vt_school",
            "municipality_health",
            "police_address",
            "emergency",
            "housing_denied",
            "police_vt_denied",
        },
    ),
    (
        {"kind": "token"},
        {
            "token:veilig-thuis-rr",
            "token:politie-rotterdam",
            "token:gemeente-rotterdam",
            "token:slachtofferhulp",
            "token:woonstad-maasstad",
        },
    ),
    ({"organisation": VT, "outcome": "released"}, {"vt_police", "vt_check"}),
    ({"kind": "request", "date_from": TODAY, "date_to": TODAY, "purpose": "acute_danger"}, {"emergency"}),
    ({"kind": "request", "date_to": YESTERDAY}, set()),
    ({"category": "address", "emergency": "no"}, {"police_address", "housing_denied"}),
]


def dated(filters: dict[str, str]) -> dict[str, str]:
    today = timezone.localdate()
    days = {TODAY: today, YESTERDAY: today - dt.timedelta(days=1)}
    return {k: (days[v].isoformat() if v in days else v) for k, v in filters.items()}


# --- Search --------------------------------------------------------------------------------------------------


def test_each_filter_finds_exactly_the_expected_entries(trail: Trail) -> None:
    client = officer("privacy")
    for filters, expected in FILTER_TABLE:
        results = found(client, **dated(filters))
        own = {
            i
            for i in results
            if i >= trail.start and AuditEntry.objects.get(index=i).kind not in {"console_view", "intent", "api_view"}
        }
        assert own == trail.indices(*expected), filters
        assert results == sorted(results, reverse=True), "newest first"


def test_the_person_filter_turns_the_bsn_into_the_pseudonym_and_never_records_it(trail: Trail) -> None:
    client = officer("privacy")
    results = found(client, bsn=MARK)
    assert {i for i in results if i >= trail.start} >= trail.indices("vt_police", "emergency", "vt_check")
    assert {AuditEntry.objects.get(index=i).subject for i in results} == {subject_pseudonym(MARK)}
    client.get(f"/privacy/entries/{trail['emergency']}/")
    views = console_views()
    assert len(views) == 2
    assert views[0].detail["filters"] == {"subject": subject_pseudonym(MARK)}
    assert views[0].subject == subject_pseudonym(MARK)
    for view in views:
        assert MARK not in view.leaf
        assert "bsn" not in view.leaf


def test_the_table_shows_who_asked_who_held_and_what(trail: Trail) -> None:
    response = officer("privacy").get("/privacy/", {"kind": "request", "purpose": "acute_danger"})
    html = response.content.decode()
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.index == trail["emergency"] and row.requester == "slachtofferhulp"
    assert row.holders == [VT] and row.categories == [("risk_assessment", "pending")]  # VT weighs (issue 11)
    assert row.emergency and row.outcome == "pending"
    assert f'href="/privacy/entries/{trail["emergency"]}/"' in html
    assert "yes, emergency" in html
    assert html.count('scope="col"') == 9


def test_results_come_in_pages_of_fifty(db: Any) -> None:
    with transaction.atomic():
        extra = [
            audit_append(EntryDraft(kind="token", actor=Actor(organisation="zvh-rr"), outcome="issued")).index
            for _ in range(70)
        ]
    client = officer("privacy")
    first = client.get("/privacy/", {"organisation": "zvh-rr"})
    assert first.status_code == 200
    page_one = [row.index for row in first.context["rows"]]
    assert len(page_one) == 50 and page_one == sorted(extra, reverse=True)[:50]
    older = first.context["older_query"]
    assert f"before={page_one[-1]}" in older and "organisation=zvh-rr" in older
    second = client.get(f"/privacy/?{older}")
    page_two = [row.index for row in second.context["rows"]]
    assert page_two == sorted(extra, reverse=True)[50:]
    assert "older_query" not in second.context
    assert len(console_views()) == 2
    assert console_views()[1].detail == {"filters": {"organisation": "zvh-rr", "before": page_one[-1]}, "results": 20}


@pytest.mark.parametrize(
    "query",
    [
        {"subject": "not-a-pseudonym"},
        {"subject": "A" * 64},
        {"date_from": "2026-13-45"},
        {"date_to": "yesterday"},
        {"date_from": "2026-03-02", "date_to": "2026-03-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"kind": "gossip"},
        {"outcome": "maybe"},
        {"emergency": "perhaps"},
        {"organisation": "not a slug!"},
        {"category": "x" * 500},
        {"before": str(10**30)},
        {"before": "-1"},
        {"before": "0"},
        {"before": "ten"},
    ],
)
def test_malformed_filters_give_the_form_with_errors_never_a_server_error(query: dict[str, str]) -> None:
    response = officer("privacy").get("/privacy/", query)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert b'role="alert"' in response.content
    assert console_views() == []  # nothing shown, nothing to record


@pytest.mark.parametrize(
    "query",
    [
        {"bsn": "123456789"},  # fails the eleven test
        {"bsn": "12345"},
        {"bsn": "9999900190"},
        {"bsn": "99999\x00019"},
        {"bsn": MARK, "date_from": "2026-13-45"},
    ],
)
def test_a_malformed_person_search_gives_the_form_with_errors_and_no_redirect(query: dict[str, str]) -> None:
    response = officer("privacy").post("/privacy/", query)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert console_views() == []


# --- No BSN in an address (issue #9, item 8) --------------------------------------------------------------------


def test_a_person_search_is_posted_and_the_address_carries_only_the_pseudonym(trail: Trail) -> None:
    client = officer("privacy")
    posted = client.post("/privacy/", {"bsn": MARK, "kind": "request"})
    assert posted.status_code == 303
    location = posted["Location"]
    assert MARK not in location and "bsn" not in location
    assert location.startswith("/privacy/?") and f"subject={subject_pseudonym(MARK)}" in location
    assert console_views() == []  # the post only redirects; the page that shows entries is recorded
    page = client.get(location)
    html = page.content.decode()
    assert page.status_code == 200 and MARK not in html
    assert {i for i in (row.index for row in page.context["rows"]) if i >= trail.start} == trail.indices(
        "vt_police", "emergency", "police_vt_denied"
    )
    assert 'method="post"' in html and 'name="subject"' in html and "Show every person" in html
    (view,) = console_views()
    assert view.detail["filters"] == {"kind": "request", "subject": subject_pseudonym(MARK)}


def test_a_bsn_in_the_address_is_refused_and_not_used(trail: Trail) -> None:
    response = officer("privacy").get("/privacy/", {"bsn": MARK})
    assert response.status_code == 400
    assert "never put in a page address" in response.content.decode()
    assert "rows" not in response.context or response.context["rows"] is None
    assert console_views() == []


def test_the_pages_of_a_person_search_carry_the_pseudonym_not_the_bsn(db: Any) -> None:
    with transaction.atomic():
        for _ in range(55):
            audit_append(EntryDraft(kind="portal_view", actor=Actor(user="mark"), subject=subject_pseudonym(MARK)))
    client = officer("privacy")
    first = client.get(client.post("/privacy/", {"bsn": MARK, "kind": "portal_view"})["Location"])
    older = first.context["older_query"]
    assert f"subject={subject_pseudonym(MARK)}" in older and MARK not in older and "bsn" not in older
    second = client.get(f"/privacy/?{older}")
    assert second.status_code == 200 and len(second.context["rows"]) >= 5
    assert f"subject={subject_pseudonym(MARK)}" in second.context["newest_query"]


# --- One entry -----------------------------------------------------------------------------------------------


def test_an_entry_shows_the_whole_decision_and_is_proven_once_checkpointed(trail: Trail, gnupg_home: Any) -> None:
    client = officer("privacy")
    index = trail["vt_police"]
    entry = AuditEntry.objects.get(index=index)
    response = client.get(f"/privacy/entries/{index}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["proof"].status == "pending"
    assert "not yet in a checkpoint" in html
    decision = entry.decisions[0]
    for text in (
        decision["rule"],
        f"version {decision['rule_version']}",
        "WPG_20",
        "politie-rotterdam",
        decision["payload_sha256"],
        ", ".join(decision["fields"]),
        entry.subject,
        CASE_1,
        "vt_safety_assessment",
        entry.leaf_hash,
    ):
        assert str(text) in html, text
    assert entry.leaf.replace('"', "&quot;") in html  # the leaf bytes, as stored
    assert MARK not in html

    checkpoint = checkpoint_create()
    assert checkpoint is not None and checkpoint.tree_size > index
    response = client.get(f"/privacy/entries/{index}/")
    proof = response.context["proof"]
    assert proof.status == "proven" and proof.checkpoint == checkpoint and proof.proof
    assert "✓ proven" in response.content.decode()
    view = console_views()[-1]
    assert view.reference == str(index) and view.outcome == "entry" and view.subject == entry.subject


def test_an_entry_with_consent_names_the_consent(trail: Trail) -> None:
    entry = AuditEntry.objects.get(index=trail["municipality_health"])
    consent = entry.decisions[0]["consent"]
    assert isinstance(consent, int)
    response = officer("privacy").get(f"/privacy/entries/{entry.index}/")
    assert response.context["decisions"][0]["consent"] == consent
    assert "AVG_9_2_A" in response.content.decode()


def test_unknown_entries_are_not_found() -> None:
    client = officer("privacy")
    size = AuditHead.objects.get(pk=1).size
    for path in (f"/privacy/entries/{size + 10}/", f"/privacy/entries/{10**30}/", "/privacy/entries/-1/"):
        assert client.get(path).status_code == 404
    assert console_views() == []


# --- The console is audited ---------------------------------------------------------------------------------


def test_a_search_and_an_entry_view_each_write_exactly_one_console_view(trail: Trail) -> None:
    client = officer("privacy-vt")
    before = AuditHead.objects.get(pk=1).size
    results = found(client, category="risk_assessment")
    views = console_views()
    assert len(views) == 1 and AuditHead.objects.get(pk=1).size == before + 1
    (search,) = views
    assert search.user == "privacy-vt" and search.organisation == VT
    assert search.outcome == "search"
    assert search.detail == {"filters": {"category": "risk_assessment"}, "results": len(results)}

    assert client.get(f"/privacy/entries/{trail['emergency']}/").status_code == 200
    views = console_views()
    assert len(views) == 2
    view = views[1]
    assert view.user == "privacy-vt" and view.organisation == VT and view.outcome == "entry"
    assert view.reference == str(trail["emergency"])

    found(officer("privacy"))  # the plain page counts as a search too
    network = console_views()[-1]
    assert network.user == "privacy" and network.organisation is None and network.detail["filters"] == {}


def test_nothing_is_shown_when_the_view_cannot_be_recorded(trail: Trail, monkeypatch: Any) -> None:
    def refuse(draft: EntryDraft) -> AuditEntry:
        raise AuditWriteError("the audit trail is unavailable")

    monkeypatch.setattr("console.views.audit_append", refuse)
    client = officer("privacy")
    search = client.get("/privacy/", {"organisation": VT})
    assert search.status_code == 503 and "rows" not in search.context
    entry = client.get(f"/privacy/entries/{trail['vt_police']}/")
    assert entry.status_code == 503 and "entry" not in entry.context
    assert b"could not be recorded" in entry.content
    assert console_views() == []


# --- An organisation's officer sees only its part of the trail ----------------------------------------------


def test_a_scoped_officer_sees_only_its_own_organisation_through_every_filter(trail: Trail) -> None:
    network, scoped = officer("privacy"), officer("privacy-vt")
    for filters, _expected in FILTER_TABLE:
        query = dated(filters)
        mine = found(scoped, **query)
        cutoff = console_views()[-1].index  # the scoped search's own entry: the network search comes after it
        everything = found(network, **query)
        assert all(involves(i, VT) for i in mine), filters
        assert {i for i in mine if i >= trail.start} == {
            i for i in everything if trail.start <= i < cutoff and involves(i, VT)
        }, filters
    assert {i for i in found(scoped, requester="politie-rotterdam") if i >= trail.start} == {trail["police_vt_denied"]}
    assert {i for i in found(scoped, requester="gemeente-rotterdam") if i >= trail.start} == set()
    sanne = found(scoped, bsn=SANNE)  # only the officer's own earlier search for her (a console_view of VT)
    assert all(e.kind == "console_view" and e.user == "privacy-vt" for e in AuditEntry.objects.filter(index__in=sanne))
    assert found(scoped, kind="config") == []
    assert found(network, kind="config")  # the seed's configuration changes, for the network officer


def test_a_scoped_officer_cannot_open_another_organisations_entry(trail: Trail) -> None:
    network, scoped = officer("privacy"), officer("privacy-vt")
    for name in ("municipality_health", "police_address", "housing_denied", "token:politie-rotterdam"):
        index = trail[name]
        assert network.get(f"/privacy/entries/{index}/").status_code == 200
        outside = scoped.get(f"/privacy/entries/{index}/")
        missing = scoped.get(f"/privacy/entries/{10**9}/")
        assert outside.status_code == missing.status_code == 404
        assert outside.content == missing.content  # the same answer as for an entry that does not exist
    config = AuditEntry.objects.filter(kind="config").first()
    assert config is not None and scoped.get(f"/privacy/entries/{config.index}/").status_code == 404
    for name in ("vt_police", "emergency", "police_vt_denied", "token:veilig-thuis-rr"):
        assert scoped.get(f"/privacy/entries/{trail[name]}/").status_code == 200


def test_a_scoped_officer_sees_only_its_own_organisations_emergency_reviews(partner: Any) -> None:
    body = partner("slachtofferhulp").ask(**EMERGENCY).json()
    review = EmergencyReview.objects.get(request_id=body["id"])
    assert body["id"] in officer("privacy").get("/privacy/reviews/").content.decode()
    scoped = officer("privacy-vt")
    assert body["id"] not in scoped.get("/privacy/reviews/").content.decode()
    response = scoped.post(
        f"/privacy/reviews/{review.pk}/",
        {f"review-{review.pk}-verdict": "justified", f"review-{review.pk}-note": "Looks fine."},
    )
    assert response.status_code == 404
    review.refresh_from_db()
    assert review.status == "open"


# --- Emergency reviews ---------------------------------------------------------------------------------------


def test_a_review_verdict_through_the_page_is_stored_and_audited(partner: Any) -> None:
    body = partner("slachtofferhulp").ask(**EMERGENCY).json()
    review = EmergencyReview.objects.get(request_id=body["id"])
    client = officer("privacy")
    page = client.get("/privacy/reviews/")
    html = page.content.decode()
    assert page.status_code == 200
    assert body["id"] in html and "act now" in html and "Overdue" not in html
    assert f'action="/privacy/reviews/{review.pk}/"' in html

    refused = client.post(f"/privacy/reviews/{review.pk}/", {f"review-{review.pk}-verdict": "justified"})
    assert refused.status_code == 400 and b"This field is required" in refused.content
    review.refresh_from_db()
    assert review.status == "open"

    response = client.post(
        f"/privacy/reviews/{review.pk}/",
        {f"review-{review.pk}-verdict": "not_justified", f"review-{review.pk}-note": "The threat was a week old."},
    )
    assert response.status_code == 302 and response["Location"] == "/privacy/reviews/"
    review.refresh_from_db()
    assert review.status == "not_justified" and review.reviewer == "privacy"
    assert review.verdict_note == "The threat was a week old."
    entry = AuditEntry.objects.filter(kind="review").latest("index")
    assert entry.reference == body["id"] and entry.outcome == "not_justified" and entry.user == "privacy"

    after = client.get("/privacy/reviews/")
    assert after.context["open_items"] == [] and [r.pk for r in after.context["decided"]] == [review.pk]
    assert "recorded in the audit trail" in after.content.decode()

    again = client.post(
        f"/privacy/reviews/{review.pk}/",
        {f"review-{review.pk}-verdict": "justified", f"review-{review.pk}-note": "Changed my mind."},
        follow=True,
    )
    assert "already" in again.content.decode()
    review.refresh_from_db()
    assert review.status == "not_justified"


def test_overdue_reviews_come_first_and_say_so(partner: Any, settings: Any) -> None:
    on_time = partner("slachtofferhulp").ask(**EMERGENCY).json()
    settings.GATEWAY_REVIEW_DAYS = -1
    late = partner("slachtofferhulp").ask(**EMERGENCY).json()
    response = officer("privacy").get("/privacy/reviews/")
    items = response.context["open_items"]
    assert [item["review"].request_id for item in items] == [late["id"], on_time["id"]]
    assert [item["overdue"] for item in items] == [True, False]
    html = response.content.decode()
    assert html.count('<span class="badge bad">⚠ Overdue</span>') == 1  # text and colour
    assert "of which 1 overdue" in html


def test_a_review_that_does_not_exist_is_not_found() -> None:
    client = officer("privacy")
    assert client.post(f"/privacy/reviews/{10**30}/", {}).status_code == 404
    assert client.post("/privacy/reviews/999999/", {}).status_code == 404
    assert client.get("/privacy/reviews/999999/").status_code == 405


# --- Login and two-factor authentication ---------------------------------------------------------------------


def token_now(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    valid = {token_now(device, offset) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in valid)


def password_login(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/privacy/login/?next=/privacy/reviews/", {"username": username, "password": password})


def test_outside_demo_mode_the_second_factor_is_required(settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # this test is about codes, not about waiting between them
    user = User.objects.get(username="privacy")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    response = password_login(client, "privacy")
    assert response.status_code == 302
    assert response["Location"] == "/privacy/login/otp/?next=%2Fprivacy%2Freviews%2F"
    for path in ("/privacy/", "/privacy/reviews/", f"/privacy/entries/{0}/"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked["Location"].startswith("/privacy/login/otp/"), path

    assert client.get("/privacy/login/otp/").status_code == 200
    refused = client.post("/privacy/login/otp/", {"token": wrong_token(device), "next": "/privacy/reviews/"})
    assert refused.status_code == 400 and b"not right" in refused.content
    assert client.get("/privacy/").status_code == 302
    assert client.post("/privacy/login/otp/", {"token": "abcdef"}).status_code == 400

    accepted = client.post("/privacy/login/otp/", {"token": token_now(device), "next": "/privacy/reviews/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/privacy/reviews/"
    assert client.get("/privacy/").status_code == 200
    assert client.get("/privacy/reviews/").status_code == 200
    # the same code cannot be used twice
    other = Client()
    password_login(other, "privacy")
    assert other.post("/privacy/login/otp/", {"token": token_now(device)}).status_code == 400


def test_wrong_codes_slow_the_next_attempt_down(settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    user = User.objects.get(username="privacy")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    password_login(client, "privacy")
    client.post("/privacy/login/otp/", {"token": wrong_token(device)})
    throttled = client.post("/privacy/login/otp/", {"token": token_now(device)})
    assert throttled.status_code == 400 and b"Too many wrong codes" in throttled.content
    assert client.get("/privacy/").status_code == 302


def test_an_officer_without_a_device_enrols_one(settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = Client()
    password_login(client, "privacy-vt")
    step = client.get("/privacy/login/otp/?next=/privacy/")
    assert step.status_code == 302 and step["Location"].startswith("/privacy/login/otp/setup/")
    setup = client.get(step["Location"])
    assert setup.status_code == 200
    html = setup.content.decode()
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "<img" not in html and "href" not in svg  # inline, nothing loaded from elsewhere
    device = TOTPDevice.objects.get(user__username="privacy-vt")
    assert not device.confirmed
    assert setup.context["secret"].replace(" ", "") in device.config_url
    assert client.get("/privacy/login/otp/setup/").context["device"] == device  # the same key on a reload

    refused = client.post("/privacy/login/otp/setup/", {"token": wrong_token(device), "next": "/privacy/"})
    assert refused.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    confirmed = client.post("/privacy/login/otp/setup/", {"token": token_now(device), "next": "/privacy/"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/privacy/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/privacy/").status_code == 200
    # with a device, enrolment is closed: the next login asks for a code from it
    later = Client()
    password_login(later, "privacy-vt")
    assert later.get("/privacy/login/otp/setup/")["Location"].startswith("/privacy/login/otp/?")


def test_in_demo_mode_the_password_is_enough() -> None:
    client = Client()
    response = password_login(client, "privacy")
    assert response.status_code == 302 and response["Location"] == "/privacy/reviews/"
    assert client.get("/privacy/").status_code == 200
    assert client.get("/privacy/login/otp/")["Location"] == "/privacy/"


def test_the_login_page_and_where_it_leads() -> None:
    client = Client()
    anonymous = client.get("/privacy/")
    assert anonymous.status_code == 302 and anonymous["Location"] == "/privacy/login/?next=/privacy/"
    page = client.get("/privacy/login/")
    assert page.status_code == 200 and b'<label for="id_username">' in page.content
    wrong = client.post("/privacy/login/", {"username": "privacy", "password": "not-the-password"})
    assert wrong.status_code == 200 and b'role="alert"' in wrong.content
    # a redirect elsewhere is ignored
    response = client.post("/privacy/login/?next=https://evil.example/", {"username": "privacy", "password": PASSWORD})
    assert response["Location"] == "/privacy/"
    response = client.post("/privacy/login/?next=/admin/", {"username": "privacy", "password": PASSWORD})
    assert response["Location"] == "/privacy/"
    assert client.get("/privacy/login/")["Location"] == "/privacy/"  # already logged in
    assert client.get("/privacy/logout/").status_code == 405
    out = client.post("/privacy/logout/")
    assert out.status_code == 302 and out["Location"] == "/privacy/login/"
    assert client.get("/privacy/").status_code == 302


def test_repeated_wrong_passwords_lock_the_login(settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/privacy/login/", {"username": "privacy", "password": "wrong-password-123"})
    locked = client.post("/privacy/login/", {"username": "privacy", "password": PASSWORD})
    assert locked.status_code == 429
    assert client.get("/privacy/").status_code == 302  # not logged in


@pytest.mark.parametrize("username", ["sanne", "admin"])
def test_a_user_who_is_not_an_officer_finds_nothing(username: str, settings: Any) -> None:
    for require in (False, True):
        settings.GATEWAY_CONSOLE_REQUIRE_2FA = require
        client = officer(username)
        for path in ("/privacy/", "/privacy/reviews/", "/privacy/entries/0/", "/privacy/login/otp/"):
            assert client.get(path).status_code == 404, (path, require)
        assert client.get("/privacy/login/otp/setup/").status_code == 404
        assert client.post("/privacy/reviews/1/", {}).status_code == 404
    assert TOTPDevice.objects.filter(user__username=username).count() == 0
    assert console_views() == []


def test_without_self_enrolment_an_officer_without_a_device_is_sent_to_an_administrator(settings: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    settings.GATEWAY_CONSOLE_SELF_ENROL = False
    client = Client()
    client.force_login(get_user_model().objects.get(username="privacy"))
    response = client.get("/privacy/login/otp/setup/")
    assert response.status_code == 403
    assert b"administrator" in response.content
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert not TOTPDevice.objects.filter(user__username="privacy").exists()
