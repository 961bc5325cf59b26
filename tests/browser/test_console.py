"""The web console in headless Chromium against a real `flagstaff serve`: an operator finds a flag, kills it
with a reason and watches a real SDK confirm it, while another browser sees the change without a reload; a
reader sees nothing that changes anything; a form without the CSRF token is refused; sign-out, a revoked key
and an expired session end the session; no page ever requests another host. The screenshots in
docs/console/ are taken here, so docs/console.md shows the console as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from flagstaff import Client
from tests.browser.console_browser import ConsolePage
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess


@pytest.fixture
def pages(browser: Browser, server: ServerProcess) -> Iterator[Callable[..., ConsolePage]]:
    opened: list[ConsolePage] = []

    def open_page(base_url: str = server.base_url, **options: Any) -> ConsolePage:
        opened.append(ConsolePage(browser, base_url, **options))
        return opened[-1]

    yield open_page
    for page in opened:
        assert page.errors == [], page.errors  # no script error on any page
        page.close()


def _key(admin: Admin, role: str, name: str) -> tuple[str, str]:
    body = {"name": name, "role": role, "project": admin.project}
    created = admin.http.post("/api/v1/admin-keys", json=body)
    assert created.status_code == 201, created.text
    return created.json()["secret"], created.json()["key_id"]


def _flags(admin: Admin, *keys: str, tags: tuple[str, ...] = ("checkout",)) -> None:
    for key in keys:
        body = {
            "kind": "boolean",
            "variations": [True, False],
            "tags": list(tags),
            "name": key.replace("-", " "),
        }
        assert admin.http.put(f"/api/v1/projects/{admin.project}/flags/{key}", json=body).status_code == 201
        admin.switch(key, "on")


def _list_url(admin: Admin, env: str = ENV) -> str:
    return f"/console/projects/{admin.project}/environments/{env}/flags"


def _mark(page: Page) -> None:
    """Marks the loaded document: the mark survives in-place updates and is gone after any reload."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_an_operator_finds_a_flag_kills_it_and_sees_the_sdk_confirm_while_another_browser_follows(
    pages: Callable[..., ConsolePage], admin: Admin, make_client: Callable[..., Client], server: ServerProcess
) -> None:
    _flags(admin, "checkout-flow", "checkout-tax", "search-ranking")
    sdk_key, _ = admin.sdk_key()
    client = make_client(sdk_key, server.base_url)
    assert client.wait_until_ready(10)
    assert client.is_enabled("checkout-flow")
    operator_key, _ = _key(admin, "operator", "oncall-alice")
    reader_key, _ = _key(admin, "reader", "watcher-bob")

    watcher = pages()
    watching = watcher.sign_in(reader_key)
    watching.goto(_list_url(admin))
    expect(watching.locator("#live-status")).to_have_attribute("data-state", "live")
    _mark(watching)

    operator = pages()
    page = operator.sign_in(operator_key)
    page.goto(_list_url(admin))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    operator.screenshot("flags.png")

    page.get_by_label("Search key or name").fill("flow")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#flags tbody tr")).to_have_count(1)
    row = page.locator('tr[data-key="checkout-flow"]')
    expect(row).to_have_attribute("data-state", "on")

    row.get_by_role("link", name="Kill").click()
    dialog = page.locator("#switch-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Kill").click()  # no reason yet: refused at the field
    expect(page.locator("#switch-error")).to_contain_text("needs a reason")
    page.get_by_label("Reason").fill("checkout errors at 3 a.m. (INC-7)")
    dialog.get_by_role("button", name="Kill").click()

    counter = page.locator("#switch-counter")
    expect(counter).to_have_attribute("data-done", "true", timeout=15_000)
    expect(counter).to_contain_text("1 of 1 SDK instance confirmed revision")
    operator.screenshot("kill-confirmed.png")
    assert client.is_enabled("checkout-flow") is False  # the SDK really applied it

    # The other browser, untouched, shows the kill without a reload; the operator's own row follows too.
    expect(watching.locator('tr[data-key="checkout-flow"]')).to_have_attribute("data-state", "killed")
    expect(watching.locator('tr[data-key="checkout-flow"]')).to_contain_text("INC-7")
    assert _not_reloaded(watching)
    page.get_by_role("button", name="Close").click()
    expect(row).to_have_attribute("data-state", "killed")

    audit = admin.http.get("/api/v1/audit", params={"project": admin.project, "flag": "checkout-flow"}).json()
    latest = audit["items"][0]
    assert (latest["action"], latest["actor"], latest["reason"]) == (
        "flag.kill",
        "oncall-alice",
        "checkout errors at 3 a.m. (INC-7)",
    )
    assert operator.other_hosts() == [] and watcher.other_hosts() == []
    assert any("/live" in url for url in operator.requested)  # the live stream, from this server too


