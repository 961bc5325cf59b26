"""Every console POST needs the session's CSRF token and the console's own origin, checked before anything
runs; and each role sees, and may use, exactly its part: a reader changes nothing, an operator switches."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.helpers import admin_key, browser, sign_in

pytestmark = pytest.mark.anyio


def _kill_path(project: str, flag: str, env: str = "production") -> str:
    return f"/console/projects/{project}/environments/{env}/flags/{flag}/kill"


async def _flag_on(client: httpx.AsyncClient, project: str, flag: str) -> None:
    await create_flag(client, project, flag)
    assert (await client.post(env_flag_url(project, "production", flag, "on"))).status_code == 200


async def _enabled(client: httpx.AsyncClient, project: str, flag: str) -> bool:
    enabled: bool = (await client.get(env_flag_url(project, "production", flag))).json()["flag"]["enabled"]
    return enabled


async def _audit_count(client: httpx.AsyncClient, project: str, flag: str) -> int:
    return len((await client.get("/api/v1/audit", params={"project": project, "flag": flag})).json()["items"])


@pytest.mark.parametrize(
    ("fields", "headers"),
    [
        ({"reason": "no token"}, {}),
        ({"reason": "wrong token", "csrf_token": "not-this-sessions"}, {}),
        ({"reason": "token in a cross-site request"}, {"Sec-Fetch-Site": "cross-site"}),
        ({"reason": "token from another origin"}, {"Origin": "https://elsewhere.example"}),
    ],
    ids=["missing", "wrong", "cross-site", "other-origin"],
)
async def test_a_post_without_this_sessions_token_from_this_origin_is_refused_and_changes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    project: str,
    fields: dict[str, str],
    headers: dict[str, str],
) -> None:
    await _flag_on(client, project, "checkout")
    before = await _audit_count(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        if "csrf_token" not in fields and headers:
            fields = {**fields, "csrf_token": csrf}  # a correct token does not excuse a foreign origin
        response = await http.post(_kill_path(project, "checkout"), data=fields, headers=headers)
    assert response.status_code == 403
    assert "nothing was done" in response.text
    assert await _enabled(client, project, "checkout")
    assert await _audit_count(client, project, "checkout") == before


async def test_another_sessions_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as mine, browser(app) as theirs:
        await sign_in(mine, key)
        their_token = await sign_in(theirs, key)
        response = await mine.post(
            _kill_path(project, "checkout"), data={"reason": "x", "csrf_token": their_token}
        )
    assert response.status_code == 403
    assert await _enabled(client, project, "checkout")


async def test_with_the_token_a_kill_is_audited_as_the_signed_in_key(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        response = await http.post(
            _kill_path(project, "checkout"), data={"reason": "incident 42", "csrf_token": csrf}
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith(
            f"/console/projects/{project}/confirmations?at=production"
        )
        assert not await _enabled(client, project, "checkout")
        entry = (await client.get("/api/v1/audit", params={"project": project, "flag": "checkout"})).json()
        latest = entry["items"][0]
        assert (latest["action"], latest["reason"], latest["environment"]) == (
            "flag.kill",
            "incident 42",
            "production",
        )
        assert latest["actor"].startswith("operator-")
        listed = await http.get(f"/console/projects/{project}/environments/production/flags")
        assert 'data-key="checkout" data-state="killed"' in listed.text
        assert "incident 42" in listed.text


async def test_the_csrf_token_may_come_in_a_header_as_the_script_sends_it(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        response = await http.post(
            env_path(project, "checkout", "off"),
            data={"reason": ""},
            headers={"X-CSRF-Token": csrf, "Accept": "application/json", "Sec-Fetch-Site": "same-origin"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] is True
    assert (
        body["counter_url"]
        == f"/console/projects/{project}/environments/production/propagation.json?revision={body['revision']}"
    )
    assert not await _enabled(client, project, "checkout")


def env_path(project: str, flag: str, action: str) -> str:
    return f"/console/projects/{project}/environments/production/flags/{flag}/{action}"


async def test_a_kill_without_a_reason_is_refused_at_the_field(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        page = await http.post(_kill_path(project, "checkout"), data={"reason": "  ", "csrf_token": csrf})
        assert page.status_code == 422
        assert 'aria-invalid="true"' in page.text and "needs a reason" in page.text
        answer = await http.post(
            _kill_path(project, "checkout"),
            data={"reason": ""},
            headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["field"] == "reason"
    assert await _enabled(client, project, "checkout")


async def test_a_reader_sees_no_button_that_changes_anything_and_is_refused_if_it_posts(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        listed = await http.get(f"/console/projects/{project}/environments/production/flags")
        flag_page = await http.get(f"/console/projects/{project}/flags/checkout")
        for page in (listed, flag_page):
            assert page.status_code == 200
            assert "checkout" in page.text
            assert "data-switch" not in page.text
            assert "kill-everywhere" not in page.text and "switch-dialog" not in page.text
            assert page.text.count('method="post"') == 1  # sign-out only
        assert (await http.get(_kill_path(project, "checkout"))).status_code == 403
        refused = await http.post(_kill_path(project, "checkout"), data={"reason": "x", "csrf_token": csrf})
        assert refused.status_code == 403
        assert "reader role may not toggle" in refused.text
    assert await _enabled(client, project, "checkout")


@pytest.mark.parametrize("role", ["operator", "editor", "admin"])
async def test_roles_that_may_toggle_see_kill_on_and_off(
    app: FastAPI, client: httpx.AsyncClient, project: str, role: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, role)
    async with browser(app) as http:
        await sign_in(http, key)
        listed = (await http.get(f"/console/projects/{project}/environments/production/flags")).text
    assert 'data-switch="kill"' in listed and 'data-switch="off"' in listed
    assert f'class="role role-{role}"' in listed


async def test_a_project_scoped_key_sees_only_its_project(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator", project)
    async with browser(app) as http:
        await sign_in(http, key)
        home = await http.get("/console")
        assert home.headers["location"] == f"/console/projects/{project}/environments/development/flags"
        other = await http.get("/console/projects/default/environments/production/flags")
        assert other.status_code == 403
        assert f"limited to project {project}." in other.text
        own = await http.get(f"/console/projects/{project}/environments/production/flags")
        assert (
            ">default<" not in own.text.lower() and f">{project}<" in own.text
        )  # the switcher lists its own


async def test_behind_a_proxy_the_browsers_same_origin_word_is_enough(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    """A TLS proxy may present another scheme and host than the server sees; `Sec-Fetch-Site` still holds."""
    await _flag_on(client, project, "checkout")
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        response = await http.post(
            _kill_path(project, "checkout"),
            data={"reason": "through the proxy", "csrf_token": csrf},
            headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://flags.example.com"},
        )
    assert response.status_code == 303
    assert not await _enabled(client, project, "checkout")


async def test_switching_to_the_state_a_flag_has_changes_nothing_and_says_so(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")  # off everywhere
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        answer = await http.post(
            env_path(project, "checkout", "kill"),
            data={"reason": "make sure"},
            headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
        )
    assert answer.status_code == 200
    assert answer.json()["changed"] is False
    assert answer.json()["message"] == "checkout was already off in production."
    assert await _audit_count(client, project, "checkout") == 1  # its creation only
