"""The page of a flag in one environment: its targeting as sentences for every role; edit forms for editors
and admins only, each carrying the CSRF token and the version it edits; a refusal shown at its field; a
version conflict said plainly; and every edit a normal audited version with the signed-in key as actor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.page_client import Console, post_forms, signed_in

pytestmark = pytest.mark.anyio

TARGETED = {
    "targets": [{"variation": 0, "values": ["user-1", "<b>user-2</b>"]}],
    "rules": [
        {
            "id": "dutch-beta",
            "clauses": [{"attribute": "country", "op": "in", "values": ["NL", "BE"]}],
            "serve": {"variation": 0},
        }
    ],
    "fallthrough": {
        "rollout": {"variations": [{"variation": 0, "weight": 10000}, {"variation": 1, "weight": 90000}]}
    },
}


def _page(project: str, flag: str = "checkout", env: str = "production") -> str:
    return f"/console/projects/{project}/environments/{env}/flags/{flag}"


def _text(html: str) -> str:
    """The page's words without markup, as a person reads them."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


async def _targeted_flag(client: httpx.AsyncClient, project: str, flag: str = "checkout") -> dict[str, Any]:
    await create_flag(client, project, flag)
    response = await client.patch(
        env_flag_url(project, "production", flag), json={**TARGETED, "enabled": True}
    )
    assert response.status_code == 200, response.text
    flag_state: dict[str, Any] = response.json()["flag"]
    return flag_state


async def _flag(client: httpx.AsyncClient, project: str, flag: str = "checkout") -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(env_flag_url(project, "production", flag))).json()["flag"]
    return found


async def _edit(
    console: Console, project: str, form: str, fields: dict[str, str], version: int
) -> httpx.Response:
    return await console.post(f"{_page(project)}/edit/{form}", {**fields, "version": str(version)})


