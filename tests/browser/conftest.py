"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium,
apt package `chromium`) headless against the live test server. No browser is
ever downloaded. Each test saves screenshots under $OMS_TEST_ARTIFACTS
(default .data/test-artifacts/screenshots/)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM
# calls (fixtures, assertions) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("OMS_TEST_ARTIFACTS", ".data/test-artifacts")) / "screenshots"

# The flags a headless Chromium needs on a machine without a network or a GPU.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: install Debian's package (apt-get install chromium), "
            "which ./scripts/test does when it runs as root"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Shots:
    """page screenshots named after the test: shots.take(page, "packed")."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.paths: list[Path] = []
        for old in ARTIFACTS.glob(f"{self.prefix}-*.png"):  # an earlier run's
            old.unlink()

    def take(self, page, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{len(self.paths) + 1:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        self.paths.append(path)
        return path


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def page_for(browser, live_server):
    """page_for(user, password="pw-staff-123", viewport=None): a new browser
    page signed in as `user` through the dashboard's login form."""
    contexts = []

    def make(user, password: str = "pw-staff-123", viewport: dict | None = None, locale: str = "en-US"):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 900}, locale=locale
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/dashboard/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/dashboard/(?!login)"))
        return page

    yield make
    for context in contexts:
        context.close()
