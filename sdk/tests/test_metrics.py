"""SDK metrics counted in the client: flag checks per flag and variation served, ``track`` outcomes attributed
to the variation each ``track_events`` flag serves, the bound on cells, and no exception whatever the input.
Offline clients count as live ones do (never sending), so ``client.metrics()`` shows what a batch would hold.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from flagstaff import Client, FlagStore, LiveOptions, StaticDataSource, load_snapshot
from flagstaff.testing import TestSource

CONTEXTS = [{"key": f"user-{n}", "plan": "free" if n % 3 else "pro"} for n in range(5_000)]


def _rollout(percent_true: int) -> dict[str, Any]:
    weight = percent_true * 1_000
    return {
        "rollout": {
            "variations": [{"variation": 0, "weight": weight}, {"variation": 1, "weight": 100_000 - weight}]
        }
    }


def _flag(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "off_variation": 1,
        "version": 1,
        "fallthrough": _rollout(10),
        **fields,
    }


def _snapshot(*flags: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "revision": 1, "flags": {f["key"]: f for f in flags}, "segments": {}}


def _cells(client: Client, event: str | None = None) -> dict[tuple[str | None, int | None], list[float]]:
    """The current batch's cells of ``event`` as {(flag, variation): [count, sum]}; of all, keyed by event."""
    cells: dict[Any, list[float]] = {}
    for row in client.metrics()["counts"]:
        if event is None:
            cells[(row["flag"], row["variation"], row["event"])] = [row["count"], row["sum"]]
        elif row["event"] == event:
            cells[(row["flag"], row["variation"])] = [row["count"], row["sum"]]
    return cells


def _checks(client: Client) -> dict[tuple[str | None, int | None], int]:
    return {cell: int(n) for cell, (n, _) in _cells(client, "$evaluation").items()}


def _served(snapshot: dict[str, Any], key: str, contexts: list[dict[str, Any]]) -> Counter[int | None]:
    """What the engine itself serves each context (no client, so nothing counted)."""
    compiled = load_snapshot(snapshot)
    return Counter(compiled.evaluate(key, context).variation_index for context in contexts)


# -- flag checks ------
def test_checks_of_a_rollout_are_counted_per_variation_served_over_many_contexts() -> None:
    snapshot = _snapshot(_flag("checkout"))
    client = Client.from_dict(snapshot)

    served = Counter(client.is_enabled("checkout", context) for context in CONTEXTS)

    expected = _served(snapshot, "checkout", CONTEXTS)
    assert _checks(client) == {("checkout", 0): expected[0], ("checkout", 1): expected[1]}
    assert (served[True], served[False]) == (expected[0], expected[1])
    assert 0.07 < expected[0] / len(CONTEXTS) < 0.13  # a 10% rollout, so both cells are really exercised


def test_every_kind_of_check_counts_once_and_all_flags_does_not() -> None:
    snapshot = _snapshot(_flag("on", fallthrough={"variation": 0}), _flag("off", enabled=False))
    client = Client.from_dict(snapshot)

    client.is_enabled("on")
    client.variation("on", {"key": "a"}, False)
    client.evaluate("on", {"key": "a"})
    client.evaluate_with_flag("on", {"key": "a"})
    client.variation("off", None, True)
    client.all_flags({"key": "a"})

    assert _checks(client) == {("on", 0): 4, ("off", 1): 1}


def test_a_check_that_serves_the_callers_default_counts_under_no_variation() -> None:
    no_off_variation = {k: v for k, v in _flag("dark", enabled=False).items() if k != "off_variation"}
    client = Client.from_dict(_snapshot(_flag("checkout"), no_off_variation))

    client.variation("checkout", {"key": "a"}, "a string default")  # the wrong kind: default served
    client.is_enabled("dark", {"key": "a"}, default=True)  # off, with no off variation
    client.variation("dark", {"key": "a"}, default=True)
    client.evaluate("dark", {"key": "a"}, default=True)
    client.is_enabled("no-such-flag")  # a flag that does not exist has no cells

    assert _checks(client) == {("checkout", None): 1, ("dark", None): 3}


def test_a_new_version_of_a_flag_adds_to_the_counts_of_the_one_before() -> None:
    source = TestSource()
    client = Client(data_source=source)
    source.set("banner", "red")
    for _ in range(5):
        client.variation("banner", {"key": "a"}, "none")

    source.set("banner", "red", for_keys={"b": "blue"})  # a new version, compiled anew
    for key in ("a", "b", "b"):
        client.variation("banner", {"key": key}, "none")
    source.remove("banner")
    client.variation("banner", {"key": "a"}, "none")  # gone: not counted

    assert _checks(client) == {("banner", 0): 6, ("banner", 1): 2}


class _Reloading:
    """A data source that installs whole snapshot documents, as the stream does on reconnecting."""

    def __init__(self) -> None:
        self.store = FlagStore()

    def start(self, store: FlagStore) -> None:
        self.store = store

    def close(self) -> None:
        pass


