"""Audit entries as the console lists them: each with what it changed as readable lines, and the page's
filters read from its query string (a time without a zone is UTC, as in the REST API).

Presentation only: the entries come from `services.audit`, which decides what each filter means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.console.diffs import DiffLine, diff_fields, diff_flags
from app.services.read_models import AuditEntryOut

FILTERS = ("project", "environment", "flag", "actor", "action", "since", "until")
ACTIONS = (
    "flag.create",
    "flag.update",
    "flag.delete",
    "flag.on",
    "flag.off",
    "flag.kill",
    "flag.revert",
    "segment.create",
    "segment.update",
    "segment.delete",
    "project.create",
    "project.delete",
    "environment.create",
    "environment.delete",
    "admin_key.create",
    "admin_key.revoke",
    "sdk_key.create",
    "sdk_key.revoke",
)
"""Suggested in the action filter (docs/api.md lists them); any other action may be typed."""


_LONGEST = 200  # the longest key, name or action the REST API's audit filters take


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry: AuditEntryOut
    changes: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The page's filters: the text typed (to show again) and what was read from it."""

    text: Mapping[str, str]
    since: datetime | None
    until: datetime | None
    errors: Mapping[str, str]
    """Filter name -> why it cannot be read; the page lists nothing until it can."""

    def value(self, name: str) -> str | None:
        return self.text.get(name) or None


def audit_rows(entries: Sequence[AuditEntryOut]) -> list[AuditRow]:
    """A flag's change in one environment as a targeting diff; anything else field by field."""
    rows = []
    for entry in entries:
        if entry.target_kind == "flag" and entry.environment is not None:
            changes = diff_flags(entry.before, entry.after)
        else:
            changes = diff_fields(entry.before, entry.after)
        rows.append(AuditRow(entry, changes))
    return rows


def read_query(params: Mapping[str, str]) -> AuditQuery:
    text = {name: params.get(name, "").strip() for name in FILTERS}
    errors = {name: f"at most {_LONGEST} characters" for name, value in text.items() if len(value) > _LONGEST}
    times = {name: _time(text[name], name, errors) for name in ("since", "until")}
    return AuditQuery(text=text, since=times["since"], until=times["until"], errors=errors)


def _time(text: str, name: str, errors: dict[str, str]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        errors[name] = "a date and time such as 2025-06-30T14:00 (UTC unless a zone is given)"
        return None
