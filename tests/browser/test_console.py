"""The privacy console in headless Chromium, as an officer meets it: log in, search by organisation, open an entry
and see it proven in the signed trail, settle an emergency review; and the two-step login's enrolment. Nothing is
loaded from elsewhere."""

from __future__ import annotations

import re
from base64 import b32decode
from typing import Any

from django_otp.oath import TOTP
from playwright.sync_api import expect

from audit.checkpoints import checkpoint_create
from gateway.models import EmergencyReview
from tests.browser.conftest import login, save_screenshot

MARK, SANNE = "999990019", "999990007"
CASE_1 = "CHGK-RR-2026-0001"
EMERGENCY = {
    "subject": {"bsn": MARK},
    "categories": ["risk_assessment"],
    "purpose": "acute_danger",
    "emergency": True,
    "justification": "Sanne called: Mark is outside the shelter with a knife, police are on their way.",
}


def watch_hosts(page: Any, server_url: str) -> list[str]:
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server_url) else elsewhere.append(r.url))
    return elsewhere


def every_input_labelled(page: Any) -> bool:
    return bool(
        page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]"
            ".every(el => el.labels && el.labels.length > 0)"
        )
    )


def console_login(page: Any, server_url: str, username: str = "privacy") -> None:
    login(page, server_url, username, path="/privacy/login/")


def test_an_officer_searches_by_organisation_and_sees_an_entry_proven(
    page: Any, server_url: str, partner: Any, gnupg_home: Any, settings: Any
) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    partner("veilig-thuis-rr").ask(
        subject={"bsn": MARK},
        categories=["police_incidents", "house_ban"],
        purpose="vt_safety_assessment",
        case_reference=CASE_1,
    )
    asked = (
        partner("politie-rotterdam")
        .ask(subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1)
        .json()
    )
    index = asked["audit"]["index"]
    assert checkpoint_create() is not None

    elsewhere = watch_hosts(page, server_url)
    console_login(page, server_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Search the audit trail")
    assert every_input_labelled(page)

    page.get_by_label("Organisation (asked or held)").fill("politie-rotterdam")
    page.get_by_label("Kind").select_option("request")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"organisation=politie-rotterdam"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)  # the police asked once and held once
    expect(rows.first).to_contain_text("politie-rotterdam")
    expect(page.get_by_role("link", name=f"Entry {index}")).to_be_visible()
    save_screenshot(page, "console-search-by-organisation")

    page.get_by_role("link", name=f"Entry {index}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Entry #{index}")
    expect(page.get_by_text("✓ proven")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("BRP_3_3")  # the police's BRP authorisation (issue 11)
    expect(main).to_contain_text("gemeente-rotterdam")
    expect(main).not_to_contain_text(SANNE)
    shot = save_screenshot(page, "console-entry-proven")
    assert shot.stat().st_size > 20_000
    assert elsewhere == []


def test_an_officer_settles_an_emergency_review(page: Any, server_url: str, partner: Any, settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    on_time = partner("slachtofferhulp").ask(**EMERGENCY).json()
    settings.GATEWAY_REVIEW_DAYS = -1
    late = partner("slachtofferhulp").ask(**EMERGENCY).json()

    console_login(page, server_url)
    page.get_by_role("link", name="Emergency reviews").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency reviews")
    items = page.locator("article")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Overdue")  # overdue first, in words as well as in colour
    expect(items.first).to_contain_text(late["id"])
    expect(items.nth(1)).to_contain_text(on_time["id"])
    expect(items.nth(1)).not_to_contain_text("Overdue")
    assert every_input_labelled(page)
    save_screenshot(page, "console-reviews-open")

    item = items.filter(has_text=late["id"])
    item.get_by_label("Justified", exact=True).check()
    item.get_by_label("Note (why)").fill("Acute threat confirmed by the police report; access was needed.")
    with page.expect_navigation():
        item.get_by_role("button", name="Record verdict").click()
    expect(page.get_by_role("status")).to_contain_text("recorded in the audit trail")
    expect(page.locator("article")).to_have_count(1)
    decided = page.locator("table tbody tr").filter(has_text=late["id"])
    expect(decided).to_contain_text("Justified")
    expect(decided).to_contain_text("late")
    save_screenshot(page, "console-review-settled")
    review = EmergencyReview.objects.get(request_id=late["id"])
    assert review.status == "justified" and review.reviewer == "privacy"


def test_two_step_login_enrols_an_authenticator(page: Any, server_url: str, settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    elsewhere = watch_hosts(page, server_url)
    console_login(page, server_url, "privacy-vt")
    expect(page).to_have_url(re.compile(r"/privacy/login/otp/setup/"))
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert every_input_labelled(page)
    save_screenshot(page, "console-otp-setup")

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    code = TOTP(b32decode(secret)).token()
    page.get_by_label("Code from your authenticator app").fill(f"{code:06d}")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search the audit trail")
    expect(page.locator("header")).to_contain_text("Veilig Thuis")
    assert elsewhere == []


def test_a_scoped_officer_meets_a_not_found_outside_its_organisation(
    page: Any, server_url: str, partner: Any, settings: Any
) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    body = (
        partner("gemeente-rotterdam")
        .ask(
            subject={"bsn": "999990044"},
            categories=["health_summary"],
            purpose="care_coordination",
            case_reference="CHGK-RR-2026-0002",
            providers={"health_summary": "ggz-rijnmond"},
        )
        .json()
    )
    console_login(page, server_url, "privacy-vt")
    response = page.goto(f"{server_url}/privacy/entries/{body['audit']['index']}/")
    assert response is not None and response.status == 404


def test_an_officer_exports_a_signed_selection(
    page: Any, server_url: str, partner: Any, gnupg_home: Any, settings: Any, tmp_path: Any
) -> None:
    import subprocess
    import zipfile

    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False
    partner("veilig-thuis-rr").ask(
        subject={"bsn": MARK}, categories=["police_incidents"], purpose="vt_safety_assessment", case_reference=CASE_1
    )
    assert checkpoint_create() is not None
    console_login(page, server_url)
    page.goto(f"{server_url}/privacy/oversight/")
    expect(page.get_by_role("heading", name="Export a selection")).to_be_visible()
    save_screenshot(page, "console-oversight")
    page.get_by_label("Format").select_option("csv")
    with page.expect_download() as download_info:
        page.locator("form[action$='/privacy/export/'] button[type=submit]").click()
    archive = tmp_path / "export.zip"
    download_info.value.save_as(archive)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        zipped.extractall(tmp_path / "x")
    data = next(n for n in names if n.endswith(".csv"))
    assert f"{data}.asc" in names
    home = tmp_path / "verify"
    home.mkdir(mode=0o700)
    key = next(n for n in names if n.endswith("public-key.asc"))
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run([*gpg, "--import", str(tmp_path / "x" / key)], check=True, capture_output=True)
    verified = subprocess.run(
        [*gpg, "--verify", str(tmp_path / "x" / f"{data}.asc"), str(tmp_path / "x" / data)], capture_output=True
    )
    assert verified.returncode == 0, verified.stderr
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)
