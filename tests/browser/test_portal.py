"""The family portal in headless Chromium, as a parent on a phone meets it: log in, read, switch language,
withdraw a consent; at 360 px wide, without horizontal scrolling and without loading anything from elsewhere."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from django.utils import timezone
from playwright.sync_api import expect

from consent.models import Consent, Person
from tests.browser.conftest import login, save_screenshot

SANNE, MARK, DAAN, LOTTE, FATIMA, YOUSSEF = (
    "999990007",
    "999990019",
    "999990020",
    "999990032",
    "999990044",
    "999990056",
)


def watch_hosts(page: Any, server_url: str) -> list[str]:
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server_url) else elsewhere.append(r.url))
    return elsewhere


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_parent_reads_on_a_phone_and_switches_language(phone_page: Any, server_url: str, partner: Any) -> None:
    body = (
        partner("zvh-rr")
        .ask(
            subject={"bsn": SANNE},
            categories=["victim_support"],
            purpose="zvh_case_meeting",
            case_reference="CHGK-RR-2026-0001",
        )
        .json()
    )
    partner("veilig-thuis-rr").ask(
        subject={"bsn": LOTTE},
        categories=["school_attendance"],
        purpose="vt_safety_assessment",
        providers={"school_attendance": "school-regenboog"},
    )
    page = phone_page
    elsewhere = watch_hosts(page, server_url)
    login(page, server_url, "sanne")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sanne")
    expect(page.get_by_role("link", name=re.compile("Daan"))).to_be_visible()
    no_horizontal_scroll(page)

    page.get_by_role("link", name=re.compile("Over u|About you")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("gedeeld")
    entry = page.get_by_role("listitem").filter(has_text="Zorg- en Veiligheidshuis")
    expect(entry).to_contain_text("Gedeeld")
    no_horizontal_scroll(page)
    shot = save_screenshot(page, "portal-timeline-phone-nl")
    assert shot.stat().st_size > 20_000

    entry.get_by_role("link", name=re.compile("Meer hierover|More about this")).click()
    expect(page).to_have_url(re.compile(f"/entry/{body['id']}/$"))
    expect(page.locator("main")).to_contain_text("Slachtofferhulp Nederland")
    no_horizontal_scroll(page)

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Nederlands")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Who asked")
    save_screenshot(page, "portal-entry-phone-en")
    no_horizontal_scroll(page)
    assert elsewhere == []


def test_withdraw_a_consent_with_one_confirmation(phone_page: Any, server_url: str) -> None:
    consent = Consent.objects.get(subject_bsn=FATIMA, status="active")
    page = phone_page
    login(page, server_url, "fatima")
    page.get_by_role("link", name=re.compile("^Toestemmingen$")).first.click()
    page.get_by_role("link", name=re.compile("Toestemming intrekken")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("intrekken")
    consent.refresh_from_db()
    assert consent.status == "active"
    no_horizontal_scroll(page)
    save_screenshot(page, "portal-withdraw-confirm-phone-nl")
    page.get_by_role("button", name=re.compile("Ja")).click()
    expect(page.get_by_role("status")).to_be_visible()
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_a_parent_checks_a_consent_recorded_in_his_name_on_a_phone(
    phone_page: Any, server_url: str, partner: Any
) -> None:
    """Issue "leaks", item 2: an organisation's word is confirmed by the family in the portal."""
    recorded = partner("gemeente-rotterdam").post(
        "/api/v1/consents",
        {
            "subject": {"bsn": YOUSSEF},
            "given_by": [{"bsn": YOUSSEF, "capacity": "self"}],
            "explicit": True,
            "purposes": ["care_coordination"],
            "recipients": ["gemeente-rotterdam"],
            "categories": ["health_summary"],
            "case_reference": "CHGK-RR-2026-0002",
            "valid_from": timezone.localdate().isoformat(),
            "valid_until": (timezone.localdate() + dt.timedelta(days=180)).isoformat(),
            "evidence": "Said so at the kitchen table (browser test).",
        },
    )
    assert recorded.status_code == 201, recorded.content
    consent = Consent.objects.get(pk=recorded.json()["id"])
    page = phone_page
    login(page, server_url, "youssef")
    page.get_by_role("link", name=re.compile("^Toestemmingen$")).first.click()
    page.get_by_role("link", name=re.compile("Controleer deze toestemming")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Heeft u deze toestemming gegeven?")
    expect(page.locator("main")).to_contain_text("Gemeente Rotterdam")
    no_horizontal_scroll(page)
    save_screenshot(page, "portal-consent-check-phone-nl")
    page.get_by_role("button", name=re.compile("Ja, deze toestemming heb ik gegeven")).click()
    expect(page.get_by_role("status")).to_contain_text("bevestigd")
    consent.refresh_from_db()
    assert consent.status == "active"
    no_horizontal_scroll(page)


def test_the_keyboard_reaches_everything_and_the_skip_link_comes_first(page: Any, server_url: str) -> None:
    login(page, server_url, "sanne")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    labels_ok = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]"
        ".every(el => el.labels && el.labels.length > 0)"
    )
    assert labels_ok


