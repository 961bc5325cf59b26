"""`flagstaff migrate`: apply the database migrations up to a revision, or, only when asked by name,
downgrade to one. Says in one line what the database was at and what it is at now."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_errors import CliError
from app.settings import Settings

DESCRIPTION = """\
Apply the database migrations to FLAGSTAFF_DATABASE_URL. --to only goes forward: on a database already newer
than REV it changes nothing and says so. Going back is --downgrade-to, which drops the tables (and their data)
that later migrations added. Revisions and their contents are listed in docs/migrations.md."""


def add_parser(commands: Any) -> None:
    """Registers `migrate` on the CLI's sub-command parser."""
    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations to FLAGSTAFF_DATABASE_URL",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = migrate.add_mutually_exclusive_group()
    target.add_argument(
        "--to",
        metavar="REV",
        default="head",
        help="migrate up to this revision (default: head, the latest); never goes down",
    )
    target.add_argument(
        "--downgrade-to",
        metavar="REV",
        help="migrate down to this revision, or 'base' for no tables; drops what later revisions added",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: SQLAlchemy and Alembic take a while to load, and only this command needs them.
    from sqlalchemy.engine import make_url

    from app.storage import schema_migrations

    url = settings.database_url
    where = make_url(url).render_as_string(hide_password=True)
    latest = schema_migrations.known_revisions()[-1]
    try:
        if args.downgrade_to is not None:
            step = schema_migrations.downgrade(url, args.downgrade_to)
            verb = "downgraded"
        else:
            step = schema_migrations.upgrade(url, args.to)
            verb = "migrated"
    except schema_migrations.MigrationRefused as refusal:
        raise CliError(str(refusal)) from None
    after = _name(step.after, latest)
    if step.before == step.after:
        print(f"the database {where} is already at {after}; nothing to do")
    else:
        print(f"{verb} the database {where} from {_name(step.before, latest)} to {after}")
    return 0


def _name(revision: str | None, latest: str) -> str:
    if revision is None:
        return "base (no tables)"
    return f"{revision} (the latest)" if revision == latest else revision
