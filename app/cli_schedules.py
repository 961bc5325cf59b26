"""`flagstaff schedule create|list|show|cancel`: scheduled changes of a flag in one environment, through the
HTTP API (`.../environments/{env}/schedules`), printed for a person; `--json` prints the API's answer.

`--at` takes an RFC 3339 time or a time relative to now (`+10m`, `+2h`), which is turned into RFC 3339 (UTC)
here; everything else is checked by the server.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from app.cli_audit import when
from app.cli_errors import CliError
from app.cli_http import SERVER_HELP, ServerClient
from app.release_text import TextError, from_now

_PROJECT_HELP = "the project's key (default: default)"
_ACTIONS = ("patch", "on", "off", "kill")
_STATUSES = ("pending", "applied", "refused", "failed", "cancelled")
_PAGE = 1000


def add_parser(commands: Any) -> None:
    """Registers `schedule create|list|show|cancel` on the CLI's sub-command parser."""
    schedule = commands.add_parser(
        "schedule",
        help="schedule flag changes (a PATCH body, on, off or kill) for a later time on a running server",
        description="Scheduled changes: at a given time, the server applies a change to one flag in one "
        "environment, exactly once, as if its PATCH, on, off or kill route had been called then (audited "
        "with the actor schedule:ID). " + SERVER_HELP,
    )
    actions = schedule.add_subparsers(
        dest="schedule_command", required=True, metavar="{create,list,show,cancel}"
    )
    create = actions.add_parser(
        "create",
        help="schedule a change of one flag",
        description="Schedule a change of one flag in one environment. It is refused when it runs if the "
        "flag was written since (unless --apply-if-changed). " + SERVER_HELP,
    )
    create.add_argument("flag", help="the flag's key")
    create.add_argument("action", choices=_ACTIONS, help="patch (with --changes), on, off or kill")
    _where(create)
    create.add_argument(
        "--at",
        required=True,
        metavar="TIME",
        help="when: RFC 3339 with a zone (2026-12-01T09:00:00Z) or from now: +30s, +10m, +2h, +1d",
    )
    create.add_argument(
        "--changes",
        metavar="JSON",
        help="patch only: the targeting fields, as a PATCH body without its reason, e.g. "
        "'{\"enabled\": true}'; @FILE reads them from a file",
    )
    create.add_argument("--reason", help="why, recorded in the audit log (required for kill)")
    create.add_argument(
        "--apply-if-changed",
        action="store_true",
        help="apply even if the flag was written after the change was scheduled",
    )
    create.add_argument(
        "--if-version",
        type=int,
        metavar="N",
        help="the flag version the change expects to find (default: the current one)",
    )
    _json_option(create)

    listing = actions.add_parser(
        "list",
        help="the scheduled changes of an environment, soonest first",
        description="List the scheduled changes of one environment by due time: id, flag, action, when, "
        "status and outcome. " + SERVER_HELP,
    )
    _where(listing)
    listing.add_argument("--flag", help="only this flag's changes")
    listing.add_argument("--status", choices=_STATUSES, help="only changes with this status")
    _json_option(listing)

    show = actions.add_parser("show", help="one scheduled change, and how it ended", description=SERVER_HELP)
    show.add_argument("id", type=int, help="the change's id, as listed")
    _where(show)
    _json_option(show)

    cancel = actions.add_parser("cancel", help="cancel a pending scheduled change", description=SERVER_HELP)
    cancel.add_argument("id", type=int, help="the change's id, as listed")
    _where(cancel)
    cancel.add_argument("--reason", help="why, recorded in the audit log")
    _json_option(cancel)


def run(args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/schedules"
    with ServerClient.from_environment() as client:
        if args.schedule_command == "list":
            return _list(client, path, args)
        if args.schedule_command == "create":
            found = client.request("POST", path, json=_create_body(args))
        elif args.schedule_command == "show":
            found = client.get(f"{path}/{args.id}")
        else:
            body = {"reason": args.reason} if args.reason is not None else {}
            found = client.request("POST", f"{path}/{args.id}/cancel", json=body)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        _print_one(found)
    return 0


def resolve_time(text: str, now: datetime | None = None) -> str:
    """`+10m` (from `now`) as RFC 3339 in UTC; any other text is passed on for the server to check."""
    try:
        moment = from_now(text, now or datetime.now(UTC))
    except TextError as error:
        raise CliError(f"--at {text}: {error.message}") from None
    if moment is None:
        return text
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="the environment's key, e.g. production")
    parser.add_argument("--project", default="default", help=_PROJECT_HELP)


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")


def _create_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"flag": args.flag, "at": resolve_time(args.at), "action": args.action}
    if args.changes is not None:
        body["changes"] = _changes(args.changes)
    if args.reason is not None:
        body["reason"] = args.reason
    if args.apply_if_changed:
        body["apply_if_changed"] = True
    if args.if_version is not None:
        body["if_version"] = args.if_version
    return body


def _changes(text: str) -> Any:
    source = "--changes"
    if text.startswith("@"):
        source = text[1:]
        try:
            with open(source, encoding="utf-8") as file:
                text = file.read()
        except OSError as error:
            raise CliError(f"cannot read {source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"{source} is not JSON: {error}") from None


def _list(client: ServerClient, path: str, args: argparse.Namespace) -> int:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = client.get(path, {"flag": args.flag, "status": args.status, "after": after, "limit": _PAGE})
        items.extend(page["items"])
        after = page.get("next")
        if after is None:
            break
    if args.json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print(f"no scheduled changes match in {args.project}/{args.env}")
        return 0
    rows = [
        [str(s["id"]), s["flag"], s["action"], when(s["at"]), s["status"], s["outcome"] or ""] for s in items
    ]
    header = ["ID", "FLAG", "ACTION", "AT", "STATUS", "OUTCOME"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _print_one(schedule: dict[str, Any]) -> None:
    where = f"{schedule['project']}/{schedule['environment']}"
    print(f"#{schedule['id']}  {schedule['action']} {schedule['flag']} in {where} at {when(schedule['at'])}")
    print(f"    status: {schedule['status']}" + (f" ({schedule['outcome']})" if schedule["outcome"] else ""))
    if schedule["changes"] is not None:
        print(f"    changes: {json.dumps(schedule['changes'], ensure_ascii=False)}")
    if schedule["reason"]:
        print(f"    reason: {schedule['reason']}")
    expects = f"version {schedule['expected_version']}"
    if schedule["apply_if_changed"]:
        expects += ", applied even if the flag changed"
    print(f"    expects: {expects}")
    print(f"    created by {schedule['created_by']} at {when(schedule['created_at'])}")
    if schedule["ran_at"]:
        late = datetime.fromisoformat(schedule["ran_at"]) - datetime.fromisoformat(schedule["at"])
        print(f"    ran at {when(schedule['ran_at'])}, {late.total_seconds():.3f} s after its time")
