"""The flag, environment and audit pages in headless Chromium against a real `flagstaff serve`: an editor
reads a flag's targeting as sentences, changes its rollout (a refusal shown at the field first), reads the
change in the history and reverts it, sees the SDK that applied it on the environment's page and the change in
the audit log; no page requests another host. These pages' screenshots in docs/console/ come from here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from flagstaff import Client
from tests.browser.console_browser import SCREENSHOTS, ConsolePage
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess, wait_until

TARGETING = {
    "enabled": True,
    "targets": [{"variation": 0, "values": ["user-1", "user-2"]}],
    "rules": [
        {
            "id": "dutch-beta",
            "clauses": [
                {"attribute": "country", "op": "in", "values": ["NL", "BE"]},
                {"op": "segment_match", "values": ["beta-testers"]},
            ],
            "serve": {"variation": 0},
        }
    ],
    "fallthrough": {
        "rollout": {"variations": [{"variation": 0, "weight": 10000}, {"variation": 1, "weight": 90000}]}
    },
}


@pytest.fixture
def console(browser: Browser, server: ServerProcess) -> Iterator[ConsolePage]:
    opened = ConsolePage(browser, server.base_url)
    yield opened
    assert opened.errors == [], opened.errors  # no script error on any page
    opened.close()


def _weights(admin: Admin) -> list[int]:
    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/new-checkout"
    flag: dict[str, Any] = admin.http.get(url).json()["flag"]
    return [entry["weight"] for entry in flag["fallthrough"]["rollout"]["variations"]]


def _flag_with_targeting(admin: Admin) -> None:
    segment = {"included": ["user-7"], "excluded": [], "rules": []}
    segments = f"/api/v1/projects/{admin.project}/environments/{ENV}/segments/beta-testers"
    assert admin.http.put(segments, json=segment).status_code in (200, 201)
    body = {
        "kind": "boolean",
        "variations": [True, False],
        "tags": ["checkout"],
        "name": "New checkout",
        "description": "The one-page checkout.",
    }
    assert (
        admin.http.put(f"/api/v1/projects/{admin.project}/flags/new-checkout", json=body).status_code == 201
    )
    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/new-checkout"
    assert admin.http.patch(url, json=TARGETING).status_code == 200


def _editor_key(admin: Admin) -> str:
    body = {"name": "release-carol", "role": "editor", "project": admin.project}
    created = admin.http.post("/api/v1/admin-keys", json=body)
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


class StuckPoller:
    """An SDK instance that keeps polling but never applies past one revision: what a stale instance is."""

    def __init__(self, base_url: str, sdk_key: str, instance_id: str, revision: int) -> None:
        self._http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {sdk_key}"})
        self._instance_id, self._revision = instance_id, revision
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StuckPoller:
        self._poll()  # present, and confirming its revision, before the page is read
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            self._poll()

    def _poll(self) -> None:
        self._http.get("/sdk/v1/flags", headers={"X-Flagstaff-Instance": self._instance_id})
        ack = {"instance_id": self._instance_id, "revision": self._revision}
        self._http.post("/sdk/v1/acks", json=ack)


def test_an_editor_changes_a_rollout_reads_the_diff_reverts_it_and_finds_it_in_the_audit_log(
    console: ConsolePage, admin: Admin, make_client: Callable[..., Client], server: ServerProcess
) -> None:
    _flag_with_targeting(admin)
    sdk_key, _ = admin.sdk_key()
    client = make_client(sdk_key, server.base_url)
    assert client.wait_until_ready(10)
    flag_url = f"/console/projects/{admin.project}/environments/{ENV}/flags/new-checkout"

    page = console.sign_in(_editor_key(admin))
    page.goto(flag_url)
    sentences = page.locator("ol.sentences")
    expect(sentences).to_contain_text("Users user-1, user-2 get true")
    expect(sentences).to_contain_text(
        "If country is one of NL, BE and the user is in segment beta-testers, serve true"
    )
    expect(sentences).to_contain_text("Everyone else: true for 10%, false for 90%")
    console.screenshot("flag-page.png", full_page=True)

    # Percentages that do not add up: the server's refusal appears at the field, nothing is saved.
    console.refusals_expected = True  # the 422 answer below is the point of this step
    rollout = page.locator("#rollout")
    rollout.get_by_label("true").fill("50")
    rollout.get_by_label("false").fill("40")
    rollout.get_by_role("button", name="Save the fallthrough").click()
    expect(page.locator("#rollout-weights-error")).to_contain_text("weights must sum to 100000 (100%)")
    expect(page.locator("#rollout").get_by_label("false")).to_have_value("40")
    assert _weights(admin) == [10000, 90000]
    console.refusals_expected = False

    rollout = page.locator("#rollout")
    rollout.get_by_label("true").fill("25")
    rollout.get_by_label("false").fill("75")
    rollout.get_by_label("Reason").fill("ramp up after the canary")
    rollout.get_by_role("button", name="Save the fallthrough").click()
    expect(page.locator(".flash-ok")).to_contain_text("Saved the fallthrough of new-checkout")
    expect(sentences).to_contain_text("Everyone else: true for 25%, false for 75%")
    assert _weights(admin) == [25000, 75000]
    changed = page.locator("#history article.version").first
    expect(changed).to_contain_text("Everyone else: rollout true 10% → 25%, false 90% → 75%")
    expect(changed).to_contain_text("release-carol")
    page.locator("#history").screenshot(path=str(SCREENSHOTS / "flag-history.png"), animations="disabled")

    # Revert to the version before: a confirmation showing what changes, a reason, then a new version.
    previous = page.locator("#history article.version").nth(1)
    previous.get_by_role("link", name="Revert to version").click()
    expect(page.locator("ul.diff")).to_contain_text("Everyone else: rollout true 25% → 10%, false 75% → 90%")
    page.get_by_label("Reason").fill("the canary's error rate rose")
    page.get_by_role("button", name="Revert to version").click()
    expect(page.locator(".flash-ok")).to_contain_text("Reverted new-checkout in production")
    expect(sentences).to_contain_text("Everyone else: true for 10%, false for 90%")
    assert _weights(admin) == [10000, 90000]
    audit = admin.http.get("/api/v1/audit", params={"project": admin.project, "flag": "new-checkout"}).json()
    latest = audit["items"][0]
    assert (latest["action"], latest["actor"], latest["reason"]) == (
        "flag.revert",
        "release-carol",
        "the canary's error rate rose",
    )

    # The environment's page: the streaming SDK confirmed the revert; a poller stuck before it is stale.
    revision = admin.propagation()["revision"]
    wait_until(lambda: admin.propagation()["confirmed"] == 1, 15, "the SDK to confirm the revert")
    with StuckPoller(server.base_url, sdk_key, "batch-job-7", revision - 2):
        page.goto(f"/console/projects/{admin.project}/environments/{ENV}")
        expect(page.locator("#instance-summary")).to_contain_text("1 of 2 SDK instances has not confirmed")
        rows = page.locator("#instances tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("batch-job-7")
        expect(rows.first).to_contain_text("2 behind")
        expect(rows.nth(1)).to_contain_text(f"current {revision}")
        console.screenshot("environment.png", full_page=True)

    # The audit log, filtered to the flag: the revert first, with its reason and what it changed.
    page.goto("/console/audit")
    page.get_by_label("Flag").fill("new-checkout")
    page.get_by_role("button", name="Filter").click()
    first = page.locator("table.audit tbody tr").first
    expect(first).to_contain_text("flag.revert")
    expect(first).to_contain_text("the canary's error rate rose")
    first.locator("details summary").click()
    expect(first.locator("ul.diff")).to_contain_text("Everyone else: rollout true 25% → 10%")
    console.screenshot("audit.png", full_page=True)

    assert console.other_hosts() == []


def test_a_flag_changed_elsewhere_is_announced_on_its_page_without_a_reload(
    console: ConsolePage, admin: Admin
) -> None:
    _flag_with_targeting(admin)
    reader = admin.http.post(
        "/api/v1/admin-keys", json={"name": "watcher-dan", "role": "reader", "project": admin.project}
    ).json()["secret"]
    page = console.sign_in(reader)
    page.goto(f"/console/projects/{admin.project}/environments/{ENV}/flags/new-checkout")
    notice = page.locator("#flag-changed")
    expect(notice).to_be_hidden()
    page.evaluate("window.__notReloaded = true")

    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/new-checkout"
    assert admin.http.patch(url, json={"targets": []}).status_code == 200  # as the CLI or a rollout would

    expect(notice).to_be_visible()
    expect(notice).to_contain_text("This flag was changed meanwhile (now version 3)")
    assert page.evaluate("window.__notReloaded === true")
    assert console.other_hosts() == []
