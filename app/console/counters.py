"""A propagation report as the console shows it: "2 of 3 SDK instances confirmed revision 12", and whether
every connected SDK has confirmed (the counter turns green). Used after a switch and for a rollout plan's last
step alike."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.read_models import PropagationOut


@dataclass(frozen=True, slots=True)
class Counter:
    """A propagation report as the console shows it: a sentence, and whether every SDK confirmed."""

    text: str
    done: str
    """"true" (every connected instance confirmed), "none" (no instance connected) or "false"."""
    note: str | None
    confirmed: int
    total: int
    revision: int

    @classmethod
    def of(cls, report: PropagationOut) -> Counter:
        total = report.confirmed + report.unconfirmed
        complete = report.presence == "complete"
        if not report.available:
            text, done = "Confirmations cannot be read right now.", "false"
        elif total == 0:
            text = (
                "No SDK instance is connected to this environment."
                if complete
                else "No SDK has reported yet."
            )
            done = "none" if complete else "false"
        else:
            noun = "instance" if total == 1 else "instances"
            text = f"{report.confirmed} of {total} SDK {noun} confirmed revision {report.revision}"
            done = "true" if report.unconfirmed == 0 and complete else "false"
        return cls(text, done, report.note, report.confirmed, total, report.revision)
