"""`flagstaff flags list|kill|on|off|stale`: the flags of an environment and their state, the operator
switches, and the stale-flag report (`app.cli_stale_flags`).

The same calls as the HTTP API (`GET .../flags`, `POST .../flags/{flag}/kill?wait=`), printed for a person;
nothing here decides anything the server does not.
"""

from __future__ import annotations

import argparse
from typing import Any

from app import cli_stale_flags
from app.cli_audit import when
from app.cli_http import SERVER_HELP, TIMEOUT_SECONDS, ServerClient

_PROJECT_HELP = "the project's key (default: default)"
_SWITCHES = {
    "kill": "kill switch: turn the flag off in one environment, with a reason for the audit log",
    "on": "turn the flag on in one environment",
    "off": "turn the flag off in one environment",
}
# The audit log is read a page at a time when looking for the change that last switched a flag.
_AUDIT_PAGE = 100


def add_parser(commands: Any) -> None:
    """Registers `flags list|kill|on|off|stale` on the CLI's sub-command parser."""
    flags = commands.add_parser(
        "flags",
        help="list flags, switch them (kill, on, off) and find stale ones on a running server",
        description=SERVER_HELP,
    )
    actions = flags.add_subparsers(dest="flags_command", required=True, metavar="{list,kill,on,off,stale}")
    listing = actions.add_parser(
        "list",
        help="every flag of an environment: key, state (on, off or killed) and version",
        description="List the flags of one environment, or of every environment of the project: key, state "
        "(on, off, or killed when a kill switched it off last) and version. " + SERVER_HELP,
    )
    listing.add_argument("--project", default="default", help=_PROJECT_HELP)
    listing.add_argument("--env", help="one environment's key (default: every environment of the project)")
    listing.add_argument("--tag", help="only the flags with this tag")
    for action, summary in _SWITCHES.items():
        summary_sentence = f"{summary[:1].upper()}{summary[1:]}"
        switch = actions.add_parser(
            action,
            help=summary,
            description=f"{summary_sentence}; idempotent, like `POST .../flags/FLAG/{action}`. {SERVER_HELP}",
        )
        switch.add_argument("flag", help="the flag's key")
        switch.add_argument("--env", required=True, help="the environment's key, e.g. production")
        switch.add_argument("--project", default="default", help=_PROJECT_HELP)
        switch.add_argument(
            "--reason",
            required=action == "kill",
            help="why, recorded in the audit log" + (" (required)" if action == "kill" else ""),
        )
        switch.add_argument(
            "--wait",
            type=float,
            metavar="SECONDS",
            help="wait up to this many seconds (at most 10) for the connected SDKs to confirm the change, "
            "then print how many did (the `propagation` report)",
        )
    cli_stale_flags.add_parser(actions, _PROJECT_HELP)


def run(args: argparse.Namespace) -> int:
    with ServerClient.from_environment() as client:
        if args.flags_command == "list":
            return _list(client, args)
        if args.flags_command == "stale":
            return cli_stale_flags.run(client, args)
        return _switch(client, args)


def _switch(client: ServerClient, args: argparse.Namespace) -> int:
    where = f"{args.project}/{args.env}"
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/flags/{args.flag}/{args.flags_command}"
    body = client.request(
        "POST",
        path,
        params={"wait": args.wait},
        json={"reason": args.reason} if args.reason is not None else {},
        timeout=TIMEOUT_SECONDS + max(args.wait or 0.0, 0.0),
    )
    flag = body["flag"]
    numbers = f"version {flag['version']}, revision {body['revision']}"
    if body.get("changed", True):
        state = "killed" if args.flags_command == "kill" else _on_off(flag)
        print(f"{args.flag} is now {state} in {where} ({numbers})")
    else:
        print(f"{args.flag} was already {_on_off(flag)} in {where}; nothing changed ({numbers})")
    if body.get("propagation") is not None:
        print(_propagation(body["propagation"], where, args.wait))
    return 0


def _propagation(report: dict[str, Any], where: str, wait: float) -> str:
    """One line from the response's `propagation` report."""
    if not report.get("available", True):
        return "propagation: unknown; the server could not read SDK confirmations (is its Redis reachable?)"
    confirmed, unconfirmed = report["confirmed"], report["unconfirmed"]
    if confirmed + unconfirmed == 0:
        return f"propagation: no SDK instance is connected to {where}"
    line = (
        f"propagation: {confirmed} of {confirmed + unconfirmed} connected SDK instances confirmed revision "
    )
    line += str(report["revision"])
    if report.get("slowest_confirmation_ms") is not None:
        line += f", the slowest after {report['slowest_confirmation_ms']:.0f} ms"
    if unconfirmed:
        line += f"; {unconfirmed} had not confirmed it after {wait:g} s"
    return line


def _list(client: ServerClient, args: argparse.Namespace) -> int:
    if args.env:
        environments = [args.env]
    else:
        project = client.get(f"/api/v1/projects/{args.project}")
        environments = [environment["key"] for environment in project["environments"]]
    for index, environment in enumerate(environments):
        flags, revision = _flags(client, args.project, environment, args.tag)
        if index:
            print()
        print(f"{args.project}/{environment}: {len(flags)} flags, revision {revision}")
        rows = [_row(client, args.project, environment, flag) for flag in flags]
        if rows:
            print_table(["KEY", "STATE", "VERSION", ""], rows)
    return 0


def _flags(client: ServerClient, project: str, environment: str, tag: str | None) -> tuple[list[Any], int]:
    path = f"/api/v1/projects/{project}/environments/{environment}/flags"
    flags: list[Any] = []
    after = None
    while True:
        page = client.get(path, {"tag": tag, "after": after, "limit": 1000})
        flags.extend(page["items"])
        after = page.get("next")
        if after is None:
            return flags, page["revision"]


def _row(client: ServerClient, project: str, environment: str, flag: dict[str, Any]) -> list[str]:
    state, note = _on_off(flag), ""
    if not flag["enabled"]:
        switched = _last_switch(client, project, environment, flag["key"])
        if switched is not None and switched["action"] == "flag.kill":
            state = "killed"
            note = f"by {switched['actor']} at {when(switched['at'])}"
            if switched["reason"]:
                note += f": {switched['reason']}"
    return [flag["key"], state, str(flag["version"]), note]


def _last_switch(client: ServerClient, project: str, environment: str, key: str) -> dict[str, Any] | None:
    """The newest audit entry that turned the flag on or off here, whatever the route (kill, off, PATCH)."""
    before = None
    while True:
        page = client.get(
            "/api/v1/audit",
            {
                "project": project,
                "environment": environment,
                "flag": key,
                "before": before,
                "limit": _AUDIT_PAGE,
            },
        )
        for entry in page["items"]:
            if _enabled(entry["before"]) != _enabled(entry["after"]):
                found: dict[str, Any] = entry
                return found
        before = page.get("next")
        if before is None:
            return None


def _enabled(flag: dict[str, Any] | None) -> bool | None:
    return None if flag is None else flag.get("enabled")


def _on_off(flag: dict[str, Any]) -> str:
    return "on" if flag["enabled"] else "off"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