def test_changes_made_elsewhere_appear_without_a_reload(
    pages: Callable[..., ConsolePage], admin: Admin
) -> None:
    _flags(admin, "banner")
    reader_key, _ = _key(admin, "reader", "watcher")
    watcher = pages()
    page = watcher.sign_in(reader_key)
    page.goto(_list_url(admin))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    _mark(page)

    admin.switch("banner", "off")  # through the REST API, as the CLI or a rollout would
    expect(page.locator('tr[data-key="banner"]')).to_have_attribute("data-state", "off")
    _flags(admin, "new-flag")  # created elsewhere: a row appears in its place
    expect(page.locator("#flags tbody tr")).to_have_count(2)
    expect(page.locator("#flags tbody tr").first).to_have_attribute("data-key", "banner")
    expect(page.locator('tr[data-key="new-flag"]')).to_have_attribute("data-state", "on")
    assert _not_reloaded(page)
    assert watcher.other_hosts() == []


def test_a_reader_sees_no_button_that_changes_anything(
    pages: Callable[..., ConsolePage], admin: Admin
) -> None:
    _flags(admin, "checkout-flow")
    reader_key, _ = _key(admin, "reader", "auditor")
    reader = pages()
    reader.refusals_expected = True  # the forbidden page below
    page = reader.sign_in(reader_key)
    for url in (_list_url(admin), f"/console/projects/{admin.project}/flags/checkout-flow"):
        page.goto(url)
        expect(page.get_by_text("checkout-flow").first).to_be_visible()
        expect(page.get_by_role("link", name="Kill")).to_have_count(0)
        expect(page.get_by_role("link", name="Turn on")).to_have_count(0)
        expect(page.get_by_role("link", name="Turn off")).to_have_count(0)
        expect(page.locator("form[method=post]")).to_have_count(1)  # signing out is all a reader may post
    page.goto(f"/console/projects/{admin.project}/environments/{ENV}/flags/checkout-flow/kill")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert reader.other_hosts() == []


def test_a_form_posted_without_the_csrf_token_is_refused(
    pages: Callable[..., ConsolePage], admin: Admin
) -> None:
    _flags(admin, "checkout-flow")
    operator_key, _ = _key(admin, "operator", "oncall")
    operator = pages()
    operator.refusals_expected = True  # the forged form's 403
    page = operator.sign_in(operator_key)
    page.goto(_list_url(admin))
    # What a forged form would send: the right fields, the session cookie, no token.
    page.evaluate(
        """(url) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            const reason = document.createElement("input");
            reason.name = "reason";
            reason.value = "forged";
            form.appendChild(reason);
            document.body.appendChild(form);
            form.submit();
        }""",
        f"/console/projects/{admin.project}/environments/{ENV}/flags/checkout-flow/kill",
    )
    expect(page.get_by_role("heading", name="Refused: the form has expired")).to_be_visible()
    flag = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout-flow").json()
    assert flag["flag"]["enabled"] is True
    answer = page.request.post(
        f"{operator.base_url}/console/projects/{admin.project}/environments/{ENV}/flags/checkout-flow/kill",
        form={"reason": "forged"},
    )
    assert answer.status == 403


