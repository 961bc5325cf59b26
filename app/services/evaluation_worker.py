"""What an evaluation worker process runs: compile the snapshot it is sent (once per environment revision) and
evaluate it with the SDK's engine. Imports only the SDK: a worker never touches the database or the network.
"""

from __future__ import annotations

from typing import Any

import flagstaff

_KEPT = 16
_snapshots: dict[int, flagstaff.Snapshot] = {}
"""The latest compiled snapshot of the environments this process evaluated last (at most `_KEPT`)."""


def evaluate(
    environment_id: int,
    revision: int,
    body: bytes,
    context: dict[str, Any],
    flag_key: str | None,
    now: float,
) -> tuple[int, dict[str, dict[str, Any]]]:
    """`body` is the environment's snapshot at `revision`, as served to SDKs; the answer is plain data."""
    snapshot = _snapshots.pop(environment_id, None)
    if snapshot is None or snapshot.revision != revision:
        snapshot = flagstaff.load_snapshot(body)  # compiles only the flags it evaluates
    if len(_snapshots) >= _KEPT:
        _snapshots.pop(next(iter(_snapshots)))  # the one used longest ago: entries move to the end when used
    _snapshots[environment_id] = snapshot
    if flag_key is not None:
        results = {flag_key: snapshot.evaluate(flag_key, context, now)}
    else:
        results = snapshot.evaluate_all(context, now)
    return snapshot.revision, {key: result.to_dict() for key, result in results.items()}