def test_a_full_snapshot_reloaded_keeps_every_flags_counts_whatever_the_bound() -> None:
    flags = [_flag(f"flag-{n}", fallthrough={"variation": n % 2}) for n in range(6)]
    source = _Reloading()
    client = Client(data_source=source, options=LiveOptions(max_metric_cells=2))
    source.store.replace(_snapshot(*flags))
    for flag in flags:
        client.is_enabled(flag["key"])

    source.store.replace({**_snapshot(*flags), "revision": 2})  # every flag compiled anew
    for flag in flags:
        client.is_enabled(flag["key"])

    assert _checks(client) == {(f"flag-{n}", n % 2): 2 for n in range(6)}
    assert client.metrics()["dropped"] == 0


def test_checks_of_deleted_flags_are_kept_within_the_bound() -> None:
    flags = [_flag(f"flag-{n}", fallthrough={"variation": 0}) for n in range(5)]
    source = _Reloading()
    client = Client(data_source=source, options=LiveOptions(max_metric_cells=2))
    source.store.replace(_snapshot(*flags))
    for flag in flags:
        client.is_enabled(flag["key"])
        client.is_enabled(flag["key"])

    source.store.replace({**_snapshot(), "revision": 2})  # every flag deleted

    kept = _checks(client)
    assert len(kept) == 2 and set(kept.values()) == {2}  # two of the five deleted flags, whole
    assert client.metrics()["dropped"] == 6


def test_metrics_reads_without_resetting() -> None:
    client = Client.from_dict(_snapshot(_flag("checkout", fallthrough={"variation": 0})))
    client.is_enabled("checkout")

    first = client.metrics()
    client.is_enabled("checkout")

    assert _checks(client) == {("checkout", 0): 2}
    assert set(first) == {"start", "end", "counts", "dropped"}
    assert first["start"] <= first["end"] and first["dropped"] == 0


# -- track ------
def test_track_counts_the_total_and_the_variation_each_tracked_flag_serves() -> None:
    tracked = _flag("new-checkout", track_events=True, fallthrough=_rollout(30))
    untracked = _flag("banner", fallthrough=_rollout(50))
    snapshot = _snapshot(tracked, untracked)
    client = Client.from_dict(snapshot)

    for n, context in enumerate(CONTEXTS):
        client.track("purchase", context, value=n % 7)
    client.track("purchase")  # no context: still one total, and the variation served to an empty context

    cells = _cells(client, "purchase")
    expected = _served(snapshot, "new-checkout", [*CONTEXTS, {}])
    expected_sum = float(sum(n % 7 for n in range(len(CONTEXTS))))
    assert cells.pop((None, None)) == [len(CONTEXTS) + 1, expected_sum]
    assert {variation: int(n) for (_, variation), (n, _) in cells.items()} == dict(expected)
    assert len(expected) == 2  # both variations served, so each attribution is really tested
    assert {flag for flag, _ in cells} == {"new-checkout"}  # the untracked flag claims nothing
    assert sum(total for _, total in cells.values()) == expected_sum
    assert _checks(client) == {}  # attribution evaluates, but is not a flag check


def test_track_follows_track_events_as_the_flag_changes() -> None:
    source = TestSource()
    client = Client(data_source=source)
    flag = _flag("checkout", fallthrough={"variation": 0})
    source.set_flag(flag)
    client.track("error", {"key": "a"})
    source.set_flag({**flag, "track_events": True})
    client.track("error", {"key": "a"})
    client.track("error", {"key": "a"})
    source.set_flag({**flag, "track_events": True, "enabled": False})  # now serves its off variation
    client.track("error", {"key": "a"})
    source.set_flag(flag)
    client.track("error", {"key": "a"})

    assert _cells(client, "error") == {
        (None, None): [5, 0.0],
        ("checkout", 0): [2, 0.0],
        ("checkout", 1): [1, 0.0],
    }


def test_tracked_flags_are_found_in_a_document_read_from_bytes(tmp_path: Path) -> None:
    tracked = _flag("tracked", track_events=True, fallthrough={"variation": 0})
    # JSON may spell the field with an escape; a value that merely mentions it tracks nothing.
    escaped = _flag("escaped", fallthrough={"variation": 0})
    mention = _flag("mention", kind="string", variations=["track_events", "x"], fallthrough={"variation": 0})
    off = _flag("off", track_events=False, fallthrough={"variation": 0})
    text = json.dumps(_snapshot(tracked, escaped, mention, off))
    text = text.replace('"key": "escaped",', '"key": "escaped", "track\\u005fevents": true,', 1)
    path = tmp_path / "flags.json"
    path.write_text(text)
    client = Client.from_file(path)

    client.track("signup", {"key": "a"})

    assert _cells(client, "signup") == {
        (None, None): [1, 0.0],
        ("tracked", 0): [1, 0.0],
        ("escaped", 0): [1, 0.0],
    }


