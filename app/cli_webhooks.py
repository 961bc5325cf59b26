"""`flagstaff webhooks list|create|delete|deliveries`: outbound webhooks of one environment and their delivery
log, over the HTTP API. A new webhook's signing secret is printed once, as the server shows it once.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_audit import when
from app.cli_flags import print_table
from app.cli_http import SERVER_HELP, ServerClient

_PROJECT_HELP = "the project's key (default: default)"


def add_parser(commands: Any) -> None:
    """Registers `webhooks list|create|delete|deliveries` on the CLI's sub-command parser."""
    webhooks = commands.add_parser(
        "webhooks",
        help="outbound webhooks: URLs that receive a signed event for each change of an environment",
        description=SERVER_HELP,
    )
    actions = webhooks.add_subparsers(
        dest="webhooks_command", required=True, metavar="{list,create,delete,deliveries}"
    )
    listing = actions.add_parser("list", help="the environment's webhooks, never their secrets")
    create = actions.add_parser("create", help="register a webhook and print its signing secret, once")
    create.add_argument("url", help="http:// or https:// URL that receives the events")
    create.add_argument("--name", required=True, help="a name for people")
    create.add_argument(
        "--events",
        help="comma-separated audit actions or kinds to send, e.g. flag.kill,rollout.* (default: all)",
    )
    delete = actions.add_parser("delete", help="delete a webhook: nothing more is sent; its log stays")
    delete.add_argument("id", type=int, help="the webhook's id, as listed")
    deliveries = actions.add_parser("deliveries", help="a webhook's delivery log, newest first")
    deliveries.add_argument("id", type=int, help="the webhook's id, as listed")
    deliveries.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    for command in (listing, create, delete, deliveries):
        command.add_argument("--env", required=True, help="the environment's key, e.g. production")
        command.add_argument("--project", default="default", help=_PROJECT_HELP)


def run(args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/webhooks"
    with ServerClient.from_environment() as client:
        if args.webhooks_command == "list":
            rows = [_row(webhook) for webhook in client.get(path)["items"]]
            print(f"{args.project}/{args.env}: {len(rows)} webhooks")
            if rows:
                print_table(["ID", "NAME", "URL", "EVENTS", "STATE"], rows)
        elif args.webhooks_command == "create":
            events = [event.strip() for event in args.events.split(",")] if args.events else None
            created = client.request(
                "POST", path, json={"name": args.name, "url": args.url, "events": events}
            )
            print(f"webhook {created['id']} ({created['name']}) sends to {created['url']}")
            print(f"its signing secret, shown only now:\n{created['secret']}")
        elif args.webhooks_command == "delete":
            deleted = client.request("DELETE", f"{path}/{args.id}")
            print(f"webhook {deleted['id']} ({deleted['name']}) is deleted; nothing more is sent")
        else:
            page = client.get(f"{path}/{args.id}/deliveries", {"limit": args.limit})
            rows = [_delivery(delivery) for delivery in page["items"]]
            print(f"webhook {args.id}: {len(rows)} deliveries, newest first")
            if rows:
                print_table(["ID", "EVENT", "AUDIT", "STATUS", "ATTEMPTS", "LAST ANSWER"], rows)
    return 0


def _row(webhook: dict[str, Any]) -> list[str]:
    state = f"deleted {when(webhook['revoked_at'])}" if webhook["revoked_at"] else "active"
    events = ",".join(webhook["events"]) if webhook["events"] is not None else "all"
    return [str(webhook["id"]), webhook["name"], webhook["url"], events, state]


def _delivery(delivery: dict[str, Any]) -> list[str]:
    status = delivery["status"]
    if status == "pending" and delivery["next_attempt_at"]:
        status += f" (next {when(delivery['next_attempt_at'])})"
    answer = delivery["last_error"] or (str(delivery["last_status"]) if delivery["last_status"] else "")
    numbers = (str(delivery["audit_id"]), status, str(delivery["attempts"]), answer)
    return [str(delivery["id"]), delivery["event"], *numbers]