def test_without_javascript_a_kill_is_a_confirmation_page_then_counters(
    pages: Callable[..., ConsolePage], admin: Admin, make_client: Callable[..., Client], server: ServerProcess
) -> None:
    _flags(admin, "checkout-flow")
    sdk_key, _ = admin.sdk_key()
    client = make_client(sdk_key, server.base_url)
    assert client.wait_until_ready(10)
    operator_key, _ = _key(admin, "operator", "oncall-no-script")
    operator = pages(script=False)
    page = operator.sign_in(operator_key)
    page.goto(_list_url(admin))
    page.locator('tr[data-key="checkout-flow"]').get_by_role("link", name="Kill").click()
    expect(page.get_by_role("heading", name="Kill checkout-flow in production?")).to_be_visible()
    page.get_by_label("Reason (required)").fill("no script needed")
    operator.screenshot("kill-confirm-page.png")
    page.get_by_role("button", name="Kill checkout-flow").click()
    expect(page.get_by_text("Killed checkout-flow in production.")).to_be_visible()
    # The page refreshes itself until every SDK confirmed.
    expect(page.locator(".counter")).to_have_attribute("data-done", "true", timeout=15_000)
    expect(page.locator(".counter")).to_contain_text("1 of 1 SDK instance confirmed")
    assert client.is_enabled("checkout-flow") is False
    assert operator.other_hosts() == []


def test_the_flag_page_a_bulk_kill_and_a_phone_screen(
    pages: Callable[..., ConsolePage], admin: Admin
) -> None:
    _flags(admin, "checkout-flow", "checkout-tax")
    _flags(admin, "search-ranking", tags=("discovery",))
    editor_key, _ = _key(admin, "editor", "release-manager")
    editor = pages()
    page = editor.sign_in(editor_key)
    page.goto(f"/console/projects/{admin.project}/flags/checkout-flow")
    expect(page.locator("#environments tbody tr")).to_have_count(3)
    editor.screenshot("flag.png", full_page=True)

    page.goto(_list_url(admin) + "?tag=checkout")
    page.get_by_role("link", name="Kill every flag tagged checkout in production").click()
    page.get_by_label("Reason (required)").fill("checkout incident")
    page.get_by_role("button", name="Kill 2 flags").click()
    expect(page.get_by_text("Killed 2 flags tagged checkout in production.")).to_be_visible()
    page.get_by_role("link", name="Back to the flags").click()
    expect(page.locator('tr[data-state="killed"]')).to_have_count(2)

    phone = pages(phone=True)
    small = phone.sign_in(editor_key)
    small.goto(_list_url(admin))
    expect(small.locator('tr[data-key="search-ranking"]')).to_be_visible()
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the screen: no sideways scrolling
    phone.screenshot("flags-phone.png", full_page=True)
    assert editor.other_hosts() == [] and phone.other_hosts() == []


def test_sign_in_page_sign_out_and_a_revoked_key(pages: Callable[..., ConsolePage], admin: Admin) -> None:
    operator_key, operator_id = _key(admin, "operator", "leaver")
    visitor = pages()
    visitor.refusals_expected = True  # the wrong key's 401, and the revoked session's refused stream
    page = visitor.page
    page.goto("/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    visitor.screenshot("sign-in.png")
    page.get_by_label("Admin key").fill("fs_admin_000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid admin key")

    visitor.sign_in(operator_key)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(_list_url(admin))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    cookies = visitor.context.cookies()
    assert all(operator_key not in cookie["value"] for cookie in cookies)

    visitor.sign_in(operator_key)
    page.goto(_list_url(admin))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    revoked = admin.http.delete(f"/api/v1/admin-keys/{operator_id}")
    assert revoked.status_code == 200
    # The open page's live stream is ended by the server, and the next page asks to sign in.
    expect(page.locator("#live-status")).to_have_attribute("data-state", "lost", timeout=10_000)
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert visitor.other_hosts() == []


def test_an_expired_session_asks_to_sign_in_again(
    pages: Callable[..., ConsolePage], admin: Admin, database_url: str
) -> None:
    _flags(admin, "checkout-flow")
    operator_key, operator_id = _key(admin, "operator", "sleepy")
    visitor = pages()
    page = visitor.sign_in(operator_key)
    page.goto(_list_url(admin))
    expect(page.locator('tr[data-key="checkout-flow"]')).to_be_visible()
    # As if the session's lifetime (FLAGSTAFF_CONSOLE_SESSION_MAX_HOURS) had passed since it signed in.
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE console_sessions SET expires_at = created_at - interval '1 second' "
            "WHERE admin_key_id = (SELECT id FROM admin_keys WHERE key_id = %s)",
            (operator_id,),
        )
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "next=%2Fconsole%2Fprojects" in page.url  # back to the same page after signing in again
    visitor.sign_in(operator_key)
    expect(page.locator('tr[data-key="checkout-flow"]')).to_be_visible()
