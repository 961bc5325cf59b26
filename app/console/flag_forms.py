"""The flag page's edit forms: each turns what a person typed into a targeting change for
`FlagConfigService.patch`, and a field path in the service's answer back into the form field it is about.

Only the reading of text is checked here (a percentage that is not a number, JSON that does not parse); what
the change means is checked by the service, the one authority, whose message is shown at the field it names.
Pure: no HTTP, no storage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal

from app.services.wire_format import CONFIG_FIELDS
from flagstaff.clause_options import parse_number
from flagstaff.operators import OPERATORS

FormName = Literal["targets", "rollout", "rule", "rules", "json"]
JSON_FIELDS: Final = tuple(name for name in CONFIG_FIELDS if name != "enabled")
"""What the JSON editor holds: the targeting, without the switch, which is turned with its own audited
action (on, off, kill) so that the log says which it was."""
_NUMBER_OPERATORS: Final = frozenset({"lt", "lte", "gt", "gte"})
_TIME_OPERATORS: Final = frozenset({"before", "after"})
_PERCENT: Final = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?")  # ASCII only: \d takes any script's digits
_INDEX: Final = re.compile(r"\[(\d+)\]")


class FormError(ValueError):
    """What a person typed cannot be read; ``field`` names the form field to show ``message`` at."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def targets_change(flag: Mapping[str, Any], action: str, variation: str, keys: str) -> dict[str, Any]:
    """Adds context keys to a variation's targets (moving them from another variation), or removes them."""
    wanted = split_values(keys)
    if not wanted:
        raise FormError("enter at least one context key", "keys")
    targets = [
        {"variation": t.get("variation"), "values": [v for v in t.get("values", []) if v not in wanted]}
        for t in flag.get("targets") or []
    ]
    if action == "remove":
        targeted = {v for t in flag.get("targets") or [] for v in t.get("values", [])}
        missing = [key for key in wanted if key not in targeted]
        if missing:
            raise FormError(f"not targeted: {', '.join(missing[:5])}", "keys")
    elif action == "add":
        index = variation_index(flag, variation, "variation")
        entry = next((t for t in targets if t["variation"] == index), None)
        if entry is None:
            targets.append({"variation": index, "values": list(wanted)})
        else:
            entry["values"] += wanted
    else:
        raise FormError("choose to add or to remove", "action")
    return {"targets": [t for t in targets if t["values"]]}


