"""The console's release path in headless Chromium against a real `flagstaff serve` (its rollout runner
running), with a real SDK connected: an admin creates a boolean flag from the console, turns it on, starts a
two-step rollout with a short first step and no guard, watches it step on the releases page without a reload,
then kills the flag from the plans list with a reason and sees the SDK confirm, and the plan pause itself
because the flag was changed outside it; then reverts the kill from the flag's history. The screenshots of the
new-flag page and the releases pages in docs/console/ are taken here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from flagstaff import Client
from tests.browser.console_browser import ConsolePage
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess, wait_until


@pytest.fixture(scope="module")
def shared_server(database_url: str) -> Iterator[ServerProcess]:
    """The module's server; its runner looks at a running plan every second, so that a plan whose flag was
    changed outside it pauses within a second or two."""
    server = ServerProcess(database_url, rollout_guard_interval_seconds="1").start()
    yield server
    server.kill()


@pytest.fixture
def pages(browser: Browser, server: ServerProcess) -> Iterator[Callable[..., ConsolePage]]:
    opened: list[ConsolePage] = []

    def open_page(**options: Any) -> ConsolePage:
        opened.append(ConsolePage(browser, server.base_url, **options))
        return opened[-1]

    yield open_page
    for page in opened:
        assert page.errors == [], page.errors  # no script error, no refused asset, on any page
        page.close()


def _admin_key(admin: Admin, name: str) -> str:
    created = admin.http.post("/api/v1/admin-keys", json={"name": name, "role": "admin", "project": None})
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _mark(page: Page) -> None:
    """Marks the loaded document: the mark survives in-place updates and is gone after any reload."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_an_admin_creates_a_flag_turns_it_on_rolls_it_out_live_and_kills_it_from_the_plans_list(
    pages: Callable[..., ConsolePage], admin: Admin, make_client: Callable[..., Client], server: ServerProcess
) -> None:
    sdk_key, _ = admin.sdk_key()
    client = make_client(sdk_key, server.base_url)
    assert client.wait_until_ready(10)
    console = pages()
    page = console.sign_in(_admin_key(admin, "release-admin"))
    flags_url = f"/console/projects/{admin.project}/environments/{ENV}/flags"
    page.goto(flags_url)

    # A new boolean flag, from the flag list.
    page.get_by_role("link", name="New flag").click()
    expect(page.get_by_role("heading", name="New flag")).to_be_visible()
    page.get_by_role("textbox", name="Key").fill("new-checkout")
    page.get_by_role("textbox", name="Name").fill("New checkout")
    page.get_by_role("textbox", name="Tags").fill("checkout, team-a")
    expect(page.get_by_role("radio", name="boolean")).to_be_checked()
    console.screenshot("new-flag.png", full_page=True)
    page.get_by_role("button", name="Create flag").click()
    page.wait_for_url(f"**/console/projects/{admin.project}/flags/new-checkout")
    expect(page.get_by_text("Created new-checkout: off in every environment")).to_be_visible()

    # On in production, from the flag's page.
    page.locator(f'tr[data-environment="{ENV}"]').get_by_role("link", name="Turn on").click()
    dialog = page.locator("#switch-dialog")
    dialog.get_by_role("button", name="Turn on").click()
    expect(page.locator("#switch-counter")).to_have_attribute("data-done", "true", timeout=15_000)
    page.get_by_role("button", name="Close").click()
    assert client.is_enabled("new-checkout") is True

    # A rollout of true against false: 50% for 3 s, then everyone, for ten minutes.
    page.goto(flags_url)
    page.get_by_role("link", name="Releases").click()
    page.wait_for_url(f"**/environments/{ENV}/releases")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.get_by_text("Start a rollout plan").click()
    page.locator("#start-flag").fill("new-checkout")
    page.locator("#start-variation").fill("true")
    page.locator("#start-control").fill("false")
    page.locator("#start-steps").fill("50,100")
    page.locator("#start-dwell").fill("3s,10m")
    expect(page.get_by_label("Guard: roll back when the released variation fails more")).not_to_be_checked()
    page.get_by_role("button", name="Start rollout").click()
    expect(page.get_by_role("status")).to_contain_text("Started rollout plan")
    row = page.locator('#plans tr[data-flag="new-checkout"]')
    expect(row.locator(".plan-step")).to_have_text("step 1 of 2")
    _mark(page)

    # The next step arrives without a reload, and the SDK confirms the revision the plan wrote.
    expect(row.locator(".plan-step")).to_have_text("step 2 of 2", timeout=30_000)
    expect(row.locator(".plan-percent")).to_have_text("100%")
    expect(row.locator(".counter-inline")).to_have_attribute("data-done", "true", timeout=15_000)
    expect(row.locator(".counter-inline")).to_contain_text("1 of 1 SDK instance confirmed revision")
    assert _not_reloaded(page)
    console.screenshot("releases.png", full_page=True)

    # Killed from the plans list, with a reason; the plan pauses itself, shown in place.
    row.get_by_role("link", name="Kill flag").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("checkout errors after the rollout (INC-9)")
    dialog.get_by_role("button", name="Kill").click()
    expect(page.locator("#switch-counter")).to_have_attribute("data-done", "true", timeout=15_000)
    page.get_by_role("button", name="Close").click()
    assert client.is_enabled("new-checkout") is False
    expect(row).to_have_attribute("data-status", "paused", timeout=15_000)
    expect(row).to_contain_text("changed outside the plan")
    assert _not_reloaded(page)

    audit = admin.http.get("/api/v1/audit", params={"project": admin.project, "limit": 100}).json()
    by_admin = [entry["action"] for entry in reversed(audit["items"]) if entry["actor"] == "release-admin"]
    assert by_admin == ["flag.create", "flag.on", "rollout.start", "flag.kill"]
    kill = next(entry for entry in audit["items"] if entry["action"] == "flag.kill")
    assert (kill["actor"], kill["reason"]) == ("release-admin", "checkout errors after the rollout (INC-9)")

    # The flag's own releases page: the paused plan with resume and abort, and the forms of the partial.
    page.goto(f"/console/projects/{admin.project}/environments/{ENV}/flags/new-checkout/releases")
    expect(page.locator('#flag-plans tr[data-flag="new-checkout"]')).to_have_attribute(
        "data-status", "paused"
    )
    expect(page.get_by_role("link", name="Resume")).to_be_visible()
    console.screenshot("flag-releases.png", full_page=True)

    # The flag's page shows the same part, and its history reverts the kill: back to the plan's last step.
    page.goto(f"/console/projects/{admin.project}/environments/{ENV}/flags/new-checkout")
    expect(page.locator('#releases tr[data-flag="new-checkout"]')).to_have_attribute("data-status", "paused")
    killed = page.locator("#history article.version").first
    expect(killed).to_contain_text("release-admin")
    page.locator("#history article.version").nth(1).get_by_role("link", name="Revert to version").click()
    page.get_by_label("Reason").fill("the errors came from elsewhere")
    page.get_by_role("button", name="Revert to version").click()
    expect(page.locator(".flash-ok")).to_contain_text("Reverted new-checkout in production")
    wait_until(lambda: client.is_enabled("new-checkout") is True, 15, "the SDK to apply the revert")
    latest = admin.http.get("/api/v1/audit", params={"project": admin.project, "flag": "new-checkout"}).json()
    revert = latest["items"][0]
    assert (revert["action"], revert["actor"], revert["reason"]) == (
        "flag.revert",
        "release-admin",
        "the errors came from elsewhere",
    )
    assert console.other_hosts() == []
