"""OFREP in a browser: the third-party `@openfeature/ofrep-web-provider` in headless Chromium, on a page
served from another origin, evaluates client-side flags of every kind with a client key through CORS (values,
variants, reasons and errors, as the web SDK's client reports them), follows a change of the page's targeting
key, and a kill reaches the open page through OFREP's event stream, without a reload."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from flagstaff import bucket
from tests.browser.web_provider import Chromium, PageServer
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess

# What the kill test's page asks: [name, kind, flag key, default].
BOOLEANS = [["banner", "boolean", "banner", True], ["internal", "boolean", "internal", True]]


def _flag(
    admin: Admin, key: str, kind: str, variations: list[Any], client_side: bool, **targeting: Any
) -> None:
    body = {"kind": kind, "variations": variations, "client_side": client_side}
    put = admin.http.put(f"/api/v1/projects/{admin.project}/flags/{key}", json=body)
    assert put.status_code == 201, put.text
    patch = {"enabled": True, **targeting}
    changed = admin.http.patch(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{key}", json=patch)
    assert changed.status_code == 200, changed.text


def _client_key(admin: Admin) -> str:
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/sdk-keys"
    created = admin.http.post(path, json={"name": "web", "kind": "client"})
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _setup(admin: Admin) -> str:
    for key, client_side in (("banner", True), ("internal", False)):
        _flag(admin, key, "boolean", [True, False], client_side)
    return _client_key(admin)


def _page_url(page: PageServer, server: ServerProcess, key: str, asks: list[list[Any]], **extra: str) -> str:
    query = {"server": server.base_url, "key": key, "asks": json.dumps(asks), "user": "user-1", **extra}
    return f"{page.origin}/?{urlencode(query)}"


def _report(page: PageServer, phase: str, timeout: float = 30) -> dict[str, Any]:
    """The page's next report of `phase`; reports of other phases (a re-fetch's "changed") are passed over."""
    deadline = time.monotonic() + timeout
    while True:
        report = page.next_report(timeout=max(deadline - time.monotonic(), 0.1))
        if report["phase"] == phase:
            return report


def test_flags_of_every_kind_reach_the_page_with_their_values_reasons_and_errors(
    web_bundle: Path, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    returning = {
        "id": "returning",
        "clauses": [{"attribute": "key", "op": "in", "values": ["user-1"]}],
        "serve": {"variation": 1},
    }
    halves = [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]
    split = {"rollout": {"variations": halves}}
    layout = {"columns": 2, "theme": {"dark": True, "accents": ["teal", "amber"]}}
    asks = [
        ["banner", "boolean", "banner", False],
        ["headline", "string", "headline", "fallback"],
        ["limit", "number", "max-items", -1],
        ["layout", "object", "layout", {}],
        ["internal", "string", "internal", "fallback"],
        ["missing", "number", "no-such-flag", 7],
        ["mismatch", "number", "headline", 42],
    ]
    with PageServer(web_bundle) as page:
        server = start_server(cors_allowed_origins=page.origin)
        admin = Admin(server.base_url)
        _flag(admin, "banner", "boolean", [True, False], True)
        _flag(admin, "headline", "string", ["Hello", "Welcome back"], True, rules=[returning])
        _flag(admin, "max-items", "number", [10, 2.5], True, fallthrough=split)
        _flag(admin, "layout", "json", [layout, {"columns": 3}], True)
        _flag(admin, "internal", "string", ["secret"], False)
        key = _client_key(admin)
        with Chromium(_page_url(page, server, key, asks, then="user-2"), tmp_path / "profile"):
            first = _report(page, "ready")
            second = _report(page, "context")
        admin.close()

    def seen(report: dict[str, Any], name: str) -> tuple[Any, ...]:
        details = report[name]
        return (details["value"], details.get("variant"), details["reason"], details.get("errorCode"))

    # The rollout's variant for each user, from the bucketing contract (docs/bucketing.md), not the server;
    # the two users fall in different halves, so the page's targeting key is what picks the variation.
    limit = {u: ("0", 10) if bucket("max-items", u) < 50000 else ("1", 2.5) for u in ("user-1", "user-2")}
    assert limit["user-1"] != limit["user-2"]
    for report, user in ((first, "user-1"), (second, "user-2")):
        variant, value = limit[user]
        assert seen(report, "banner") == (True, "0", "STATIC", None), report
        assert seen(report, "limit") == (value, variant, "SPLIT", None), report
        assert seen(report, "layout") == (layout, "0", "STATIC", None), report
        assert seen(report, "internal") == ("fallback", None, "ERROR", "FLAG_NOT_FOUND"), report
        assert seen(report, "missing") == (7, None, "ERROR", "FLAG_NOT_FOUND"), report
        assert seen(report, "mismatch") == (42, None, "ERROR", "TYPE_MISMATCH"), report
    # The rule on the targeting key decides for user-1 only: user-2 falls through to the first variation.
    assert seen(first, "headline") == ("Welcome back", "1", "TARGETING_MATCH", None)
    assert seen(second, "headline") == ("Hello", "0", "DEFAULT", None)


def test_a_kill_turns_a_flag_off_on_an_open_page_without_reload(
    web_bundle: Path, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    with PageServer(web_bundle) as page:
        server = start_server(cors_allowed_origins=page.origin)
        admin = Admin(server.base_url)
        key = _setup(admin)
        with Chromium(_page_url(page, server, key, BOOLEANS), tmp_path / "profile"):
            ready = page.next_report(timeout=30)
            admin.switch("banner", "kill")
            killed_at = time.monotonic()
            changed = page.next_report()
            seconds = time.monotonic() - killed_at
        admin.close()

    assert ready["phase"] == "ready"
    assert (ready["banner"]["value"], ready["banner"]["variant"], ready["banner"]["reason"]) == (
        True,
        "0",
        "STATIC",
    )
    assert "errorCode" not in ready["banner"]  # undefined in the page: no error
    assert ready["internal"]["errorCode"] == "FLAG_NOT_FOUND" and ready["internal"]["value"] is True
    assert changed["phase"] == "changed"
    assert changed["banner"]["value"] is False and changed["banner"]["reason"] == "DISABLED"
    print(f"the kill reached the page {seconds:.2f} s after the API call")


def test_a_page_on_an_origin_not_allowed_gets_no_flags(
    web_bundle: Path, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    with PageServer(web_bundle) as page:
        server = start_server(cors_allowed_origins="https://app.example.com")
        admin = Admin(server.base_url)
        key = _setup(admin)
        with Chromium(_page_url(page, server, key, BOOLEANS), tmp_path / "profile"):
            report = page.reports.get(timeout=30)
        admin.close()

    assert report["phase"] == "error", report


pytestmark = pytest.mark.timeout(180)