def test_a_suspect_sees_no_one_else(page: Any, server_url: str) -> None:
    login(page, server_url, "mark")
    links = page.locator("main a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    own = f"/portal/person/{Person.objects.get(bsn='999990019').pk}/"
    assert [href for href in links if href.startswith("/portal/person/")] == [own]
    for bsn in (SANNE, DAAN, LOTTE):
        response = page.goto(f"{server_url}/portal/person/{Person.objects.get(bsn=bsn).pk}/")
        assert response is not None and response.status == 404  # the same as for a person who does not exist
    missing = page.goto(f"{server_url}/portal/person/999999/")
    assert missing is not None and missing.status == 404


def test_a_suspect_reads_what_waits_and_never_the_victims_side(phone_page: Any, server_url: str, partner: Any) -> None:
    """Scenario 12 on a phone: victim support's emergency request about Mark is first only counted and dated;
    once Veilig Thuis clears it he reads it, without victim support, the emergency or the hour."""
    body = (
        partner("slachtofferhulp")
        .ask(
            subject={"bsn": MARK},
            categories=["risk_assessment"],
            purpose="acute_danger",
            emergency=True,
            justification="Sanne reported that Mark was seen near her workplace tonight; safety plan needed now.",
        )
        .json()
    )
    page = phone_page
    login(page, server_url, "mark")
    page.get_by_role("link", name=re.compile("Over u|About you")).click()
    expect(page.get_by_role("note")).to_contain_text("1 onderdeel")
    expect(page.locator("main")).not_to_contain_text("Slachtofferhulp")
    no_horizontal_scroll(page)
    save_screenshot(page, "portal-suspect-waiting-phone-nl")

    cleared = partner("veilig-thuis-rr", "provider").post(f"/api/v1/holder/notices/{body['id']}", {"action": "clear"})
    assert cleared.status_code == 200
    page.reload()
    entry = page.get_by_role("listitem").filter(has_text="Een organisatie in het netwerk")
    expect(entry).to_be_visible()
    entry.get_by_role("link", name=re.compile("Meer hierover")).click()
    expect(page).to_have_url(re.compile(f"/entry/{body['id']}/$"))
    main = page.locator("main")
    for word in ("Slachtofferhulp", "Noodsituatie", "Acuut", "acuut"):
        expect(main).not_to_contain_text(word)
    expect(main).not_to_contain_text(re.compile(r"\d{1,2}:\d{2}"))
    no_horizontal_scroll(page)
    save_screenshot(page, "portal-suspect-entry-phone-nl")


def test_screenshots_were_written(screenshot_dir: Path) -> None:
    assert any(screenshot_dir.glob("portal-*.png"))