async def test_a_reader_sees_the_targeting_as_sentences_and_nothing_to_change(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _targeted_flag(client, project)

    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(_page(project))

    assert page.status_code == 200
    text = _text(page.text)
    assert "The flag is on." in text
    assert "Users user-1, <b>user-2</b> get true" in text
    assert "If country is one of NL, BE, serve true" in text
    assert "Everyone else: true for 10%, false for 90%" in text
    assert "&lt;b&gt;user-2&lt;/b&gt;" in page.text  # a value is escaped, never markup
    assert post_forms(page.text) == [f for f in post_forms(page.text) if "/console/sign-out" in f]
    assert "/edit/" not in page.text and "/revert" not in page.text and "/kill" not in page.text


async def test_an_operator_may_switch_the_flag_but_not_edit_it(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "operator") as operator:
        page = await operator.http.get(_page(project))
        refused = await _edit(
            operator, project, "rollout", {"weight-0": "50", "weight-1": "50"}, flag["version"]
        )

    assert f'href="{_page(project)}/kill"' in page.text and f'href="{_page(project)}/off"' in page.text
    assert "/edit/" not in page.text and "/revert" not in page.text
    assert refused.status_code == 403
    assert (await _flag(client, project))["version"] == flag["version"]


async def test_an_editor_sees_every_edit_form_each_with_the_token_and_the_version(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        page = await editor.http.get(_page(project))

    forms = post_forms(page.text)
    edits = [form for form in forms if "/edit/" in form]
    actions = {re.search(r'action="[^"]*/edit/(\w+)"', form).group(1) for form in edits}  # type: ignore[union-attr]
    assert actions == {"targets", "rollout", "rule", "rules", "json"}
    assert all(f'name="csrf_token" value="{editor.csrf}"' in form for form in forms)
    assert all(f'name="version" value="{flag["version"]}"' in form for form in edits)


async def test_an_editor_changes_the_rollout_as_a_normal_audited_version(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        saved = await _edit(
            editor,
            project,
            "rollout",
            {"weight-0": "25", "weight-1": "75", "reason": "ramp up"},
            flag["version"],
        )
        page = await editor.http.get(saved.headers["location"])

    assert saved.status_code == 303
    after = await _flag(client, project)
    assert after["version"] == flag["version"] + 1
    assert [v["weight"] for v in after["fallthrough"]["rollout"]["variations"]] == [25000, 75000]
    entry = (
        await client.get("/api/v1/audit", params={"project": project, "flag": "checkout", "limit": 1})
    ).json()
    assert (entry["items"][0]["action"], entry["items"][0]["actor"]) == ("flag.update", editor.key_name)
    assert entry["items"][0]["reason"] == "ramp up"
    text = _text(page.text)
    assert f"Saved the fallthrough of checkout in production: version {after['version']}." in text
    assert "Everyone else: rollout true 10% → 25%, false 90% → 75%" in text  # the history's diff


async def test_percentages_that_do_not_add_up_come_back_with_the_services_message_at_the_field(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        refused = await _edit(
            editor, project, "rollout", {"weight-0": "50", "weight-1": "40"}, flag["version"]
        )

    assert refused.status_code == 422
    error = re.search(
        r'<p class="field-error" id="rollout-weights-error" role="alert">([^<]*)</p>', refused.text
    )
    assert error is not None and "weights must sum to 100000 (100%), not 90000" in error.group(1)
    assert 'name="weight-1" value="40"' in refused.text  # what was typed is kept
    assert (await _flag(client, project))["version"] == flag["version"]


async def test_a_percentage_that_is_not_one_is_refused_at_its_own_input(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        refused = await _edit(
            editor, project, "rollout", {"weight-0": "fifty", "weight-1": "50"}, flag["version"]
        )

    assert refused.status_code == 422
    assert 'id="rollout-weight-0-error"' in refused.text
    assert re.search(r'name="weight-0" value="fifty" aria-invalid="true"', refused.text)


async def test_a_rule_the_service_refuses_shows_its_message_at_the_values(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)
    rule = {"attribute": "email", "op": "matches", "values": "(?<=@)example", "serve": "0"}

    async with signed_in(app, client, "editor") as editor:
        refused = await _edit(editor, project, "rule", rule, flag["version"])

    assert refused.status_code == 422
    error = re.search(r'id="rule-values-error" role="alert">([^<]*)<', refused.text)
    assert error is not None and "rules[1].clauses[0].values" in error.group(1)
    assert "(?&lt;=@)example" in refused.text  # the typed pattern is kept, escaped


async def test_a_simple_rule_is_added_and_reads_as_a_sentence(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)
    rule = {"attribute": "app_version", "op": "semver_gte", "values": "2.1.0", "serve": "1", "id": "new-app"}

    async with signed_in(app, client, "editor") as editor:
        saved = await _edit(editor, project, "rule", rule, flag["version"])
        page = await editor.http.get(_page(project))

    assert saved.status_code == 303
    assert [r["id"] for r in (await _flag(client, project))["rules"]] == ["dutch-beta", "new-app"]
    assert "new-app If app_version is version 2.1.0 or later, serve false" in _text(page.text)


async def test_rules_are_moved_and_removed(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        added = await _edit(
            editor, project, "rule", {"op": "exists", "attribute": "plan", "serve": "1"}, flag["version"]
        )
        moved = await _edit(editor, project, "rules", {"rule": "rule-2", "do": "up"}, flag["version"] + 1)
        order = [r["id"] for r in (await _flag(client, project))["rules"]]
        removed = await _edit(
            editor, project, "rules", {"rule": "dutch-beta", "do": "remove"}, flag["version"] + 2
        )

    assert (added.status_code, moved.status_code, removed.status_code) == (303, 303, 303)
    assert order == ["rule-2", "dutch-beta"]
    assert [r["id"] for r in (await _flag(client, project))["rules"]] == ["rule-2"]


async def test_target_keys_are_added_and_removed(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        await _edit(
            editor,
            project,
            "targets",
            {"action": "add", "variation": "1", "keys": "user-1, user-9"},
            flag["version"],
        )
        moved = (await _flag(client, project))["targets"]
        await _edit(editor, project, "targets", {"action": "remove", "keys": "user-9"}, flag["version"] + 1)

    assert moved == [
        {"variation": 0, "values": ["<b>user-2</b>"]},
        {"variation": 1, "values": ["user-1", "user-9"]},
    ]
    assert (await _flag(client, project))["targets"][1] == {"variation": 1, "values": ["user-1"]}


async def test_the_json_editor_saves_and_shows_a_refusal_at_the_textarea(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        broken = await _edit(editor, project, "json", {"json": '{"rules": ['}, flag["version"])
        unknown = await _edit(editor, project, "json", {"json": '{"colour": "red"}'}, flag["version"])
        saved = await _edit(
            editor, project, "json", {"json": '{"rules": [], "targets": []}'}, flag["version"]
        )

    assert broken.status_code == 422 and 'id="json-json-error"' in broken.text and "not JSON" in broken.text
    assert (
        unknown.status_code == 422
        and "unknown field" in unknown.text
        and 'id="json-json-error"' in unknown.text
    )
    assert saved.status_code == 303
    after = await _flag(client, project)
    assert (after["rules"], after["targets"]) == ([], [])


async def test_an_edit_of_a_version_someone_else_changed_meanwhile_saves_nothing(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)
    await client.patch(env_flag_url(project, "production", "checkout"), json={"targets": []})

    async with signed_in(app, client, "editor") as editor:
        stale = await _edit(editor, project, "rollout", {"weight-0": "50", "weight-1": "50"}, flag["version"])

    assert stale.status_code == 409
    assert "changed by someone else meanwhile" in _text(stale.text)
    assert f'<a href="{_page(project)}">Reload the page</a>' in stale.text
    after = await _flag(client, project)
    assert after["version"] == flag["version"] + 1 and "rollout" in after["fallthrough"]
    assert after["fallthrough"]["rollout"]["variations"][0]["weight"] == 10000


async def test_an_edit_without_the_csrf_token_is_refused_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        refused = await editor.http.post(
            f"{_page(project)}/edit/rollout",
            data={"weight-0": "50", "weight-1": "50", "version": str(flag["version"])},
        )

    assert refused.status_code == 403
    assert (await _flag(client, project))["version"] == flag["version"]


async def test_an_unknown_form_is_refused_and_an_unknown_flag_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    flag = await _targeted_flag(client, project)

    async with signed_in(app, client, "editor") as editor:
        form = await _edit(editor, project, "colour", {}, flag["version"])
        missing = await editor.http.get(_page(project, "no-such-flag"))

    assert form.status_code == 422
    assert missing.status_code == 404


async def test_history_pages_through_older_versions(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "busy")
    for i in range(22):
        await client.patch(
            env_flag_url(project, "production", "busy"),
            json={"targets": [{"variation": 0, "values": [f"u{i}"]}]},
        )

    async with signed_in(app, client, "reader") as reader:
        first = await reader.http.get(_page(project, "busy"))
        older = re.search(r'href="([^"]*history_before=\d+)#history"', first.text)
        assert older is not None
        second = await reader.http.get(older.group(1).replace("&amp;", "&"))

    first_versions = re.findall(r"<strong>Version (\d+)</strong>", first.text)
    second_versions = re.findall(r"<strong>Version (\d+)</strong>", second.text)
    assert len(first_versions) == 20 and first_versions[0] == "23"
    assert second_versions == ["3", "2", "1"]
    assert "Flag created" in _text(second.text)


async def test_the_flags_rollout_plan_and_scheduled_changes_are_shown(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    base = f"/api/v1/projects/{project}/environments/production"
    plan = {
        "flag": "checkout",
        "variation": 0,
        "control": 1,
        "steps": [{"percent": 5, "dwell_seconds": 3600}, {"percent": 50, "dwell_seconds": 3600}],
    }
    started = await client.post(f"{base}/rollouts", json=plan)
    assert started.status_code == 201, started.text
    due = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    later = {
        "flag": "checkout",
        "at": due.isoformat(),
        "action": "kill",
        "reason": "end of the campaign",
    }
    scheduled = await client.post(f"{base}/schedules", json=later)
    assert scheduled.status_code == 201, scheduled.text

    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(_page(project))

    text = _text(page.text)
    assert f"plan {started.json()['id']}" in text and "step 1 of 2: true to 5%, the rest false" in text
    assert "5% → 50%" in text and "next 50%" in text
    assert f"{due:%Y-%m-%d %H:%M:%S} UTC: kill" in text and "end of the campaign" in text


async def test_a_flag_without_releases_offers_to_start_one_to_an_editor_only(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _targeted_flag(client, project)

    async with signed_in(app, client, "reader") as reader:
        read = await reader.http.get(_page(project))
    async with signed_in(app, client, "editor") as editor:
        edit = await editor.http.get(_page(project))

    assert 'id="releases"' in read.text and 'id="releases"' in edit.text
    assert "Start rollout" not in read.text and "Start rollout" in edit.text


async def test_the_flags_page_shows_its_targeting_in_each_environment_with_a_way_to_each(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _targeted_flag(client, project)

    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(f"/console/projects/{project}/flags/checkout")

    assert page.status_code == 200
    production = re.search(r'<section class="panel" id="targeting-production".*?</section>', page.text, re.S)
    staging = re.search(r'<section class="panel" id="targeting-staging".*?</section>', page.text, re.S)
    assert production is not None and staging is not None
    assert "If country is one of NL, BE, serve true" in _text(production.group(0))
    assert "The flag is off: everyone gets false." in _text(staging.group(0))
    assert f'href="{_page(project)}"' in production.group(0)


async def test_every_page_of_a_project_leads_to_the_audit_log_and_the_environments_sdk_instances(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _targeted_flag(client, project)

    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(_page(project))

    assert f'href="/console/audit?project={project}"' in page.text
    assert f'href="/console/projects/{project}/environments/production">SDK instances' in page.text
