"""`flagstaff flags stale`: the stale-flag report of one environment (`GET .../stale-flags?days=`) as a
table.

Prints what the server decided; nothing here judges a flag itself.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli_audit import when
from app.cli_http import SERVER_HELP, ServerClient

_REASONS = {
    "not_evaluated": "not evaluated",
    "never_evaluated": "never evaluated",
    "single_variation": "one variation",
}
# A variation's value is shown to identify it, not in full: a JSON flag's value may be a whole document.
_VALUE_WIDTH = 24


def add_parser(actions: Any, project_help: str) -> None:
    """Registers `stale` on the `flags` command's sub-command parser."""
    stale = actions.add_parser(
        "stale",
        help="flags not evaluated for DAYS days, or that served one variation to everyone in the last 24 h",
        description="The stale-flag report of one environment, from what its SDKs reported: flags not "
        "evaluated for DAYS days (never evaluated: once older than that), and flags that served only one "
        "variation over the last 24 hours, with the last evaluation and the last 24 hours' evaluations by "
        "variation. " + SERVER_HELP,
    )
    stale.add_argument("--env", required=True, help="the environment's key, e.g. production")
    stale.add_argument("--project", default="default", help=project_help)
    stale.add_argument(
        "--days", type=int, default=30, help="not evaluated for this many days counts as stale (default: 30)"
    )


def run(client: ServerClient, args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/stale-flags"
    report = client.get(path, {"days": args.days})
    where = f"{args.project}/{args.env}"
    items = report["items"]
    print(
        f"{where}: {len(items)} of {report['flags_checked']} flags look stale (not evaluated for "
        f"{report['days']} days, or one variation served in the last 24 hours)"
    )
    if items:
        rows = [_row(item) for item in items]
        header = ["KEY", "REASON", "LAST EVALUATED", "LAST 24 HOURS", ""]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = zip(row, widths, strict=True)
            print("  " + "  ".join(cell.ljust(width) for cell, width in cells).rstrip())
    return 0


def _row(item: dict[str, Any]) -> list[str]:
    last = when(item["last_evaluated"]) if item["last_evaluated"] else "never"
    served = ", ".join(_served(variation) for variation in item["variations"]) or "-"
    note = "" if item["temporary"] else "(permanent flag)"
    return [item["key"], _REASONS.get(item["reason"], item["reason"]), last, served, note]


def _served(variation: dict[str, Any]) -> str:
    """`0 (true): 1,024`, or `default: 3` for the callers' own defaults."""
    if variation["variation"] is None:
        return f"default: {variation['evaluations']:,}"
    value = json.dumps(variation["value"], ensure_ascii=False)
    if len(value) > _VALUE_WIDTH:
        value = value[: _VALUE_WIDTH - 3] + "..."
    return f"{variation['variation']} ({value}): {variation['evaluations']:,}"
