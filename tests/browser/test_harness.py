"""The browser harness works: headless Chromium logs in to the admin of the live server and renders the API docs
at phone width, with every request staying on the live server (Swagger UI's assets are served locally)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import login, save_screenshot

# The admin is Dutch (LANGUAGE_CODE "nl") unless a locale middleware picks English; accept both.
ADMIN_LOGIN_TITLE = re.compile(r"^(Aanmelden|Inloggen|Log in) \| ")
ADMIN_INDEX_TITLE = re.compile(r"^(Websitebeheer|Site administration) \| ")
SHARING_RULES = re.compile(r"^\s*(Sharing rules|Deelregels|Regels voor delen|Deelafspraken)\s*$", re.IGNORECASE)


def _same_origin_only(requests: list[str], server_url: str) -> list[str]:
    """The requested URLs that went anywhere but the live server (data: and blob: URLs never leave the page)."""
    server = urlsplit(server_url)
    return [
        url
        for url in requests
        if urlsplit(url).scheme not in {"data", "blob"}
        and (urlsplit(url).scheme, urlsplit(url).netloc) != (server.scheme, server.netloc)
    ]


def test_admin_login_and_sharing_rules(page: Any, server_url: str, screenshot_dir: Any, settings: Any) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False  # as in the demo; outside it the admin asks for a code (tests/admin)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{server_url}/admin/login/")
    assert ADMIN_LOGIN_TITLE.search(page.title()), page.title()

    login(page, server_url, "admin", path="/admin/login/")
    assert urlsplit(page.url).path == "/admin/", f"login failed, still at {page.url}"
    assert ADMIN_INDEX_TITLE.search(page.title()), page.title()

    link = page.get_by_role("link", name=SHARING_RULES)
    assert link.count() == 1, page.locator("#content-main").inner_text()
    assert link.get_attribute("href") == "/admin/consent/sharingrule/"
    assert save_screenshot(page, "harness-admin-index").parent == screenshot_dir

    assert requests
    assert _same_origin_only(requests, server_url) == []


def test_api_docs_at_phone_width_stay_on_the_server(phone_page: Any, server_url: str, screenshot_dir: Any) -> None:
    requests: list[str] = []
    phone_page.on("request", lambda request: requests.append(request.url))

    phone_page.goto(f"{server_url}/api/v1/docs/", wait_until="networkidle")
    # Swagger UI rendered the schema: the title from SPECTACULAR_SETTINGS and at least one operation.
    phone_page.get_by_role("heading", name=re.compile("Veilig Delen partner API")).wait_for()
    phone_page.locator(".opblock").first.wait_for()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360 + 1, "wider than the phone"

    path = save_screenshot(phone_page, "harness-api-docs-phone")
    assert path.is_file()
    assert path.parent == screenshot_dir
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000, path.stat().st_size

    assert any(urlsplit(url).path.startswith("/static/drf_spectacular_sidecar/") for url in requests), requests
    assert any(urlsplit(url).path == "/api/v1/schema/" for url in requests), requests
    assert _same_origin_only(requests, server_url) == []
