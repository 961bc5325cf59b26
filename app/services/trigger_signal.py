"""Reads what a monitoring system posted to a trigger: whether its alert is firing or resolved, and why, in
words bounded for the audit entry. Knows the Prometheus Alertmanager webhook payload (version 4) and a plain
JSON body; acts on nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.services.errors import InvalidInput

# The reason a fire writes to the audit log is cut to this many characters (an alert group can be large).
MAX_REASON_LENGTH = 1000
_STATUSES = ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class Signal:
    resolved: bool
    reason: str | None  # None: the caller said nothing of why


def read_signal(body: dict[str, Any] | None) -> Signal:
    """An Alertmanager notification is told apart by its `alerts` list; any other object (or no body at all)
    is a plain request, with an optional `status` and `reason`. Other fields are ignored, so that a tool
    sending more than these still works."""
    if not body:
        return Signal(False, None)
    status = body.get("status", "firing")
    if status not in _STATUSES:
        raise InvalidInput(f"must be firing or resolved, not {status!r}", "status")
    if "alerts" in body:
        return Signal(status == "resolved", _alertmanager_reason(status, body["alerts"]))
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or "\x00" in reason):
        raise InvalidInput("must be a string without NUL characters", "reason")
    return Signal(status == "resolved", _bounded(reason) if reason else None)


def _alertmanager_reason(status: str, alerts: Any) -> str:
    """`Alertmanager firing: HighErrorRate (checkout 5xx above 5%), LatencyHigh`: the group's alerts in that
    state, by name and summary, each once."""
    if not isinstance(alerts, list):
        raise InvalidInput("must be a list of alerts, as Alertmanager sends", "alerts")
    described: list[str] = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise InvalidInput("must be an object, as Alertmanager sends", f"alerts[{index}]")
        if alert.get("status", status) != status:
            continue  # a group's notification lists its alerts in the other state too
        name = _text(_field(alert, "labels", "alertname")) or "alert"
        summary = _text(
            _field(alert, "annotations", "summary") or _field(alert, "annotations", "description")
        )
        text = f"{name} ({summary})" if summary else name
        if text not in described:
            described.append(text)
    return _bounded(f"Alertmanager {status}: {', '.join(described) or 'no alerts listed'}")


def _field(alert: dict[str, Any], group: str, name: str) -> Any:
    values = alert.get(group)
    return values.get(name) if isinstance(values, dict) else None


def _text(value: Any) -> str:
    # Labels and annotations are strings in Alertmanager; anything else is shown, not refused.
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text.replace("\x00", "\ufffd").strip()


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"
