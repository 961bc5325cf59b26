"""`flagstaff audit`: audit entries, newest first, through the HTTP API: who did what, when, why, with which
request id, and what changed (before -> after); `--json` prints the API's answer as it is."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from app.cli_http import SERVER_HELP, ServerClient

# A value longer than this (a rule list, a variation) is cut: the full entry is one `--json` away.
_VALUE_WIDTH = 100


def add_parser(commands: Any) -> None:
    """Registers `audit` on the CLI's sub-command parser."""
    audit = commands.add_parser(
        "audit",
        help="show audit entries, newest first, from a running server",
        description="Show audit entries, newest first: time, actor, action, target, request id, reason and "
        "what changed (before -> after). " + SERVER_HELP,
    )
    audit.add_argument("--project", help="only this project's entries")
    audit.add_argument("--env", help="only this environment's entries")
    audit.add_argument("--flag", help="only the entries about this flag")
    audit.add_argument("--actor", help="only the entries made with this key name")
    audit.add_argument("--since", metavar="TIME", help="only entries at or after TIME (RFC 3339)")
    audit.add_argument("--until", metavar="TIME", help="only entries before TIME (RFC 3339)")
    audit.add_argument(
        "--limit", type=int, default=50, help="at most this many entries (default: 50, max: 1000)"
    )
    audit.add_argument(
        "--before",
        type=int,
        metavar="ID",
        help="continue with the entries older than entry ID (printed after a page)",
    )
    audit.add_argument(
        "--json", action="store_true", help="print the API's answer as JSON, entries unabridged"
    )


def run(args: argparse.Namespace) -> int:
    params = {
        "project": args.project,
        "environment": args.env,
        "flag": args.flag,
        "actor": args.actor,
        "since": args.since,
        "until": args.until,
        "before": args.before,
        "limit": args.limit,
    }
    with ServerClient.from_environment() as client:
        page = client.get("/api/v1/audit", params)
    if args.json:
        print(json.dumps(page, indent=2, ensure_ascii=False))
        return 0
    if not page["items"]:
        print("no audit entries match")
    for entry in page["items"]:
        _print_entry(entry)
    if page.get("next") is not None:
        print(f"(older entries: the same command with --before {page['next']})")
    return 0


def when(timestamp: str) -> str:
    """An API timestamp as `2025-01-31 09:15:02Z` (to the second; the API's are UTC)."""
    try:
        return datetime.fromisoformat(timestamp).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return timestamp


def _print_entry(entry: dict[str, Any]) -> None:
    where = "/".join(part for part in (entry["project"], entry["environment"]) if part) or "-"
    target = " ".join(part for part in (entry["target_kind"], entry["target_key"]) if part)
    print(
        f"#{entry['id']}  {when(entry['at'])}  {entry['actor']}  {entry['action']}  {where}  {target}  "
        f"request {entry['request_id'] or '-'}"
    )
    if entry["reason"]:
        print(f"    reason: {entry['reason']}")
    before, after = entry["before"], entry["after"]
    if before is None and after is not None:
        print(f"    created: {_value(after)}")
    elif after is None and before is not None:
        print(f"    deleted: {_value(before)}")
    elif before is not None and after is not None:
        for name in [*after, *(name for name in before if name not in after)]:
            if before.get(name) != after.get(name):
                print(f"    {name}: {_value(before.get(name))} -> {_value(after.get(name))}")


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."
