"""What a flag's pages show, built from what the services return: the targeting as sentences (in one
environment, or in each), the segments it uses, the values its edit forms start with, and its history as
readable diffs.

Presentation only: reads service answers and the SDK's operator table, decides nothing about the flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.console.diffs import DiffLine, diff_flags
from app.console.sentences import TargetingText, as_list, describe_flag, percent, value_text
from app.services import wire_format
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.read_models import AuditEntryOut, HistoryEntry, SegmentOut
from flagstaff.operators import OPERATORS


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class RolloutInput:
    """One variation's share in the fallthrough form: its index, its value, and the percentage shown."""

    index: int
    label: str
    percent: str


@dataclass(frozen=True, slots=True)
class SegmentUse:
    key: str
    summary: str
    """ "2 included, 1 excluded, 1 rule", or why it cannot be shown."""


@dataclass(frozen=True, slots=True)
class EnvironmentTargeting:
    """A flag's targeting in one environment, for the page that shows it in every environment."""

    environment: str
    version: int
    text: TargetingText
    url: str
    """The flag's page in this environment."""


@dataclass(frozen=True, slots=True)
class HistoryItem:
    version: int
    revision: int
    actor: str
    at: datetime
    deleted: bool
    changes: tuple[DiffLine, ...]
    """What this version changed from the one before it."""
    revertible: bool
    """An earlier version that still exists: reverting to it writes its targeting as a new version."""


_SWITCHES = frozenset({"flag.on", "flag.off", "flag.kill"})
# The operators a simple rule may use, as the form's list names them; the JSON editor takes any clause.
_OPERATOR_LABELS: Mapping[str, str] = {
    "in": "is one of",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "contains": "contains",
    "matches": "matches the pattern",
    "lt": "is less than",
    "lte": "is at most",
    "gt": "is more than",
    "gte": "is at least",
    "before": "is before (time)",
    "after": "is after (time)",
    "semver_eq": "is version",
    "semver_lt": "is a version before",
    "semver_lte": "is a version up to",
    "semver_gt": "is a version after",
    "semver_gte": "is a version from",
    "in_cidr": "is in the network",
    "exists": "is set",
    "segment_match": "is in the segment",
}


def flag_url(ref: FlagRef) -> str:
    """The page of a flag in one environment, each key quoted for the path."""
    project, environment, flag = (quote(key, safe="") for key in (ref.project, ref.environment, ref.flag))
    return f"/console/projects/{project}/environments/{environment}/flags/{flag}"


def targeting_everywhere(services: Services, project: str, flag: str) -> list[EnvironmentTargeting]:
    """The flag's targeting as sentences in each environment of its project, in their order."""
    found = []
    for environment in services.projects.get_project(project).environments:
        ref = FlagRef(project, environment.key, flag)
        wire = services.flag_configs.get(ref).flag
        found.append(
            EnvironmentTargeting(environment.key, wire["version"], describe_flag(wire), flag_url(ref))
        )
    return found


def operator_choices() -> list[Choice]:
    """Every operator of the engine, in its table's order, by what it tests."""
    return [Choice(op, _OPERATOR_LABELS.get(op, op)) for op in OPERATORS]


def variation_choices(flag: Mapping[str, Any]) -> list[Choice]:
    return [Choice(str(i), value_text(v)) for i, v in enumerate(as_list(flag.get("variations")))]


def rollout_inputs(flag: Mapping[str, Any], submitted: Mapping[str, str] | None = None) -> list[RolloutInput]:
    """The fallthrough's share per variation: what was just submitted (after a refusal), else the current
    rollout's weights, else 100% for the variation served to everyone."""
    fallthrough = flag.get("fallthrough") or {}
    weights = dict.fromkeys(range(len(as_list(flag.get("variations")))), 0)
    rollout = fallthrough.get("rollout")
    if isinstance(rollout, Mapping):
        for entry in as_list(rollout.get("variations")):
            if isinstance(entry, Mapping) and entry.get("variation") in weights:
                weights[entry["variation"]] += int(entry.get("weight") or 0)
    elif fallthrough.get("variation") in weights:
        weights[fallthrough["variation"]] = 100_000
    labels = variation_choices(flag)
    return [
        RolloutInput(
            index=i,
            label=labels[i].label,
            percent=(
                submitted.get(f"weight-{i}", "")
                if submitted is not None
                else percent(weight).removesuffix("%")
            ),
        )
        for i, weight in weights.items()
    ]


def segment_uses(keys: Sequence[str], found: Mapping[str, SegmentOut | None]) -> list[SegmentUse]:
    """Each segment the rules use, with its size; one that does not exist (any more) says so."""
    uses = []
    for key in keys:
        segment = found.get(key)
        if segment is None:
            uses.append(SegmentUse(key, "does not exist in this environment"))
            continue
        parts = [
            _count(len(segment.included), "included", "included"),
            _count(len(segment.excluded), "excluded", "excluded"),
            _count(len(segment.rules), "rule", "rules"),
        ]
        uses.append(SegmentUse(key, ", ".join(parts)))
    return uses


def history_items(
    entries: Sequence[HistoryEntry], older: HistoryEntry | None, current_version: int
) -> list[HistoryItem]:
    """Newest first, as the service lists them; each with its diff from the entry after it in the list, the
    last with its diff from ``older`` (the entry before the page, None at the very first version)."""
    items = []
    for i, entry in enumerate(entries):
        previous = entries[i + 1] if i + 1 < len(entries) else older
        changes = diff_flags(previous.flag if previous else None, entry.flag)
        items.append(
            HistoryItem(
                version=entry.version,
                revision=entry.revision,
                actor=entry.actor,
                at=entry.at,
                deleted=entry.deleted,
                changes=changes,
                revertible=entry.flag is not None and entry.version != current_version,
            )
        )
    return items


def revert_changes(current: Mapping[str, Any], earlier: Mapping[str, Any]) -> tuple[DiffLine, ...]:
    """What reverting to ``earlier`` changes: its targeting written over the current flag (the definition,
    shared by every environment, stays as it is now)."""
    return diff_flags(current, {**current, **wire_format.config_of(dict(earlier))})


def switch_state(flag: Mapping[str, Any], audit: Sequence[AuditEntryOut]) -> str:
    """``on``, ``off``, or ``killed``: off, and the newest switch in ``audit`` (newest first) was a kill."""
    if flag.get("enabled"):
        return "on"
    last = next((entry.action for entry in audit if entry.action in _SWITCHES), None)
    return "killed" if last == "flag.kill" else "off"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
