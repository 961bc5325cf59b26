"""`flagstaff rollout start|status|pause|resume|abort`: progressive rollout plans on a running server.

The same calls as the HTTP API (`POST .../rollouts`, `GET .../rollouts/{id}`, ...), printed for a person;
every rule (steps, guard, roles) is the server's.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from app.cli_audit import when
from app.cli_errors import CliError
from app.cli_http import SERVER_HELP, ServerClient
from app.release_text import TextError, rollout_steps

_PROJECT_HELP = "the project's key (default: default)"
_CHANGES = {
    "pause": "pause a running plan: the flag stays at its current step (operators may)",
    "resume": "resume a paused plan: its current step again (written anew if the flag changed), then on",
    "abort": "abort a plan: the flag's fields back as they were before it, in one revision (operators may)",
}


def add_parser(commands: Any) -> None:
    """Registers `rollout start|status|pause|resume|abort` on the CLI's sub-command parser."""
    rollout = commands.add_parser(
        "rollout",
        help="progressive rollout plans: start, status, pause, resume, abort",
        description=SERVER_HELP,
    )
    actions = rollout.add_subparsers(
        dest="rollout_command", required=True, metavar="{start,status,pause,resume,abort}"
    )
    start = actions.add_parser(
        "start",
        help="start a plan: release a variation to the fallthrough step by step",
        description="Start a rollout plan: the fallthrough serves --variation to the first step's percent at "
        "once, then to each next percent after the dwell time, rolled back if the guard trips. "
        + SERVER_HELP,
    )
    _where(start)
    start.add_argument("--flag", required=True, help="the flag's key")
    start.add_argument("--variation", type=int, required=True, help="the variation released, by index")
    start.add_argument(
        "--control", type=int, help="the variation the others keep (default: the fallthrough's)"
    )
    start.add_argument("--steps", required=True, help="percents, strictly increasing, e.g. 1,5,10,25,50,100")
    start.add_argument(
        "--dwell",
        required=True,
        help="time at each step before the next: one for all (10m, 1h30m, 90s, 45) or one per step, "
        "comma-separated",
    )
    start.add_argument("--reason", help="why, recorded in the audit log")
    guard = start.add_argument_group("guard (any of these adds one; the server fills in the defaults)")
    guard.add_argument(
        "--guard", action="store_true", help="a guard with every default (SDK metrics, ratio 1.5)"
    )
    guard.add_argument("--guard-source", choices=["sdk", "prometheus"], help="where the counts come from")
    guard.add_argument("--guard-ratio", type=float, help="trip above this x the control's failure rate")
    guard.add_argument("--guard-min-sample", type=int, help="observations each side needs before judging")
    guard.add_argument("--guard-confidence", type=float, help="one-sided confidence, e.g. 0.999")
    guard.add_argument("--guard-failure-event", help="the tracked event counted as a failure (sdk)")
    guard.add_argument("--guard-total-event", help="the tracked event counted as an observation (sdk)")
    guard.add_argument("--guard-on-trip", choices=["restore", "kill"], help="what a trip does to the flag")
    guard.add_argument("--prometheus-url", help="the Prometheus server (source prometheus)")
    guard.add_argument("--prometheus-failures", help="PromQL: a side's failures, with {variation}")
    guard.add_argument("--prometheus-total", help="PromQL: a side's observations, with {variation}")

    status = actions.add_parser(
        "status",
        help="one plan's step, percent, next step time and last guard check; or the list of plans",
        description="With a plan id: its step, percent, next step time, guard and last check, trip figures "
        "and SDK confirmations. Without: the environment's plans, newest first. " + SERVER_HELP,
    )
    _where(status)
    status.add_argument("plan", nargs="?", type=int, help="the plan's id (default: list the plans)")
    status.add_argument("--flag", help="list only this flag's plans")
    for action, summary in _CHANGES.items():
        change = actions.add_parser(
            action, help=summary, description=f"{summary[:1].upper()}{summary[1:]}. {SERVER_HELP}"
        )
        _where(change)
        change.add_argument("plan", type=int, help="the plan's id")
        change.add_argument("--reason", help="why, recorded in the audit log")