def rollout_change(flag: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """The fallthrough: one variation for everyone (``mode=variation``), or a percentage of contexts for each
    variation (``weight-<index>`` fields), keeping how an existing rollout splits contexts."""
    if form.get("mode") == "variation":
        return {"fallthrough": {"variation": variation_index(flag, form.get("serve", ""), "serve")}}
    current = (flag.get("fallthrough") or {}).get("rollout") or {}
    rollout = {name: value for name, value in current.items() if name != "variations"}
    rollout["variations"] = [
        {"variation": i, "weight": weight(form.get(f"weight-{i}", ""), f"weight-{i}")}
        for i in range(len(flag.get("variations") or []))
    ]
    return {"fallthrough": {"rollout": rollout}}


def add_rule_change(flag: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """A rule of one condition, after the others: "if <attribute> <op> <values>, serve <variation>"."""
    op = form.get("op", "")
    if op not in OPERATORS:
        raise FormError("choose an operator", "op")
    attribute = form.get("attribute", "").strip() or "key"
    clause: dict[str, Any] = {"attribute": attribute, "op": op, "values": _typed(op, form.get("values", ""))}
    if form.get("negate"):
        clause["negate"] = True
    if form.get("case_insensitive") and OPERATORS[op].on_strings:
        clause["case_insensitive"] = True
    rules = list(flag.get("rules") or [])
    rule_id = form.get("id", "").strip() or _new_rule_id(rules)
    serve = {"variation": variation_index(flag, form.get("serve", ""), "serve")}
    return {"rules": [*rules, {"id": rule_id, "clauses": [clause], "serve": serve}]}


def remove_rule_change(flag: Mapping[str, Any], rule_id: str) -> dict[str, Any]:
    rules = list(flag.get("rules") or [])
    kept = [rule for rule in rules if rule.get("id") != rule_id]
    if len(kept) == len(rules):
        raise FormError(f"the flag has no rule {rule_id!r}", "rule")
    return {"rules": kept}


def move_rule_change(flag: Mapping[str, Any], rule_id: str, direction: str) -> dict[str, Any]:
    """One place earlier (``up``) or later (``down``): rules are tried in order."""
    rules = list(flag.get("rules") or [])
    at = next((i for i, rule in enumerate(rules) if rule.get("id") == rule_id), None)
    if at is None:
        raise FormError(f"the flag has no rule {rule_id!r}", "rule")
    to = at - 1 if direction == "up" else at + 1
    if direction not in ("up", "down") or not 0 <= to < len(rules):
        raise FormError("the rule cannot move that way", "rule")
    rules[at], rules[to] = rules[to], rules[at]
    return {"rules": rules}


def json_change(text: str) -> dict[str, Any]:
    """The JSON editor's object of targeting fields; the service checks what they hold."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise FormError(f"not JSON: {exc}", "json") from None
    if not isinstance(value, dict):
        raise FormError("must be a JSON object of targeting fields", "json")
    if "enabled" in value:
        raise FormError("turn the flag on or off with its switch, not here", "json")
    return value


def json_text(flag: Mapping[str, Any]) -> str:
    """The JSON editor's starting text: the flag's targeting fields, indented."""
    return json.dumps(
        {name: flag.get(name) for name in JSON_FIELDS if name in flag}, indent=2, ensure_ascii=False
    )


def field_for(form: FormName, path: str | None, flag: Mapping[str, Any]) -> str:
    """The field of ``form`` that a service's field path is about; ``""`` for the form as a whole."""
    if path is None:
        return ""
    if form == "targets":
        return "keys" if path.startswith("targets") else ""
    if form == "rollout":
        index = _INDEX.search(path)
        if path.startswith("fallthrough.rollout.variations[") and index is not None:
            return f"weight-{index.group(1)}"
        return "weights" if path.startswith("fallthrough") else ""
    if form == "rule":
        new = f"rules[{len(flag.get('rules') or [])}]"
        if path.startswith(f"{new}.clauses[0]."):
            name = re.split(r"[.\[]", path.removeprefix(f"{new}.clauses[0]."))[0]
            return name if name in ("attribute", "op") else "values"
        for part in ("serve", "id"):
            if path.startswith(f"{new}.{part}"):
                return part
        return ""
    return "json" if form == "json" else ""


def split_values(text: str) -> list[str]:
    """One value per line; on a single line, values separated by commas. Blank ones are dropped, repeats
    kept once."""
    parts = text.splitlines() if "\n" in text.strip() else text.split(",")
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def variation_index(flag: Mapping[str, Any], text: str, field: str) -> int:
    count = len(flag.get("variations") or [])
    if not text.isdigit() or int(text) >= count:
        raise FormError("choose one of the flag's variations", field)
    return int(text)


def weight(text: str, field: str) -> int:
    """A percentage with at most three decimals ("12.5") in thousandths of a percent (12500)."""
    text = text.strip().removesuffix("%").strip() or "0"
    if not _PERCENT.fullmatch(text) or Decimal(text) > 100:
        raise FormError("a percentage from 0 to 100, with at most three decimals", field)
    return int(Decimal(text) * 1000)


def _typed(op: str, text: str) -> list[Any]:
    """The condition's values as the operator compares them: numbers for the numeric operators, epoch
    seconds or text for times, text otherwise (a number to compare with `in` needs the JSON editor)."""
    values = split_values(text)
    if op == "exists":
        return []
    if op in _NUMBER_OPERATORS:
        return [_number(value) for value in values]
    if op in _TIME_OPERATORS:
        return [value if (number := parse_number(value)) is None else number for value in values]
    return values


def _number(text: str) -> int | float:
    number = parse_number(text)
    if number is None:
        raise FormError(f"not a number: {text[:40]}", "values")
    return number


def _new_rule_id(rules: Sequence[Mapping[str, Any]]) -> str:
    """``rule-<n>``, numbered after the rules before it, skipping numbers taken: ids are unique in a flag."""
    taken = {rule.get("id") for rule in rules}
    n = len(rules) + 1
    while f"rule-{n}" in taken:
        n += 1
    return f"rule-{n}"
