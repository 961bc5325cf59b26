"""`flagstaff triggers list|create|revoke`: monitoring triggers of one environment, over the HTTP API.

The same calls as `GET|POST .../triggers` and `DELETE .../triggers/{id}`, printed for a person; a new
trigger's URL is printed once, as the server shows it once.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_audit import when
from app.cli_flags import print_table
from app.cli_http import SERVER_HELP, ServerClient

_PROJECT_HELP = "the project's key (default: default)"


def add_parser(commands: Any) -> None:
    """Registers `triggers list|create|revoke` on the CLI's sub-command parser."""
    triggers = commands.add_parser(
        "triggers",
        help="monitoring triggers: secret URLs that kill (or turn on or off) a flag when an alert fires",
        description=SERVER_HELP,
    )
    actions = triggers.add_subparsers(dest="triggers_command", required=True, metavar="{list,create,revoke}")
    listing = actions.add_parser("list", help="the environment's triggers, never their URLs")
    create = actions.add_parser(
        "create",
        help="create a trigger and print its URL, once",
        description="Create a trigger. " + SERVER_HELP,
    )
    create.add_argument("flag", help="the flag's key")
    create.add_argument("--name", required=True, help="what fires it; the audit log shows trigger:NAME")
    create.add_argument("--action", required=True, choices=["kill", "on", "off"], help="what a fire does")
    create.add_argument(
        "--fire-on-resolved",
        action="store_true",
        help="also act when the alert resolves (by default a resolved notification is ignored)",
    )
    revoke = actions.add_parser("revoke", help="revoke a trigger: its URL answers 404 from then on")
    revoke.add_argument("id", type=int, help="the trigger's id, as listed")
    for command in (listing, create, revoke):
        command.add_argument("--env", required=True, help="the environment's key, e.g. production")
        command.add_argument("--project", default="default", help=_PROJECT_HELP)


def run(args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/triggers"
    with ServerClient.from_environment() as client:
        if args.triggers_command == "list":
            rows = [_row(trigger) for trigger in client.get(path)["items"]]
            print(f"{args.project}/{args.env}: {len(rows)} triggers")
            if rows:
                print_table(["ID", "NAME", "FLAG", "ACTION", "FINGERPRINT", "FIRES", "STATE"], rows)
        elif args.triggers_command == "create":
            body = {"name": args.name, "flag": args.flag, "action": args.action}
            created = client.request("POST", path, json={**body, "fire_on_resolved": args.fire_on_resolved})
            print(
                f"trigger {created['id']} ({created['name']}: {created['action']} {created['flag']} in "
                f"{args.project}/{args.env}); its URL, shown only now:\n{created['url']}"
            )
        else:
            revoked = client.request("DELETE", f"{path}/{args.id}")
            print(f"trigger {revoked['id']} ({revoked['name']}) is revoked; its URL answers 404")
    return 0


def _row(trigger: dict[str, Any]) -> list[str]:
    if trigger["revoked_at"]:
        state = f"revoked {when(trigger['revoked_at'])}"
    elif trigger["last_fired_at"]:
        state = f"last fired {when(trigger['last_fired_at'])}"
    else:
        state = "never fired"
    action = trigger["action"] + (" (also on resolved)" if trigger["fire_on_resolved"] else "")
    fields = (
        trigger["name"],
        trigger["flag"],
        action,
        trigger["fingerprint"],
        str(trigger["fire_count"]),
        state,
    )
    return [str(trigger["id"]), *fields]
