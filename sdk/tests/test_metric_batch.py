"""A batch cut into requests: each a whole report the server can check alone, together every cell once, each
within the bounds on cells and bytes whatever the names, and what was not handed out given back whole."""

from __future__ import annotations

import json
from typing import Any

from flagstaff.metric_batch import EVALUATION, MAX_REQUEST_BYTES, Batch

LONGEST_KEY = "\U00020000" * 200  # a letter (so a valid key) of 4 bytes in UTF-8, 200 times
LONGEST_EVENT = "\x1f" * 200  # a control character: 6 bytes in JSON (\u001f), 200 times


def _batch(cells: int, *, dropped: int = 0) -> Batch:
    batch = Batch(1764330000.25, 1_000_000)
    batch.end = 1764330005.5
    for n in range(cells):
        batch.add((f"flag-{n:05d}", n % 3, "purchase"), 1 + n, 0.5 * n, ())
    batch.dropped = dropped
    return batch


def _reports(batch: Batch, max_cells: int, max_bytes: int = MAX_REQUEST_BYTES) -> list[dict[str, Any]]:
    return [json.loads(body) for body, _ in batch.requests("instance-1", max_cells, max_bytes)]


def test_a_batch_cut_into_requests_gives_whole_reports_that_hold_each_cell_once() -> None:
    batch = _batch(25, dropped=7)

    reports = _reports(batch, 10)

    assert [len(report["counts"]) for report in reports] == [10, 10, 5]
    assert [report["dropped"] for report in reports] == [7, 0, 0]  # the batch's, reported once
    for report in reports:
        assert set(report) == {"instance", "start", "end", "counts", "dropped"}
        assert (report["instance"], report["start"], report["end"]) == ("instance-1", batch.start, batch.end)
    assert [row for report in reports for row in report["counts"]] == batch.to_json()["counts"]


def test_each_requests_part_holds_the_cells_of_its_body() -> None:
    batch = _batch(25, dropped=7)

    requests = list(batch.requests("instance-1", 10))

    for body, part in requests:
        report = json.loads(body)
        assert {(row["flag"], row["variation"], row["event"]) for row in report["counts"]} == set(part.cells)
        assert (part.start, part.end, part.dropped) == (batch.start, batch.end, report["dropped"])
    assert sum(len(part.cells) for _, part in requests) == len(batch.cells)


def test_requests_stay_within_max_bytes_with_the_longest_names_json_can_make() -> None:
    batch = Batch(1764330000.25, 1_000_000)
    for n in range(3_000):
        key = f"{n:05d}" + LONGEST_KEY[5:]
        batch.add((key, 999, LONGEST_EVENT), 10**12, -1.2345678901234567e18, ())
        batch.add((key, None, EVALUATION), 10**12, 0.0, ())

    bodies = [body for body, _ in batch.requests("i" * 64, 5_000)]

    assert all(len(body) <= MAX_REQUEST_BYTES < 1 << 20 for body in bodies)
    assert sum(len(json.loads(body)["counts"]) for body in bodies) == 6_000
    assert len(bodies) >= 6_000 * 1_000 / MAX_REQUEST_BYTES  # cut by size: each cell is 1 to 2 kB here


def test_a_cell_larger_than_max_bytes_goes_alone() -> None:
    batch = _batch(3)

    bodies = [body for body, _ in batch.requests("instance-1", 10, max_bytes=50)]

    assert [len(json.loads(body)["counts"]) for body in bodies] == [1, 1, 1]


def test_a_batch_of_drops_alone_is_one_report_without_counts() -> None:
    batch = _batch(0, dropped=3)

    assert _reports(batch, 10) == [
        {"instance": "instance-1", "start": batch.start, "end": batch.end, "counts": [], "dropped": 3}
    ]


def test_the_rest_is_every_cell_not_handed_out_and_no_request_follows() -> None:
    batch = _batch(25, dropped=7)
    requests = batch.requests("instance-1", 10)
    _, first = next(requests)

    rest = requests.rest()

    assert rest is not None and (rest.start, rest.end, rest.dropped) == (batch.start, batch.end, 0)
    assert set(rest.cells) == set(batch.cells) - set(first.cells) and len(rest.cells) == 15
    assert list(requests) == [] and requests.rest() is None


def test_the_rest_before_any_request_is_the_whole_batch_with_its_drops() -> None:
    batch = _batch(5, dropped=2)

    rest = batch.requests("instance-1", 10).rest()

    assert rest is not None and rest.cells == batch.cells and rest.dropped == 2


def test_requests_keep_to_max_cells_lowered_between_them() -> None:
    requests = _batch(25).requests("instance-1", 10)
    sizes = [len(next(requests).part.cells)]

    requests.max_cells = 4

    sizes += [len(part.cells) for _, part in requests]
    assert sizes == [10, 4, 4, 4, 3]
