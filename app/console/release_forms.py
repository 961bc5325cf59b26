"""The console's release forms read into what the services take (a new flag, a rollout plan, a scheduled
change, a trigger, a webhook), and a service's field path (`steps[1].percent`) turned back into the form field
it is about (`steps`).

Only reading is checked here: a number that is not one, JSON that does not parse, a variation the flag does
not have. What the values mean is the services' to judge; their message is shown at the field it names.
Pure: no HTTP, no storage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, get_args

from app.release_text import TextError, from_now, rollout_steps
from app.services.guards import ON_TRIP
from app.services.read_models import ScheduleAction
from flagstaff.clause_options import parse_number
from flagstaff.flags import KINDS

SCHEDULE_ACTIONS: Final = get_args(ScheduleAction)
SWITCH_ACTIONS: Final = ("kill", "on", "off")
GUARD_ON_TRIP: Final = ON_TRIP
DEFAULT_STEPS: Final = "1,5,10,25,50,100"
DEFAULT_DWELL: Final = "10m"
FORM_LEVEL: Final = "form"
"""The field of a refusal that names no input of the form: shown above its button."""
_INDEX: Final = re.compile(r"\[\d+\]")

# Each form: a service's field path (indexes left out) -> the form field it is about.
NEW_FLAG_FIELDS: Final = {
    "key": "key",
    "name": "name",
    "description": "description",
    "kind": "kind",
    "variations": "variations",
    "tags": "tags",
    "If-Match": "key",  # the key is taken: a PUT without If-Match may not replace a flag
}
SETTINGS_FIELDS: Final = {
    "name": "name",
    "description": "description",
    "tags": "tags",
    "temporary": "temporary",
    "client_side": "client_side",
    "If-Match": FORM_LEVEL,
}
ROLLOUT_FIELDS: Final = {
    "flag": "flag",
    "variation": "variation",
    "control": "control",
    "steps": "steps",
    "steps.percent": "steps",
    "steps.dwell_seconds": "dwell",
    "guard": "guard",
    "guard.ratio": "guard_ratio",
    "guard.min_sample": "guard_min_sample",
    "guard.on_trip": "guard_on_trip",
    "reason": "reason",
}
SCHEDULE_FIELDS: Final = {
    "flag": "flag",
    "action": "action",
    "at": "at",
    "changes": "changes",
    "reason": "reason",
}
TRIGGER_FIELDS: Final = {"name": "name", "flag": "flag", "action": "action"}
WEBHOOK_FIELDS: Final = {"name": "name", "url": "url", "events": "events", "secret": "secret"}


class FormError(ValueError):
    """What a person typed cannot be read; `field` names the form field to show `message` at."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Submitted:
    """A form sent back to its page: which form, what was typed, and the refusal at its field."""

    form: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)

    def of(self, form: str) -> Submitted:
        """This, if it is `form`'s; else an empty one, so that each form on a page shows only its own."""
        return self if self.form == form else Submitted(form)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default) if self.form and self.values else default

    def checked(self, name: str, default: bool) -> bool:
        """A checkbox as it was sent back (unticked boxes are not sent at all), or its default."""
        return is_checked(self.values, name) if self.values else default


def is_checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name, "") in ("on", "true", "1")


def form_field(path: str | None, fields: Mapping[str, str]) -> str:
    """The form field a service's field path is about: `steps[1].percent` -> `steps`, `guard.ratio` ->
    `guard_ratio`; a path the form has no input for is the form's own (`FORM_LEVEL`)."""
    if not path:
        return FORM_LEVEL
    parts = _INDEX.sub("", path).split(".")
    while parts:
        found = fields.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return FORM_LEVEL


def at_field(message: str, path: str | None, fields: Mapping[str, str]) -> tuple[str, str]:
    """(form field, message); a path more precise than its field (`steps[1].percent`) is named in the
    message."""
    name = form_field(path, fields)
    precise = path is not None and name != FORM_LEVEL and path != name and "[" in path
    return name, f"{path}: {message}" if precise or (name == FORM_LEVEL and path) else message


# -- a new flag, and its settings ------


