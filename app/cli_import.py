"""`flagstaff import unleash FILE`: convert an Unleash export to a snapshot file, or import it into a server.

Offline (`--out`) it needs only the SDK; with `--url` it posts the document to the admin API's import route,
so the server validates and audits every write. Either way the per-flag report is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from app.cli_http import KEY_VARIABLE, URL_VARIABLE, ServerClient
from flagstaff import validate_snapshot
from flagstaff.unleash import import_unleash

# An import of thousands of flags is one request, and the server validates and audits every one.
_IMPORT_TIMEOUT_SECONDS = 120.0


def add_parser(commands: Any) -> None:
    """Registers `import unleash` on the CLI's sub-command parser."""
    sources = commands.add_parser("import", help="import flags from another system").add_subparsers(
        dest="import_source", required=True
    )
    unleash = sources.add_parser(
        "unleash",
        help="import an Unleash client-features document (GET /api/client/features)",
        description="Write a snapshot file (--out), or import into a project's environment on a running "
        f"server (--url, default {URL_VARIABLE}) with an admin key (--api-key, default {KEY_VARIABLE}).",
    )
    unleash.add_argument("file", help="the Unleash document (JSON); '-' reads standard input")
    unleash.add_argument("--out", help="write the Flagstaff snapshot to this file")
    unleash.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE),
        help=f"import into the server at this URL (default: {URL_VARIABLE})",
    )
    unleash.add_argument(
        "--api-key", default=os.environ.get(KEY_VARIABLE), help=f"an admin key (default: {KEY_VARIABLE})"
    )
    unleash.add_argument("--project", default="default", help="the project to import into (default: default)")
    unleash.add_argument("--env", help="the environment to import into (with --url)")


def run(args: argparse.Namespace) -> int:
    document = _read(args.file)
    if document is None:
        return 2
    if bool(args.out) == bool(args.url):
        print("flagstaff: give exactly one of --out FILE or --url URL", file=sys.stderr)
        return 2
    if args.out:
        return _write_snapshot(document, Path(args.out))
    if not args.api_key or not args.env:
        print("flagstaff: --url needs --api-key (or FLAGSTAFF_API_KEY) and --env", file=sys.stderr)
        return 2
    return _push(document, args)


def _read(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, ValueError) as error:
        print(f"flagstaff: cannot read {name}: {error}", file=sys.stderr)
        return None
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        print(
            f"flagstaff: {name} is not an Unleash client-features document (no 'features')", file=sys.stderr
        )
        return None
    return document


def _write_snapshot(document: dict[str, Any], out: Path) -> int:
    result = import_unleash(document)
    problems = validate_snapshot(result.snapshot)
    if problems:  # the importer's own invariant; refuse to write a file the SDK would reject
        print(f"flagstaff: the converted snapshot is invalid: {problems[0]}", file=sys.stderr)
        return 1
    out.write_text(json.dumps(result.snapshot, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"converted {len(result.snapshot['flags'])} features into {out}")
    _print_unmapped([{"flag": u.flag, "what": u.what, "why": u.why} for u in result.problems])
    return 0


def _push(document: dict[str, Any], args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/import/unleash"
    print(f"importing {len(document['features'])} features into {args.project}/{args.env} at {args.url} ...")
    with ServerClient(args.url, args.api_key, url_source="--url") as client:
        body = client.request("POST", path, json=document, timeout=_IMPORT_TIMEOUT_SECONDS)
    failed = 0
    for flag in body["flags"]:
        note = f" ({flag['message']})" if flag["message"] else ""
        print(f"  {flag['status']:<8} {flag['key']}{note}")
        failed += flag["status"] == "failed"
    _print_unmapped(body["unmapped"])
    print(f"{len(body['flags']) - failed} flags imported, {failed} failed")
    return 1 if failed else 0


def _print_unmapped(items: list[dict[str, str]]) -> None:
    if not items:
        print("everything was mapped exactly")
        return
    print(f"not mapped exactly ({len(items)}):")
    for item in items:
        print(f"  {item['flag']}: {item['what']}: {item['why']}")
