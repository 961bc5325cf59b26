"""The `flagstaff` command: serve, migrate, key management (directly in the database), and the commands that
talk to a running server (flags, schedule, rollout, triggers, webhooks, audit, import) with FLAGSTAFF_URL and
FLAGSTAFF_API_KEY.

This module assembles the parser and runs the database-side commands; each other command has a module of
its own (`cli_migrate`, `cli_flags`, `cli_schedules`, `cli_rollouts`, `cli_triggers`, `cli_webhooks`,
`cli_audit`, `cli_import`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from app import (
    cli_audit,
    cli_flags,
    cli_import,
    cli_migrate,
    cli_rollouts,
    cli_schedules,
    cli_triggers,
    cli_webhooks,
)
from app.auth.roles import Role
from app.cli_errors import EXIT_REFUSED, CliError
from app.cli_http import KEY_VARIABLE, URL_VARIABLE
from app.settings import Settings, SettingsError, load_settings

# The commands that talk to a server only speak HTTP: the database layers are imported by the commands that
# use them, so an operator's command starts in a fraction of a second.
CLI_ACTOR_NAME = "flagstaff-cli"
_EPILOG = f"""environment variables:
  serve, migrate and keys work on the database: FLAGSTAFF_DATABASE_URL and the other FLAGSTAFF_* settings
  (`flagstaff serve --help` lists them all).
  flags, schedule, rollout, triggers, webhooks, audit and `import unleash --url` talk to a running server:
  {URL_VARIABLE:<20} the server's address, e.g. http://127.0.0.1:8000
  {KEY_VARIABLE:<20} an admin key (fs_admin_...), printed by the server's first start or made by
                       `flagstaff keys create-admin`

`flagstaff COMMAND --help` describes each command."""


def _settings_help() -> str:
    lines = ["settings (environment variables):"]
    for name, field in Settings.model_fields.items():
        default = "(unset)" if field.default is None else repr(field.default)
        lines.append(f"  FLAGSTAFF_{name.upper():<34} {field.description or ''} Default: {default}")
    return "\n".join(lines)


def _version() -> str:
    def installed(distribution: str) -> str:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return "(not installed)"

    return f"flagstaff {installed('flagstaff-server')} (SDK {installed('flagstaff')})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flagstaff",
        description="Flagstaff, the feature-flag server, and the commands to run and operate it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version(), help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="migrate (unless told not to), bootstrap and run the server",
        description="Migrate the database (unless FLAGSTAFF_MIGRATE_ON_START=false), create the default "
        "project and the first admin key when missing, and run the server.",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="the address to listen on; overrides FLAGSTAFF_HOST")
    serve.add_argument("--port", type=int, help="the port to listen on; overrides FLAGSTAFF_PORT")

    cli_migrate.add_parser(commands)

    keys = commands.add_parser(
        "keys",
        help="create API keys directly in the database (FLAGSTAFF_DATABASE_URL)",
        description="Create API keys directly in the database at FLAGSTAFF_DATABASE_URL, without a server; "
        "each key is printed once. Admin keys are also made over the API (`POST /api/v1/admin-keys`).",
    ).add_subparsers(dest="keys_command", required=True, metavar="{create-admin,create-sdk}")
    admin = keys.add_parser("create-admin", help="create an admin key and print it once")
    admin.add_argument("--name", required=True, help="the key's name, which the audit log shows as the actor")
    admin.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="what the key may do: admin (everything), editor (flags and segments), operator (read and "
        "switch flags), reader (read)",
    )
    admin.add_argument("--project", help="limit the key to one project (default: all projects)")
    sdk = keys.add_parser("create-sdk", help="create an SDK key for one environment and print it once")
    sdk.add_argument("--project", required=True, help="the project's key")
    sdk.add_argument("--env", required=True, help="the environment whose flags the key reads")
    sdk.add_argument("--name", default="sdk", help="the key's name (default: sdk)")

    cli_flags.add_parser(commands)
    cli_schedules.add_parser(commands)
    cli_rollouts.add_parser(commands)
    cli_audit.add_parser(commands)
    cli_import.add_parser(commands)
    cli_triggers.add_parser(commands)
    cli_webhooks.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status = _run(args)
        sys.stdout.flush()  # here, so that a reader that has gone is noticed below
        return status
    except CliError as refusal:
        print(f"flagstaff: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        # The reader left (`flagstaff audit | head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        return cli_migrate.run(args, _settings())
    if args.command == "keys":
        return _keys(args)
    if args.command == "import":
        return cli_import.run(args)
    if args.command == "flags":
        return cli_flags.run(args)
    if args.command == "schedule":
        return cli_schedules.run(args)
    if args.command == "rollout":
        return cli_rollouts.run(args)
    if args.command == "triggers":
        return cli_triggers.run(args)
    if args.command == "webhooks":
        return cli_webhooks.run(args)
    return cli_audit.run(args)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        raise CliError(str(error)) from None


def _serve(args: argparse.Namespace) -> int:
    from app import serve
    from app.main import open_database, prepare_database
    from app.services.commit_listener import ignore_commit
    from app.services.container import build_services

    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = _settings(**overrides)
    database = open_database(settings)
    try:
        prepare_database(settings, build_services(database, ignore_commit))
    except RuntimeError as error:
        raise CliError(str(error)) from None
    finally:
        database.dispose()
    print(
        f"Web console: {_console_url(settings.host, settings.port)} (sign in with an admin key)", flush=True
    )
    return serve.run(settings)


def _console_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the console: a wildcard address is reached on loopback."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/console"


def _keys(args: argparse.Namespace) -> int:
    from app.auth.roles import Principal
    from app.services.change_transaction import Actor
    from app.services.commit_listener import ignore_commit
    from app.services.container import build_services
    from app.services.errors import ServiceError
    from app.storage import schema_migrations
    from app.storage.database import Database

    settings = _settings()
    database = Database(settings.database_url)
    if not schema_migrations.is_at_head(database.engine):
        raise CliError("the database is not migrated: run `flagstaff migrate` first")
    keys = build_services(database, ignore_commit).keys
    try:
        if args.keys_command == "create-admin":
            everything = Principal(CLI_ACTOR_NAME, Role.ADMIN, None)
            admin_key = keys.create_admin_key(
                Actor(CLI_ACTOR_NAME), everything, args.name, Role(args.role), args.project
            )
            secret = admin_key.secret
            scope = admin_key.project or "all projects"
            print(f"admin key {admin_key.key_id!r} ({admin_key.role}, {scope}); shown only now:\n{secret}")
        else:
            sdk_key = keys.create_sdk_key(Actor(CLI_ACTOR_NAME), args.project, args.env, args.name)
            secret = sdk_key.secret
            print(f"SDK key {sdk_key.key_id!r} for {args.project}/{args.env}; shown only now:\n{secret}")
    except ServiceError as error:
        raise CliError(error.message) from None
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