def new_flag(form: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(key, the body of `FlagDefinitionIn`)."""
    key = form.get("key", "").strip()
    if not key:
        raise FormError("enter the flag's key: letters, digits, '_', '-', '.' or ':'", "key")
    kind = form.get("kind", "")
    if kind not in KINDS:
        raise FormError(f"choose one of {', '.join(KINDS)}", "kind")
    return key, {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
        "kind": kind,
        "variations": variations_of(kind, form.get("variations", "")),
        "tags": tags_of(form.get("tags", "")),
        "temporary": is_checked(form, "temporary"),
        "client_side": is_checked(form, "client_side"),
    }


def variations_of(kind: str, text: str) -> list[Any]:
    """A boolean flag's are true and false; others one value per line: a string as written, a number as
    JSON spells it, a JSON value as JSON."""
    if kind == "boolean":
        return [True, False]
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise FormError("enter the values this flag can serve, one per line", "variations")
    if kind == "string":
        return [line for _, line in lines]
    values: list[Any] = []
    for number, line in lines:
        if kind == "number":
            found = parse_number(line)
            if found is None:
                raise FormError(f"line {number}: {line!r} is not a number", "variations")
            values.append(found)
        else:
            try:
                values.append(json.loads(line))
            except ValueError as error:
                raise FormError(f"line {number} is not JSON: {error}", "variations") from None
    return values


def tags_of(text: str) -> list[str]:
    """`checkout, team-a` -> ["checkout", "team-a"]."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def settings_changes(form: Mapping[str, str]) -> dict[str, Any]:
    """The settings form's fields: name, description, tags, temporary and client-side."""
    return {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
        "tags": tags_of(form.get("tags", "")),
        "temporary": is_checked(form, "temporary"),
        "client_side": is_checked(form, "client_side"),
    }


# -- a rollout plan ------


def rollout_body(form: Mapping[str, str], variations: Sequence[Any]) -> dict[str, Any]:
    """The body of `RolloutIn`, from the start form and the flag's variations."""
    try:
        steps = rollout_steps(form.get("steps", ""), form.get("dwell", ""))
    except TextError as error:
        raise FormError(error.message, error.part) from None
    body: dict[str, Any] = {
        "flag": form.get("flag", "").strip(),
        "variation": variation_index(variations, form.get("variation", ""), "variation"),
        "steps": steps,
    }
    if form.get("control", "").strip():
        body["control"] = variation_index(variations, form["control"], "control")
    if is_checked(form, "guard"):
        guard: dict[str, Any] = {}
        if form.get("guard_ratio", "").strip():
            guard["ratio"] = _float(form["guard_ratio"], "guard_ratio")
        if form.get("guard_min_sample", "").strip():
            guard["min_sample"] = _integer(form["guard_min_sample"], "guard_min_sample")
        if form.get("guard_on_trip"):
            guard["on_trip"] = form["guard_on_trip"]
        body["guard"] = guard
    if form.get("reason", "").strip():
        body["reason"] = form["reason"].strip()
    return body


def variation_index(variations: Sequence[Any], text: str, name: str) -> int:
    """`#1` (the second variation), or a variation's value as people write it: `true`, `blue`, `42`."""
    text = text.strip()
    if not text:
        raise FormError("choose a variation", name)
    if text.startswith("#") and text[1:].isdigit():
        return int(text[1:])
    matches = [index for index, value in enumerate(variations) if _same_value(value, text)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        choices = " or ".join(f"#{index}" for index in matches)
        raise FormError(f"{text!r} names more than one variation: write {choices}", name)
    raise FormError(f"the flag has no variation {text!r}", name)


def _same_value(value: Any, text: str) -> bool:
    if isinstance(value, str) and value == text:
        return True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False
    # true is not 1, and "1" is not 1: the types must agree as well as the values.
    if isinstance(value, bool) or isinstance(parsed, bool):
        return type(value) is type(parsed) and value == parsed
    comparable = type(value) is type(parsed) or (_is_number(value) and _is_number(parsed))
    return comparable and bool(value == parsed)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(text: str, name: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise FormError(f"{text.strip()!r} is not a number", name) from None


def _integer(text: str, name: str) -> int:
    if not text.strip().isdigit():
        raise FormError(f"{text.strip()!r} is not a whole number", name)
    return int(text.strip())


# -- a scheduled change ------


def schedule_body(form: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """The body of `ScheduleIn`: `at` is a date and time in UTC (a `datetime-local` input has no zone), or
    `after` a time from now (`+10m`)."""
    action = form.get("action", "")
    if action not in SCHEDULE_ACTIONS:
        raise FormError(f"choose one of {', '.join(SCHEDULE_ACTIONS)}", "action")
    body: dict[str, Any] = {
        "flag": form.get("flag", "").strip(),
        "at": _moment(form.get("at", "").strip(), form.get("after", "").strip(), now),
        "action": action,
    }
    if form.get("reason", "").strip():
        body["reason"] = form["reason"].strip()
    if action == "patch":
        try:
            changes = json.loads(form.get("changes", ""))
        except ValueError as error:
            raise FormError(f"not JSON: {error}", "changes") from None
        if not isinstance(changes, dict):
            raise FormError('must be a JSON object, like {"enabled": true}', "changes")
        body["changes"] = changes
    return body


def schedule_fields(form: Mapping[str, str]) -> Mapping[str, str]:
    """The schedule form's fields: a refusal of the time is shown at whichever time input was used."""
    return {**SCHEDULE_FIELDS, "at": "after"} if form.get("after", "").strip() else SCHEDULE_FIELDS


def _moment(at: str, after: str, now: datetime) -> datetime:
    if at and after:
        raise FormError("give a time, or a time from now, not both", "after")
    if after:
        try:
            moment = from_now(after, now)
        except TextError as error:
            raise FormError(error.message, "after") from None
        if moment is None:
            raise FormError("write a time from now as + a number and s, m, h or d, like +10m", "after")
        return moment
    if not at:
        raise FormError("choose a date and time (UTC), or write a time from now like +10m", "at")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise FormError(f"{at!r} is not a date and time like 2026-12-01T09:00", "at") from None
    if moment.tzinfo is not None:
        raise FormError("give the time in UTC without a zone, like 2026-12-01T09:00", "at")
    return moment.replace(tzinfo=UTC)


# -- triggers and webhooks ------


def trigger_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The body of `TriggerIn`."""
    return {
        "name": form.get("name", "").strip(),
        "flag": form.get("flag", "").strip(),
        "action": form.get("action", ""),
        "fire_on_resolved": is_checked(form, "fire_on_resolved"),
    }


def webhook_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The body of `WebhookIn`: events comma-separated, none meaning every event."""
    events = [event.strip() for event in form.get("events", "").split(",") if event.strip()]
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "url": form.get("url", "").strip(),
        "events": events or None,
    }
    if form.get("secret", "").strip():
        body["secret"] = form["secret"].strip()
    return body
