"""OFREP in a browser: the third-party `@openfeature/ofrep-web-provider` in headless Chromium, on a page
served from another origin, evaluates client-side flags with a client key through CORS, and a kill reaches
the open page through OFREP's event stream, without a reload."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.browser.web_provider import Chromium, PageServer
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess


def _setup(admin: Admin) -> str:
    for key, client_side in (("banner", True), ("internal", False)):
        body = {"kind": "boolean", "variations": [True, False], "client_side": client_side}
        put = admin.http.put(f"/api/v1/projects/{admin.project}/flags/{key}", json=body)
        assert put.status_code == 201, put.text
        admin.switch(key, "on")
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/sdk-keys"
    created = admin.http.post(path, json={"name": "web", "kind": "client"})
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def test_a_kill_turns_a_flag_off_on_an_open_page_without_reload(
    web_bundle: Path, start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    with PageServer(web_bundle) as page:
        server = start_server(cors_allowed_origins=page.origin)
        admin = Admin(server.base_url)
        key = _setup(admin)
        url = f"{page.origin}/?{urlencode({'server': server.base_url, 'key': key})}"
        with Chromium(url, tmp_path / "profile"):
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
        url = f"{page.origin}/?{urlencode({'server': server.base_url, 'key': key})}"
        with Chromium(url, tmp_path / "profile"):
            report = page.reports.get(timeout=30)
        admin.close()

    assert report["phase"] == "error", report


pytestmark = pytest.mark.timeout(180)
