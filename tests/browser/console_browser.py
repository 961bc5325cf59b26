"""Debian's Chromium, driven by Playwright for the console's browser tests: headless, no browser downloaded by
any tool, nothing fetched in the background. Each page records every request it makes, so a test can prove the
console never reaches another host; screenshots go to docs/console/ for docs/console.md."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from tests.streaming.processes import require

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    require(found is not None, "chromium is not installed (apt-get install chromium)")
    assert found is not None
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    playwright: Playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class ConsolePage:
    """A browser context of its own (its own cookies) on one server, recording every URL it requests."""

    def __init__(self, browser: Browser, base_url: str, *, phone: bool = False, script: bool = True) -> None:
        self.base_url = base_url
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
        self.context: BrowserContext = browser.new_context(
            viewport=size,
            device_scale_factor=1,
            is_mobile=phone,
            has_touch=phone,
            base_url=base_url,
            java_script_enabled=script,
        )
        self.context.set_default_timeout(10_000)
        self.requested: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.errors: list[str] = []
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Also what the browser reports on its console as an error: a script or style the content security
        # policy refused, or a failed request (unless the test provokes refusals: `refusals_expected`).
        self.refusals_expected = False
        self.page.on("console", self._console_message)

    def _console_message(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if self.refusals_expected and "the server responded with a status of 4" in message.text:
            return
        self.errors.append(message.text)

    def sign_in(self, key: str) -> Page:
        page = self.page
        page.goto("/console")
        page.get_by_label("Admin key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/flags**")
        return page

    def other_hosts(self) -> list[str]:
        return [url for url in self.requested if not url.startswith(self.base_url + "/")]

    def screenshot(self, name: str, *, full_page: bool = False) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page, animations="disabled")

    def close(self) -> None:
        self.context.close()
