"""End-to-end browser tests: Playwright for Python driving Debian's headless Chromium against pytest-django's
live server.

Playwright's own browser download (``playwright install``) is never used: it fails on a closed network. The
browser is Debian's ``chromium`` (installed by ``scripts/browser`` when missing), launched by its executable path.
Tests that drive the browser take ``server_url`` (the demo world committed, on PostgreSQL) and ``page`` or
``phone_page``; ``login`` and ``save_screenshot`` are helpers to import from here.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = ROOT / "test-artifacts" / "screenshots"
DEMO_PASSWORD = "veilig-delen-demo"

# Chromium as root needs --no-sandbox. Without the background-networking flags Chromium keeps calling Google's
# services, which this closed network refuses many times over. Playwright adds --headless itself (headless=True)
# and gives every launch a fresh temporary profile; it refuses --user-data-dir in ``args`` (a persistent profile
# would need launch_persistent_context), so the fresh profile is Playwright's.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's chromium: /usr/bin/chromium, else ``chromium`` on PATH."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable; installed once by scripts/browser when missing. Fails (never skips) without it:
    CI must not pass quietly when a tool it needs is missing."""
    path = find_chromium()
    if path is None:
        result = subprocess.run([str(ROOT / "scripts" / "browser")], capture_output=True, text=True, check=False)
        path = find_chromium()
        if path is None:
            pytest.fail(
                "Debian's chromium is needed for the browser tests and scripts/browser could not install it "
                f"(exit {result.returncode}):\n{result.stdout}{result.stderr}\n"
                "Install it with `apt-get install chromium` (as root); never with `playwright install`.",
                pytrace=False,
            )
    return path


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the browser tests (package scope: stopped after the last of them).

    Playwright's sync API keeps an asyncio loop marked as running in this thread from ``start()`` to ``stop()``;
    Django then refuses every database call here ("You cannot call this from an async context"), the test's own
    and pytest-django's flush alike. Django's own remedy, DJANGO_ALLOW_ASYNC_UNSAFE, is set only while Playwright
    runs; package scope keeps that window to these tests rather than every committed test that pytest-django
    runs after them."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: .venv/bin/pip install -e '.[dev]'", pytrace=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
        finally:
            playwright.stop()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remembers a failed test body, so that its page is saved as FAILED-<test>.png when the page closes."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


def _open_page(request: pytest.FixtureRequest, browser: Any, **context_options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="nl-NL", **context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        if request.node.stash.get(_FAILED, False) and not page.is_closed():
            with contextlib.suppress(Exception):  # the test's own failure is what matters
                save_screenshot(page, f"FAILED-{request.node.name}-{request.fixturename}")
        context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A desktop page (1280x800, Dutch) in a context of its own; actions time out after 10 s."""
    yield from _open_page(request, browser, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A phone-sized page (360x740 CSS pixels at 2x, touch, Dutch) in a context of its own."""
    yield from _open_page(
        request,
        browser,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def server_url(committed_world: Any, live_server: Any) -> str:
    """The live server's address (``http://localhost:PORT``), serving the committed demo world.

    The live server runs in another thread with its own database connection, so the data must be committed:
    ``committed_world`` seeds it for real (transactional database, PostgreSQL only) and pauses the append-only
    triggers for pytest-django's flush afterwards. ``committed_world`` is requested first so that it is set up
    before, and torn down after, the live server's per-test hook."""
    return str(live_server.url)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """test-artifacts/screenshots under the project (git-ignored)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


def save_screenshot(page: Any, name: str) -> Path:
    """A full-page PNG of ``page`` in test-artifacts/screenshots/<name>.png; returns its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "screenshot"
    path = SCREENSHOT_DIR / (stem if stem.endswith(".png") else f"{stem}.png")
    page.screenshot(path=str(path), full_page=True)
    return path


USERNAME_LABEL = re.compile(r"^\s*(Gebruikersnaam|Username)", re.IGNORECASE)
PASSWORD_LABEL = re.compile(r"^\s*(Wachtwoord|Password)", re.IGNORECASE)
LOGIN_BUTTON = re.compile(r"Inloggen|Aanmelden|Log in", re.IGNORECASE)  # Django's Dutch admin says "Aanmelden"


def login(
    page: Any, server_url: str, username: str, password: str = DEMO_PASSWORD, path: str = "/portal/login/"
) -> None:
    """Log in through a Django login form (the family portal's by default; ``path="/admin/login/"`` for the
    admin): the fields found by their <label> in Dutch or English, the submit button by its name. Returns after
    the navigation the form causes; the caller checks where it landed (a failed login renders the form again)."""
    page.goto(f"{server_url}{path}")
    page.get_by_label(USERNAME_LABEL).fill(username)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=LOGIN_BUTTON).click()