@pytest.mark.parametrize(
    "event",
    ["$evaluation", "$anything", "", "x" * 201, 42, None, b"bytes", "lone-\ud800", ["unhashable"]],
)
def test_an_invalid_event_name_is_ignored_and_logged_once(
    event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client.from_dict(_snapshot(_flag("checkout", track_events=True)))

    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client.track(event, {"key": "a"})
        client.track(event, {"key": "a"})
        client.track("x" * 200, {"key": "a"})  # the longest valid name

    assert {row["event"] for row in client.metrics()["counts"]} == {"x" * 200}
    assert len([r for r in caplog.records if "ignoring client.track" in r.getMessage()]) == 1


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "3", True, [1], 10**400])
def test_a_value_that_is_not_a_finite_number_is_ignored(value: Any) -> None:
    client = Client.from_dict(_snapshot(_flag("checkout")))

    client.track("latency", {"key": "a"}, value)
    client.track("latency", {"key": "a"}, 2)
    client.track("latency", {"key": "a"}, 0.5)

    assert _cells(client, "latency") == {(None, None): [2, 2.5]}


def test_cells_beyond_max_metric_cells_are_dropped_and_reported() -> None:
    flags = [_flag(f"flag-{n}", fallthrough={"variation": n % 2}) for n in range(8)]
    client = Client(data_source=StaticDataSource(_snapshot(*flags)), options=LiveOptions(max_metric_cells=5))

    for flag in flags:  # 8 flag-check cells: the current flags' own cells are not bounded
        client.is_enabled(flag["key"])
    for n in range(9):  # 9 totals; the bound keeps 5
        client.track(f"event-{n}")
        client.track(f"event-{n}")
    client.track("event-0", value=1.0)  # a cell already kept goes on counting

    metrics = client.metrics()
    tracked = [row for row in metrics["counts"] if row["event"] != "$evaluation"]
    assert len([row for row in metrics["counts"] if row["event"] == "$evaluation"]) == 8
    assert len(tracked) == 5
    assert metrics["dropped"] == 8  # two calls for each of the 4 events that found no room
    assert next(row for row in tracked if row["event"] == "event-0")["count"] == 3


def test_track_counts_alike_called_on_the_client_or_through_its_class() -> None:
    client = Client.from_dict(_snapshot(_flag("checkout", track_events=True, fallthrough={"variation": 1})))

    client.track("purchase", {"key": "a"}, 2.0)
    Client.track(client, "purchase", {"key": "b"}, 0.5)

    assert _cells(client, "purchase") == {(None, None): [2, 2.5], ("checkout", 1): [2, 2.5]}


def test_metrics_interval_zero_counts_no_outcome() -> None:
    client = Client(data_source=TestSource(), options=LiveOptions(metrics_interval=0))

    client.track("purchase", {"key": "a"}, 1.0)

    assert client.metrics()["counts"] == []


# -- nothing raises ------
class _Raising(Mapping[str, Any]):
    """A context whose every access raises."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no attributes today")

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("no attributes today")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration today")

    def __len__(self) -> int:
        raise RuntimeError("no length today")


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        raise RuntimeError("no text today")


class _BadFloat(float):
    def __bool__(self) -> bool:
        raise RuntimeError("no truth today")


HOSTILE_CONTEXTS: list[Any] = [
    _Raising(),
    {"key": _Unhashable(), "plan": _Unhashable()},
    ["not", "a", "mapping"],
    42,
    object(),
    {"key": "\ud800"},
]


@pytest.mark.parametrize("context", HOSTILE_CONTEXTS, ids=lambda c: type(c).__name__)
def test_checks_and_track_never_raise_with_a_hostile_context(context: Any) -> None:
    rule = {
        "id": "pro",
        "clauses": [{"attribute": "plan", "op": "in", "values": ["pro"]}],
        "serve": {"variation": 0},
    }
    client = Client.from_dict(
        _snapshot(
            _flag("rollout", track_events=True),
            _flag("rules", track_events=True, rules=[rule]),
            _flag("static", track_events=True, fallthrough={"variation": 0}),
        )
    )

    for key in ("rollout", "rules", "static"):
        client.is_enabled(key, context)
        client.variation(key, context, False)
        client.evaluate(key, context)
    client.track("error", context, 1.0)
    client.track("error", context, _BadFloat(2.0))

    cells = _cells(client, "error")
    assert cells[(None, None)][0] >= 1  # counted in the total, whatever the flags made of the context
    assert sum(_checks(client).values()) == 9


def test_track_never_raises_when_a_tracked_flag_cannot_be_read() -> None:
    broken = {**_flag("broken", track_events=True), "variations": "not a list"}
    client = Client.from_dict(
        _snapshot(broken, _flag("fine", track_events=True, fallthrough={"variation": 0}))
    )

    client.track("error", {"key": "a"})

    assert _cells(client, "error") == {(None, None): [1, 0.0], ("fine", 0): [1, 0.0]}
