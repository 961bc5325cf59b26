"""One Unleash activation strategy as a gate: the clauses (and hashed coverage) a context must pass.

A strategy that can never enable anyone (0%, an empty user list, a constraint that never matches) has no gate.
Unleash's strategies are alternatives, so each gate becomes its own rule and a miss falls through to the next.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flagstaff.bucketing import BUCKETS
from flagstaff.unleash.bucketing import NAME as ALGORITHM
from flagstaff.unleash.constraints import ALWAYS, NEVER, Clause, convert_constraint
from flagstaff.unleash.context import HOSTNAME, attribute_for
from flagstaff.unleash.report import Notes

KEY = "key"
"""Where default stickiness (userId, else sessionId) is read from: see ``to_flagstaff_context``."""
RANDOM_NOTE = (
    "Unleash picks contexts without a stickiness value at random; Flagstaff is deterministic and "
    "leaves them out"
)


@dataclass
class Gate:
    clauses: list[Clause] = field(default_factory=list)
    coverage: dict[str, Any] | None = None


def convert_strategy(
    strategy: Mapping[str, Any],
    feature: str,
    segments: Mapping[Any, list[Any]],
    notes: Notes,
    where: str,
) -> Gate | None:
    """The gate for ``strategy``, or ``None`` if Unleash would never enable it."""
    gate = Gate()
    for segment_id in strategy.get("segments") or []:
        constraints = segments.get(segment_id)
        if constraints is None:
            notes.add(f"{where} segment {segment_id}", "unknown segment; Unleash never enables the strategy")
            return None
        if not _add_constraints(gate, constraints, notes, f"{where} segment {segment_id}"):
            return None
    if not _add_constraints(gate, strategy.get("constraints") or [], notes, where):
        return None
    name = str(strategy.get("name", ""))
    parameters = strategy.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        parameters = {}
    if name == "default":
        return gate
    if name == "userWithId":
        return _in_list(gate, "userId", _split(parameters.get("userIds")))
    if name == "remoteAddress":
        return _remote_address(gate, _split(parameters.get("IPs")), notes, where)
    if name == "applicationHostname":
        notes.add(
            f"{where} applicationHostname",
            f"Unleash reads the host's name; Flagstaff reads the context attribute {HOSTNAME!r}: set it",
        )
        hosts = [h.lower() for h in _split(parameters.get("hostNames"))]
        if not hosts:
            return None
        gate.clauses.append({"attribute": HOSTNAME, "op": "in", "values": hosts, "case_insensitive": True})
        return gate
    if name == "flexibleRollout":
        stickiness = str(parameters.get("stickiness") or "default")
        group = str(parameters.get("groupId") or feature)
        return _rollout(gate, parameters.get("rollout"), stickiness, group, notes, where)
    if name == "gradualRolloutUserId":
        return _rollout(
            gate, parameters.get("percentage"), "userId", str(parameters.get("groupId") or ""), notes, where
        )
    if name == "gradualRolloutSessionId":
        return _rollout(
            gate,
            parameters.get("percentage"),
            "sessionId",
            str(parameters.get("groupId") or ""),
            notes,
            where,
        )
    if name == "gradualRolloutRandom":
        return _rollout(gate, parameters.get("percentage"), "random", feature, notes, where)
    notes.add(f"{where} {name}", "custom or unknown strategy; it cannot be imported and enables no one")
    return None


def _add_constraints(gate: Gate, constraints: list[Any], notes: Notes, where: str) -> bool:
    for raw in constraints:
        if not isinstance(raw, Mapping):
            notes.add(where, f"constraint {raw!r} is not an object; Unleash never matches it")
            return False
        clause = convert_constraint(raw, notes, where)
        if clause is NEVER:
            return False
        if clause is not ALWAYS:
            gate.clauses.append(clause)  # type: ignore[arg-type]
    return True


def _split(value: object) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _in_list(gate: Gate, attribute: str, values: list[str]) -> Gate | None:
    if not values:
        return None
    gate.clauses.append({"attribute": attribute, "op": "in", "values": values})
    return gate


def _remote_address(gate: Gate, ips: list[str], notes: Notes, where: str) -> Gate | None:
    valid = []
    for ip in ips:
        try:
            ipaddress.ip_network(ip, strict=False)
        except ValueError:
            notes.add(f"{where} remoteAddress", f"ignored invalid address {ip!r}, as Unleash does")
            continue
        valid.append(ip)
    if not valid:
        return None
    gate.clauses.append({"attribute": "remoteAddress", "op": "in_cidr", "values": valid})
    return gate


def _rollout(
    gate: Gate, raw_percentage: object, stickiness: str, group: str, notes: Notes, where: str
) -> Gate | None:
    try:
        percentage = float(str(raw_percentage))
    except ValueError:
        notes.add(f"{where} rollout", f"{raw_percentage!r} is not a number; Unleash enables no one")
        return None
    if not math.isfinite(percentage) or percentage <= 0:
        return None
    default = stickiness in ("default", "random")
    attribute = KEY if default else attribute_for(stickiness)
    if percentage >= 100:
        if not default:
            # Even at 100%, Unleash enables only contexts that have the stickiness value.
            gate.clauses.append({"attribute": attribute, "op": "exists"})
        return gate
    if stickiness == "random":
        notes.add(f"{where} rollout", "random stickiness: imported as sticky on the context key")
    elif default:
        notes.add(f"{where} rollout", RANDOM_NOTE)
    # Unleash enables hash % 100 + 1 <= percentage, i.e. the first floor(percentage) of 100 slots.
    weight = min(BUCKETS, int(percentage) * (BUCKETS // 100))
    gate.coverage = {"algorithm": ALGORITHM, "bucket_by": attribute, "salt": group, "weight": weight}
    return gate
