"""The live data source's settings are checked when built: a typo must not become a busy loop or no bound;
and each is documented in the SDK's README."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from flagstaff import LiveOptions


def test_the_defaults_bound_lines_and_events_and_cap_waits() -> None:
    options = LiveOptions()
    assert options.max_line_bytes == options.max_event_bytes == 64 << 20
    assert options.initial_backoff <= options.max_backoff


@pytest.mark.parametrize(
    "setting",
    [
        {"poll_interval": 0},
        {"ack_interval": -1},
        {"max_backoff": math.inf},
        {"read_timeout": math.nan},
        {"connect_timeout": True},
        {"max_line_bytes": 1.5},
        {"max_event_bytes": 0},
        {"initial_backoff": 10.0, "max_backoff": 5.0},
        {"metrics_interval": -1},
        {"metrics_interval": False},
        {"metrics_interval": math.nan},
        {"metrics_interval": "5"},
        {"max_metric_cells": 0},
        {"max_metric_cells": 10.5},
        {"max_metric_cells": None},
        {"max_metric_cells_per_request": 0},
        {"max_metric_cells_per_request": 2.5},
    ],
)
def test_a_setting_that_is_not_a_positive_number_is_refused(setting: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(setting))):
        LiveOptions(**setting)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [0, 0.0, None])
def test_metrics_interval_zero_or_none_turns_metrics_off(interval: float | None) -> None:
    assert LiveOptions(metrics_interval=interval).metrics_interval == interval


def test_metrics_are_sent_every_five_seconds_within_ten_thousand_cells_by_default() -> None:
    options = LiveOptions()
    assert (options.metrics_interval, options.max_metric_cells) == (5.0, 10_000)


def test_a_batch_goes_out_in_requests_of_five_thousand_cells_at_most_by_default() -> None:
    # A server takes 20,000 (FLAGSTAFF_MAX_METRIC_CELLS): a batch of 10,000 two-variation flags and a full
    # bound of track cells (30,000) goes out in six requests, and none is refused whole.
    assert LiveOptions().max_metric_cells_per_request == 5_000


def test_every_setting_is_in_the_readmes_table() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = [line.split(" | ", 1)[0] for line in readme.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row)}
    assert {field.name for field in dataclasses.fields(LiveOptions)} <= documented
