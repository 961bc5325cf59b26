"""The `flagstaff` command: serve, migrate, key management (directly in the database), and operator commands
that go through the HTTP API (flags kill/on/off, audit) with FLAGSTAFF_URL and FLAGSTAFF_API_KEY."""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from app import cli_import
from app.auth.roles import Role
from app.settings import Settings

# The operator commands (flags, audit) only speak HTTP: the database layers are imported by the commands that
# use them, so an operator's command starts in a fraction of a second.
CLI_ACTOR_NAME = "flagstaff-cli"


def _settings_help() -> str:
    lines = ["settings (environment variables):"]
    for name, field in Settings.model_fields.items():
        default = "(unset)" if field.default is None else repr(field.default)
        lines.append(f"  FLAGSTAFF_{name.upper():<34} {field.description or ''} Default: {default}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flagstaff", description="Flagstaff feature-flag server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="migrate (unless told not to), bootstrap and run the server",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="overrides FLAGSTAFF_HOST")
    serve.add_argument("--port", type=int, help="overrides FLAGSTAFF_PORT")

    migrate = commands.add_parser("migrate", help="run database migrations (FLAGSTAFF_DATABASE_URL)")
    migrate.add_argument("--to", default="head", help="target revision (default: head)")

    keys = commands.add_parser("keys", help="create API keys directly in the database").add_subparsers(
        dest="keys_command", required=True
    )
    admin = keys.add_parser("create-admin", help="create an admin key and print it once")
    admin.add_argument("--name", required=True)
    admin.add_argument("--role", required=True, choices=[r.value for r in Role])
    admin.add_argument("--project", help="limit the key to one project (default: all)")
    sdk = keys.add_parser("create-sdk", help="create an SDK key for one environment and print it once")
    sdk.add_argument("--project", required=True)
    sdk.add_argument("--env", required=True)
    sdk.add_argument("--name", default="sdk")

    flags = commands.add_parser("flags", help="operator switches, through the HTTP API").add_subparsers(
        dest="flags_command", required=True
    )
    for action in ("kill", "on", "off"):
        switch = flags.add_parser(action, help=f"{action} a flag in one environment")
        switch.add_argument("flag")
        switch.add_argument("--project", default="default")
        switch.add_argument("--env", required=True)
        switch.add_argument("--reason", required=action == "kill")

    audit = commands.add_parser("audit", help="show audit entries, newest first, through the HTTP API")
    for name in ("project", "env", "flag", "actor", "since", "until"):
        audit.add_argument(f"--{name}")
    audit.add_argument("--limit", type=int, default=50)
    cli_import.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "migrate":
            from app.storage import schema_migrations

            schema_migrations.upgrade(Settings().database_url, args.to)
            print(f"database migrated to {args.to}")
            return 0
        if args.command == "keys":
            return _keys(args)
        if args.command == "import":
            return cli_import.run(args)
        if args.command == "flags":
            return _switch(args)
        return _audit(args)
    except _Refused as refusal:
        print(f"flagstaff: {refusal}", file=sys.stderr)
        return 2


class _Refused(Exception):
    pass


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import prepare_database
    from app.services.commit_listener import ignore_commit
    from app.services.container import build_services
    from app.storage.database import Database

    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = Settings(**overrides)
    database = Database(settings.database_url)
    try:
        prepare_database(settings, build_services(database, ignore_commit))
    except RuntimeError as error:
        raise _Refused(str(error)) from None
    finally:
        database.dispose()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # The app writes its own access log (FLAGSTAFF_ACCESS_LOG, sampled for SDK requests); uvicorn's would
        # log every poll, and writing that line costs more than answering the poll.
        access_log=False,
        log_config=_log_config(settings.log_level),
    )
    return 0


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, plus the app's access logger on stdout in uvicorn's format."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["flagstaff_access"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["flagstaff.access"] = {
        "handlers": ["flagstaff_access"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _keys(args: argparse.Namespace) -> int:
    from app.auth.roles import Principal
    from app.services.change_transaction import Actor
    from app.services.commit_listener import ignore_commit
    from app.services.container import build_services
    from app.services.errors import ServiceError
    from app.storage import schema_migrations
    from app.storage.database import Database

    settings = Settings()
    database = Database(settings.database_url)
    if not schema_migrations.is_at_head(database.engine):
        raise _Refused("the database is not migrated: run `flagstaff migrate` first")
    keys = build_services(database, ignore_commit).keys
    try:
        if args.keys_command == "create-admin":
            everything = Principal(CLI_ACTOR_NAME, Role.ADMIN, None)
            admin_key, secret = keys.create_admin_key(
                Actor(CLI_ACTOR_NAME), everything, args.name, Role(args.role), args.project
            )
            scope = admin_key.project or "all projects"
            print(f"admin key {admin_key.key_id!r} ({admin_key.role}, {scope}); shown only now:\n{secret}")
        else:
            sdk_key, secret = keys.create_sdk_key(Actor(CLI_ACTOR_NAME), args.project, args.env, args.name)
            print(f"SDK key {sdk_key.key_id!r} for {args.project}/{args.env}; shown only now:\n{secret}")
    except ServiceError as error:
        raise _Refused(error.message) from None
    finally:
        database.dispose()
    return 0


def _client() -> httpx.Client:
    url, key = os.environ.get("FLAGSTAFF_URL"), os.environ.get("FLAGSTAFF_API_KEY")
    if not url or not key:
        raise _Refused("set FLAGSTAFF_URL (e.g. http://127.0.0.1:8000) and FLAGSTAFF_API_KEY (an admin key)")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _call(method: str, path: str, **kwargs: Any) -> Any:
    with _client() as client:
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise _Refused(f"cannot reach the server: {error}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code >= 400:
        detail = body.get("error", {}) if isinstance(body, dict) else {}
        message = detail.get("message", response.text)
        raise _Refused(f"{response.status_code} {detail.get('code', '')}: {message}")
    return body


def _switch(args: argparse.Namespace) -> int:
    path = f"/api/v1/projects/{args.project}/environments/{args.env}/flags/{args.flag}/{args.flags_command}"
    body = _call("POST", path, json={"reason": args.reason} if args.reason else {})
    state = "unchanged" if not body.get("changed", True) else "done"
    enabled = "on" if body["flag"]["enabled"] else "off"
    print(f"{args.flag} is {enabled} in {args.project}/{args.env} ({state}); revision {body['revision']}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    params = {
        "project": args.project,
        "environment": args.env,
        "flag": args.flag,
        "actor": args.actor,
        "since": args.since,
        "until": args.until,
        "limit": args.limit,
    }
    body = _call("GET", "/api/v1/audit", params={k: v for k, v in params.items() if v is not None})
    for entry in body["items"]:
        where = "/".join(part for part in (entry["project"], entry["environment"]) if part)
        reason = f" reason={json.dumps(entry['reason'])}" if entry["reason"] else ""
        print(
            f"{entry['at']}  {entry['actor']:<20} {entry['action']:<18} {where} "
            f"{entry['target_key'] or ''}{reason}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
