"""The releases page and the rollout plan forms: editors start plans that the REST API then shows, operators
may only stop them (pause, abort: break-glass), readers only look; every form needs the session's CSRF token,
a refusal is shown at the field it is about, and each change is audited as the signed-in key. The plans table
follows a plan as it steps (the rows its script fetches), and shows a rolled-back plan's figures."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.console.release_helpers import ENV, audit, console, field_error, flag_on, plans
from tests.services.rollout_helpers import NEW, OLD, world

pytestmark = pytest.mark.anyio

START = {"flag": "checkout", "variation": "true", "control": "false", "steps": "10,100", "dwell": "10m"}


def _plan_row(html: str, plan: int) -> str:
    found = re.search(rf'<tr id="plan-{plan}".*?</tr>', html, re.S)
    assert found is not None, f"no row of plan {plan}"
    return found.group(0)


async def test_an_editor_starts_a_plan_that_the_rest_api_shows_audited_as_the_signed_in_key(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        page = await c.http.get(f"{c.base}/releases")
        assert 'id="start-rollout"' in page.text
        started = await c.post(
            f"{c.base}/rollouts",
            {**START, "steps": "10, 50,100", "dwell": "10m,1h,0", "reason": "new checkout", "next": "/x"},
        )
        assert started.status_code == 303
        assert started.headers["location"] == f"{c.base}/releases"  # `next` outside the console is ignored
        shown = await c.http.get(started.headers["location"])
    assert "Started rollout plan" in shown.text and "checkout at 10% in production, next 50%" in shown.text
    [plan] = await plans(client, project)
    assert (plan["flag"], plan["variation"], plan["control"], plan["status"]) == ("checkout", 0, 1, "running")
    assert [(s["percent"], s["dwell_seconds"]) for s in plan["steps"]] == [(10, 600), (50, 3600), (100, 0)]
    assert plan["created_by"] == c.name and plan["current_step"] == 0
    [entry] = await audit(client, project, "rollout.start")
    assert (entry["actor"], entry["reason"], entry["target_key"]) == (c.name, "new checkout", "checkout")
    row = _plan_row(shown.text, plan["id"])
    assert "step 1 of 3" in row and "<code>true</code> to" in row and "10%" in row
    assert f"{c.base}/rollouts/{plan['id']}/pause" in row and f"{c.base}/rollouts/{plan['id']}/abort" in row


async def test_a_guard_is_started_with_the_ratio_min_sample_and_on_trip_typed(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "admin") as c:
        guard = {"guard": "on", "guard_ratio": "2", "guard_min_sample": "500", "guard_on_trip": "kill"}
        fields = {**START, **guard}
        assert (await c.post(f"{c.base}/rollouts", fields)).status_code == 303
        page = await c.http.get(f"{c.base}/releases")
    [plan] = await plans(client, project)
    assert plan["guard"]["ratio"] == 2 and plan["guard"]["min_sample"] == 500
    assert (plan["guard"]["on_trip"], plan["guard"]["source"]) == ("kill", "sdk")
    assert "ratio 2.0, 500 each side, on trip: kill (sdk)" in _plan_row(page.text, plan["id"])


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"steps": "10,5"}, "steps", "must be above the previous step"),
        ({"steps": "10,x"}, "steps", "'x' is not a number"),
        ({"steps": "0,100"}, "steps", "greater than 0"),
        ({"dwell": "ten minutes"}, "dwell", "is not a duration"),
        ({"dwell": "1m,2m,3m"}, "dwell", "gives 3 times for 2 steps"),
        ({"variation": "maybe"}, "variation", "no variation 'maybe'"),
        ({"variation": "#7"}, "variation", "the flag has 2 variations"),
        ({"control": "true"}, "control", "must differ from variation"),
        ({"flag": ""}, "flag", "choose the flag"),
        ({"flag": "nope"}, "flag", "does not exist"),
        ({"guard": "on", "guard_ratio": "0.5"}, "guard_ratio", "must be between 1"),
        ({"guard": "on", "guard_ratio": "lots"}, "guard_ratio", "not a number"),
        ({"guard": "on", "guard_min_sample": "-3"}, "guard_min_sample", "not a whole number"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_a_refused_plan_is_shown_at_its_field_with_what_was_typed_and_nothing_starts(
    app: FastAPI, client: httpx.AsyncClient, project: str, fields: dict[str, str], field: str, says: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        page = await c.post(f"{c.base}/rollouts", {**START, **fields})
    assert page.status_code == 422, page.text
    error = field_error(page.text, "start", field)
    assert error is not None and says in error, error
    assert '<details class="panel" open>' in page.text  # the form is open, with what was typed
    typed = fields.get("steps", START["steps"])
    assert f'value="{typed}"' in page.text
    assert await plans(client, project) == []


async def test_a_second_plan_on_the_same_flag_is_refused_at_the_flag_field(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        assert (await c.post(f"{c.base}/rollouts", START)).status_code == 303
        again = await c.post(f"{c.base}/rollouts", START)
    assert again.status_code == 409
    error = field_error(again.text, "start", "flag")
    assert error is not None and "already has a running rollout plan" in error
    assert len(await plans(client, project)) == 1


async def test_an_operator_pauses_and_aborts_with_a_reason_but_may_not_start_or_resume(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as editor:
        assert (await editor.post(f"{editor.base}/rollouts", START)).status_code == 303
    [plan] = await plans(client, project)
    plan_url = f"/console/projects/{project}/environments/{ENV}/rollouts/{plan['id']}"
    async with console(app, client, project, "operator") as c:
        page = await c.http.get(f"{c.base}/releases")
        assert 'id="start-rollout"' not in page.text and "Schedule a change" not in page.text
        row = _plan_row(page.text, plan["id"])
        assert f"{plan_url}/pause" in row and f"{plan_url}/abort" in row and "Kill flag" in row
        assert (await c.post(f"{c.base}/rollouts", START)).status_code == 403

        confirm = await c.http.get(f"{plan_url}/pause")
        assert confirm.status_code == 200 and "Pause plan" in confirm.text
        paused = await c.post(f"{plan_url}/pause", {"reason": "latency up", "next": f"{c.base}/releases"})
        assert paused.status_code == 303
        api_plan = f"/api/v1/projects/{project}/environments/{ENV}/rollouts/{plan['id']}"
        assert (await client.get(api_plan)).json()["status"] == "paused"
        page = await c.http.get(f"{c.base}/releases")
        assert f"{plan_url}/resume" not in page.text  # an operator may not resume
        assert (await c.http.get(f"{plan_url}/resume")).status_code == 403
        assert (await c.post(f"{plan_url}/resume", {"reason": "x"})).status_code == 403

        aborted = await c.post(f"{plan_url}/abort", {"reason": "rolled back by hand"})
        assert aborted.status_code == 303
    after = (await client.get(f"/api/v1/projects/{project}/environments/{ENV}/rollouts/{plan['id']}")).json()
    assert after["status"] == "aborted"
    flag = (await client.get(f"/api/v1/projects/{project}/environments/{ENV}/flags/checkout")).json()["flag"]
    assert flag["fallthrough"] == {"variation": 0}  # back as before the plan
    [pause] = await audit(client, project, "rollout.pause")
    [abort] = await audit(client, project, "rollout.abort")
    assert (pause["actor"], pause["reason"]) == (c.name, "latency up")
    assert abort["actor"] == c.name and abort["reason"].endswith("rolled back by hand")


async def test_an_editor_resumes_a_paused_plan(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        assert (await c.post(f"{c.base}/rollouts", START)).status_code == 303
        [plan] = await plans(client, project)
        plan_url = f"{c.base}/rollouts/{plan['id']}"
        assert (await c.post(f"{plan_url}/pause", {})).status_code == 303
        page = await c.http.get(f"{c.base}/releases")
        assert f"{plan_url}/resume" in _plan_row(page.text, plan["id"])
        assert "once resumed" in _plan_row(page.text, plan["id"])
        resumed = await c.post(f"{plan_url}/resume", {"reason": "latency fine", "next": f"{c.base}/releases"})
        assert resumed.status_code == 303
        again = await c.post(f"{plan_url}/resume", {})  # it runs: only a paused plan can be resumed
        assert again.status_code == 409 and "only a paused plan can be resumed" in again.text
    [entry] = await audit(client, project, "rollout.resume")
    assert (entry["actor"], entry["reason"]) == (c.name, "latency fine")
    assert (await plans(client, project))[0]["status"] == "running"


async def test_a_reader_sees_the_releases_with_no_form_and_every_post_is_refused(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as editor:
        assert (await editor.post(f"{editor.base}/rollouts", START)).status_code == 303
    [plan] = await plans(client, project)
    before = len((await client.get("/api/v1/audit", params={"project": project})).json()["items"])
    async with console(app, client, project, "reader") as c:
        page = await c.http.get(f"{c.base}/releases")
        assert page.status_code == 200 and "step 1 of 2" in page.text
        assert '<form method="post" action="/console/projects' not in page.text  # only sign-out posts
        assert "/pause" not in page.text and "Kill flag" not in page.text
        partial = await c.http.get(f"{c.base}/flags/checkout/releases")
        assert partial.status_code == 200 and "Start rollout" not in partial.text
        for path in (
            f"{c.base}/rollouts",
            f"{c.base}/rollouts/{plan['id']}/pause",
            f"{c.base}/rollouts/{plan['id']}/abort",
            f"{c.base}/rollouts/{plan['id']}/resume",
            f"{c.base}/schedules",
            f"{c.base}/schedules/1/cancel",
            f"{c.base}/triggers",
            f"{c.base}/triggers/1/revoke",
            f"{c.base}/webhooks",
            f"{c.base}/webhooks/1/delete",
            f"/console/projects/{project}/flags/new",
            f"/console/projects/{project}/flags/checkout/settings",
        ):
            refused = await c.post(
                path, {**START, "action": "on", "after": "+1h", "name": "n", "url": "http://h/"}
            )
            assert refused.status_code == 403, path
        assert (await c.http.get(f"{c.base}/rollouts/{plan['id']}/pause")).status_code == 403
    after = len((await client.get("/api/v1/audit", params={"project": project})).json()["items"])
    assert after == before  # sign-in aside, nothing was audited: nothing changed
    assert (await plans(client, project))[0]["status"] == "running"


@pytest.mark.parametrize(
    "path",
    ["rollouts", "rollouts/{plan}/pause", "rollouts/{plan}/abort", "schedules", "triggers", "webhooks"],
)
async def test_every_release_form_without_this_sessions_csrf_token_is_refused_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, project: str, path: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "admin") as c:
        assert (await c.post(f"{c.base}/rollouts", START)).status_code == 303
        [plan] = await plans(client, project)
        fields = {**START, "action": "on", "after": "+1h", "name": "pager", "url": "http://127.0.0.1:9/"}
        url = f"{c.base}/{path.format(plan=plan['id'])}"
        without = await c.http.post(url, data=fields)
        wrong = await c.http.post(url, data={**fields, "csrf_token": "not-this-one"})
        elsewhere = await c.post(url, fields, headers={"Sec-Fetch-Site": "cross-site"})
    for refused in (without, wrong, elsewhere):
        assert refused.status_code == 403 and "nothing was done" in refused.text
    assert (await plans(client, project))[0]["status"] == "running"
    listed = f"/api/v1/projects/{project}/environments/{ENV}"
    assert (await client.get(f"{listed}/schedules")).json()["items"] == []
    assert (await client.get(f"{listed}/triggers")).json()["items"] == []
    assert (await client.get(f"{listed}/webhooks")).json()["items"] == []


async def test_the_plans_rows_follow_a_plan_step_by_step_then_stop_asking(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    w = world(app)
    plan = w.start([(50, 60), (100, 60)])
    async with console(app, client, w.project, "reader") as c:
        rows = f"{c.base}/releases/plans"
        first = (await c.http.get(rows, headers={"Accept": "application/json"})).json()
        assert first["active"] is True and "step 1 of 2" in first["html"] and "50%" in first["html"]
        w.run(60)
        second = (await c.http.get(rows)).json()
        assert second["active"] is True and "step 2 of 2" in second["html"]
        assert '<code>new</code> to <strong class="plan-percent">100%</strong>' in second["html"]
        w.run(60)
        done = (await c.http.get(rows)).json()
        assert done["active"] is False and "completed" in done["html"]
        one = (await c.http.get(rows, params={"flag": "other"})).json()
        assert one == {"html": one["html"], "active": False} and "No rollout plan of this flag" in one["html"]
    assert plan.id in [view["id"] for view in await plans(client, w.project)]


async def test_a_rolled_back_plan_shows_its_trip_figures(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = world(app)
    guard = {"ratio": 1.5, "min_sample": 200, "failure_event": "error", "total_event": "request"}
    plan = w.start([(10, 60), (100, 60)], guard=guard)
    for variation, (requests, errors) in ((NEW, (1000, 90)), (OLD, (9000, 270))):
        w.report("checkout", variation, "request", requests)
        w.report("checkout", variation, "error", errors)
    w.run(10)
    async with console(app, client, w.project, "reader") as c:
        page = await c.http.get(f"{c.base}/releases")
    row = _plan_row(page.text, plan.id)
    assert "rolled back" in row and 'class="trip small"' in row
    assert "Rolled back at 10%</strong> (restore)" in row
    assert "released 90 of 1000 failed (9%)" in row and "the rest 270 of 9000 (3%)" in row
    assert "; 3x" in row and re.search(r"z \d+\.\d\d above 3\.09", row)
    assert "tripped" in row  # the guard's last check


async def test_the_flags_releases_page_offers_the_partials_forms_and_takes_refusals_back_there(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        flag_page = f"{c.base}/flags/checkout/releases"
        page = await c.http.get(flag_page)
        assert page.status_code == 200
        assert '<option value="#0" selected>true</option>' in page.text  # the variations, by value
        assert 'name="origin_flag" value="checkout"' in page.text
        assert f'name="next" value="{flag_page}"' in page.text
        assert re.search(r"Client-side:</span>\s*<strong>off</strong>", page.text)
        refused = await c.post(
            f"{c.base}/rollouts",
            {
                "flag": "checkout",
                "variation": "#0",
                "control": "#1",
                "steps": "50,40",
                "dwell": "1m",
                "origin_flag": "checkout",
                "next": flag_page,
            },
        )
        assert refused.status_code == 422
        assert '<code>checkout</code> <span class="muted">releases in production' in refused.text
        assert "must be above" in (field_error(refused.text, "start", "steps") or "")
        assert f'name="next" value="{flag_page}"' in refused.text  # still leads back where it came from
        started = await c.post(
            f"{c.base}/rollouts",
            {
                "flag": "checkout",
                "variation": "#0",
                "control": "#1",
                "steps": "50,100",
                "dwell": "1m",
                "origin_flag": "checkout",
                "next": flag_page,
            },
        )
        assert started.headers["location"] == flag_page
        page = await c.http.get(flag_page)
        assert "step 1 of 2" in page.text and "Start rollout" not in page.text  # one active plan at a time
        assert 'data-active="true"' in page.text


async def test_an_unknown_environment_is_the_consoles_not_found_page_not_a_form_error(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    async with console(app, client, project, "editor") as c:
        elsewhere = f"/console/projects/{project}/environments/nowhere"
        page = await c.http.get(f"{elsewhere}/releases")
        started = await c.post(f"{elsewhere}/rollouts", START)
    for answer in (page, started):
        assert answer.status_code == 404 and "environment &#39;nowhere&#39; does not exist" in answer.text


@pytest.mark.parametrize(
    "path", ["/environments/production/flags/checkout", "/environments/production/releases"]
)
async def test_a_page_with_the_release_forms_names_each_element_once(
    app: FastAPI, client: httpx.AsyncClient, project: str, path: str
) -> None:
    """Labels find their input by id: the flag page's own forms and the releases part must not share one."""
    await flag_on(client, project)
    async with console(app, client, project, "admin") as c:
        page = await c.http.get(f"/console/projects/{project}{path}")
    assert page.status_code == 200
    ids = re.findall(r'\sid="([^"]+)"', page.text)
    assert "start-rollout" in ids
    assert sorted({name for name in ids if ids.count(name) > 1}) == []