def run(args: argparse.Namespace) -> int:
    base = f"/api/v1/projects/{args.project}/environments/{args.env}/rollouts"
    with ServerClient.from_environment() as client:
        if args.rollout_command == "start":
            plan = client.request("POST", base, json=_start_body(args))
            print(f"started rollout {plan['id']} of {plan['flag']} in {args.project}/{args.env}")
        elif args.rollout_command == "status" and args.plan is None:
            return _list(client, base, args.flag)
        elif args.rollout_command == "status":
            plan = client.get(f"{base}/{args.plan}")
        else:
            body = {"reason": args.reason} if args.reason is not None else {}
            plan = client.request("POST", f"{base}/{args.plan}/{args.rollout_command}", json=body)
    print("\n".join(describe(plan)))
    return 0


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="the environment's key, e.g. production")
    parser.add_argument("--project", default="default", help=_PROJECT_HELP)


def _start_body(args: argparse.Namespace) -> dict[str, Any]:
    try:
        steps = rollout_steps(args.steps, args.dwell)
    except TextError as error:
        raise CliError(
            f"--steps: {error.message}" if error.part == "steps" else f"--dwell {error.message}"
        ) from None
    body: dict[str, Any] = {"flag": args.flag, "variation": args.variation, "steps": steps}
    for name in ("control", "reason"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    guard = {
        name: getattr(args, f"guard_{name}")
        for name in ("source", "ratio", "min_sample", "confidence", "failure_event", "total_event", "on_trip")
        if getattr(args, f"guard_{name}") is not None
    }
    queries = {
        name: getattr(args, f"prometheus_{name}")
        for name in ("url", "failures", "total")
        if getattr(args, f"prometheus_{name}") is not None
    }
    if queries:
        guard["prometheus"] = queries
    if guard or args.guard:
        body["guard"] = guard
    return body


def describe(plan: dict[str, Any]) -> list[str]:
    """A plan for a person: where it stands, what comes next, and what its guard saw last."""
    steps = plan["steps"]
    lines = [
        f"rollout {plan['id']} of {plan['flag']} in {plan['project']}/{plan['environment']}: {plan['status']}"
    ]
    if plan["status_reason"]:
        lines.append(f"  why: {plan['status_reason']}")
    index = plan["current_step"]
    split = f"variation {plan['variation']} against {plan['control']}"
    if index < 0:
        lines.append(f"  step: none written yet ({split})")
    else:
        lines.append(f"  step {index + 1} of {len(steps)}: {plan['percent']:g}% ({split})")
    if plan["status"] in ("running", "paused"):
        lines.append("  next: " + _next(plan))
    guard = plan["guard"]
    if guard is None:
        lines.append("  guard: none")
    else:
        lines.append(
            f"  guard: {guard['source']}, trips above {guard['ratio']:g} x the control's failure rate "
            f"(min sample {guard['min_sample']}, on trip: {guard['on_trip']})"
        )
        check = plan["last_check"]
        if check is not None:
            lines.append(f"  last check: {when(check['at'])} {check['outcome']}: {check['message']}")
        else:
            lines.append("  last check: none yet")
    if plan["trip"]:
        trip = plan["trip"]
        lines.append(
            f"  trip: at {trip['percent']:g}%, treatment {trip['treatment']['failures']} of "
            f"{trip['treatment']['total']} failed, control {trip['control']['failures']} of "
            f"{trip['control']['total']}; flag {'killed' if trip['on_trip'] == 'kill' else 'restored'}"
        )
    propagation = plan.get("propagation")
    if propagation is not None and propagation.get("available", True):
        total = propagation["confirmed"] + propagation["unconfirmed"]
        lines.append(
            f"  propagation: {propagation['confirmed']} of {total} connected SDK instances confirmed "
            f"revision {propagation['revision']}"
        )
    return lines


def _next(plan: dict[str, Any]) -> str:
    percent = plan["next_percent"]
    what = "completion" if percent is None else f"{percent:g}%"
    if plan["status"] == "paused" or plan["next_step_at"] is None:
        return f"{what} once resumed"
    due = datetime.fromisoformat(plan["next_step_at"])
    left = max(0, round((due - datetime.now(UTC)).total_seconds()))
    wait = " (or later: the guard must judge the step healthy first)" if plan["guard"] else ""
    return f"{what} at {when(plan['next_step_at'])}, in {left} s{wait}"


def _list(client: ServerClient, base: str, flag: str | None) -> int:
    page = client.get(base, {"flag": flag, "limit": 100})
    rows = [
        [
            str(p["id"]),
            p["flag"],
            p["status"],
            f"{p['current_step'] + 1}/{len(p['steps'])}",
            f"{p['percent']:g}%",
            when(p["next_step_at"]) if p["next_step_at"] and p["status"] == "running" else "",
        ]
        for p in page["items"]
    ]
    header = ["ID", "FLAG", "STATUS", "STEP", "PERCENT", "NEXT STEP"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0
