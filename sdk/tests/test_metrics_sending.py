"""SDK metrics sent by a client of the server: batches in the wire contract's shape every metrics_interval, a
failed batch merged into the next (still bounded), a server without the route left alone, the last batch sent
at close, and counts that add up while threads check flags during sends. The server is the scripted one of
conftest.py, on loopback."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from flagstaff import Client, LiveOptions, load_snapshot

STREAM = "/sdk/v1/stream"
ACKS = "/sdk/v1/acks"
METRICS = "/sdk/v1/metrics"
WaitUntil = Callable[[Callable[[], object], float, str], None]
Cell = tuple[str | None, int | None, str]
CONTEXTS = [{"key": f"user-{n}"} for n in range(1_000)]
ROLLOUT = {
    "rollout": {"variations": [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]}
}
FLAG = {
    "key": "new-checkout",
    "kind": "boolean",
    "variations": [True, False],
    "enabled": True,
    "version": 1,
    "track_events": True,
    "fallthrough": ROLLOUT,
}
SNAPSHOT = {"format": 1, "revision": 1, "flags": {"new-checkout": FLAG}, "segments": {}}


def _options(fast: LiveOptions, interval: float | None = 0.2, **settings: Any) -> LiveOptions:
    return dataclasses.replace(fast, metrics_interval=interval, **settings)


def _ready_client(server: Any, make_client: Callable[..., Client], options: LiveOptions) -> Client:
    server.script(STREAM, server.stream(server.sse("snapshot", SNAPSHOT, 1)))
    client = make_client(server.base_url, options)
    assert client.wait_until_ready(10)
    return client


def _batches(server: Any) -> list[dict[str, Any]]:
    return [json.loads(body) for body in server.bodies_of(METRICS)]


def _totals(batches: list[dict[str, Any]]) -> Counter[Cell]:
    totals: Counter[Cell] = Counter()
    for batch in batches:
        for row in batch["counts"]:
            totals[(row["flag"], row["variation"], row["event"])] += row["count"]
    return totals


def _served(contexts: list[dict[str, Any]]) -> Counter[int | None]:
    compiled = load_snapshot(SNAPSHOT)
    return Counter(compiled.evaluate("new-checkout", context).variation_index for context in contexts)


def test_a_batch_arrives_in_the_contracts_shape_with_the_acks_instance(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    client = _ready_client(server, make_client, _options(fast))
    for context in CONTEXTS:
        if client.is_enabled("new-checkout", context):
            client.track("error", context, value=0.5)
    client.variation("new-checkout", {"key": "a"}, "the wrong kind")  # the caller's default served

    wait_until(lambda: server.count(METRICS) >= 1 and server.count(ACKS) >= 1, 10, "a batch and an ack")

    batch = _batches(server)[0]
    served = _served(CONTEXTS)
    assert set(batch) == {"instance", "start", "end", "counts", "dropped"}
    assert batch["instance"] == json.loads(server.bodies_of(ACKS)[0])["instance_id"]
    assert isinstance(batch["start"], float) and batch["start"] < batch["end"] <= time.time()
    assert batch["dropped"] == 0
    assert batch["counts"] == [
        {"flag": None, "variation": None, "event": "error", "count": served[0], "sum": served[0] * 0.5},
        {"flag": "new-checkout", "variation": None, "event": "$evaluation", "count": 1, "sum": 0.0},
        {"flag": "new-checkout", "variation": 0, "event": "$evaluation", "count": served[0], "sum": 0.0},
        {
            "flag": "new-checkout",
            "variation": 0,
            "event": "error",
            "count": served[0],
            "sum": served[0] * 0.5,
        },
        {"flag": "new-checkout", "variation": 1, "event": "$evaluation", "count": served[1], "sum": 0.0},
    ]
    headers = server.headers_of(METRICS)[0]
    assert headers["authorization"] == "Bearer fs_sdk_test"
    assert headers["content-type"] == "application/json"
    assert client.metrics()["counts"] == []  # all of it went out


def test_batches_follow_one_another_at_the_interval_and_empty_ones_are_not_sent(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    interval = 0.2
    client = _ready_client(server, make_client, _options(fast, interval))
    stop = threading.Event()
    checks = 0

    def check() -> None:
        nonlocal checks
        while not stop.is_set():
            client.is_enabled("new-checkout", CONTEXTS[checks % len(CONTEXTS)])
            checks += 1
            time.sleep(0.001)

    checker = threading.Thread(target=check)
    started = time.monotonic()
    checker.start()
    wait_until(lambda: server.count(METRICS) >= 3, 20, "three batches")
    stop.set()
    checker.join()
    elapsed = time.monotonic() - started
    wait_until(lambda: sum(_totals(_batches(server)).values()) == checks, 10, "the last checks' batch")
    sent = server.count(METRICS)
    time.sleep(interval * 4)  # several intervals without a check: nothing to send

    batches = _batches(server)
    assert server.count(METRICS) == sent
    assert len(batches) <= elapsed / interval + 3  # one batch per interval at most
    assert all(batch["counts"] for batch in batches)
    for earlier, later in itertools.pairwise(batches):
        assert later["start"] == earlier["end"]  # each batch starts where the one before ended


def _hang_up(handler: Any, server: Any) -> None:
    handler.close_connection = True  # no answer at all: the connection just ends


@pytest.mark.parametrize("status", [503, 429, 401, 403, "disconnected"])
def test_a_batch_that_could_not_be_sent_goes_out_with_the_next(
    server: Any,
    make_client: Callable[..., Client],
    fast: LiveOptions,
    wait_until: WaitUntil,
    status: int | str,
) -> None:
    failure = _hang_up if status == "disconnected" else server.respond(status, b"{}")
    server.script(METRICS, failure, server.respond(202, b"{}"))
    client = _ready_client(server, make_client, _options(fast))
    for context in CONTEXTS[:100]:
        client.is_enabled("new-checkout", context)
    wait_until(lambda: server.count(METRICS) >= 1, 10, "the first batch")
    first = _batches(server)[0]
    for context in CONTEXTS[100:150]:
        client.is_enabled("new-checkout", context)

    wait_until(lambda: _totals(_batches(server)[-1:]) == _totals_of(150), 20, "one batch with all 150 checks")

    assert _batches(server)[-1]["start"] == first["start"]  # the window reaches back to the failed batch


def _totals_of(count: int) -> Counter[Cell]:
    served = _served(CONTEXTS[:count])
    return Counter({("new-checkout", variation, "$evaluation"): n for variation, n in served.items()})


def test_a_flag_key_with_no_utf8_form_is_left_out_and_the_rest_is_sent(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    broken = "broken-\ud800"  # JSON can carry it (as an escape); such a flag is unusable, but it exists
    snapshot = {**SNAPSHOT, "flags": {**SNAPSHOT["flags"], broken: {**FLAG, "key": broken}}}
    server.script(STREAM, server.stream(server.sse("snapshot", snapshot, 1)))
    client = make_client(server.base_url, _options(fast))
    assert client.wait_until_ready(10)
    client.is_enabled(broken, {"key": "a"})
    client.is_enabled("new-checkout", {"key": "a"})

    wait_until(lambda: server.count(METRICS) >= 1, 10, "a batch")

    assert {flag for flag, _, _ in _totals(_batches(server))} == {"new-checkout"}


def test_a_batch_the_server_refuses_as_invalid_is_dropped(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    server.script(METRICS, server.respond(422, b'{"field": "counts"}'), server.respond(202, b"{}"))
    client = _ready_client(server, make_client, _options(fast))
    client.track("refused")
    wait_until(lambda: server.count(METRICS) >= 1, 10, "the refused batch")
    client.track("accepted")

    wait_until(lambda: server.count(METRICS) >= 2, 10, "the next batch")

    assert {event for _, _, event in _totals(_batches(server)[1:])} == {"accepted"}


def test_a_server_without_the_route_is_sent_nothing_more_and_it_is_logged_once(
    server: Any,
    make_client: Callable[..., Client],
    fast: LiveOptions,
    wait_until: WaitUntil,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.script(METRICS, server.respond(404, b'{"detail": "Not Found"}'))
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = _ready_client(server, make_client, _options(fast, 0.1))
        client.track("purchase", {"key": "a"})
        wait_until(lambda: server.count(METRICS) >= 1, 10, "the first batch")
        for _ in range(5):
            client.track("purchase", {"key": "a"})
            client.is_enabled("new-checkout", {"key": "a"})
            time.sleep(0.1)  # an interval each: a batch would be due every time
        client.close()

    assert server.count(METRICS) == 1  # nor at close
    assert [r.getMessage() for r in caplog.records if "metrics" in r.getMessage()] == [
        "the server has no SDK metrics route (404): flag checks and track() are not reported"
    ]
    assert not [row for row in client.metrics()["counts"] if row["event"] == "purchase"]


def test_close_sends_what_was_counted_since_the_last_batch(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions
) -> None:
    client = _ready_client(server, make_client, _options(fast, 3600))
    for context in CONTEXTS[:150]:
        client.is_enabled("new-checkout", context)
    client.track("error", {"key": "user-1"}, 2.0)

    client.close()

    batches = _batches(server)
    assert len(batches) == 1
    served = load_snapshot(SNAPSHOT).evaluate("new-checkout", {"key": "user-1"}).variation_index
    tracked = Counter({(None, None, "error"): 1, ("new-checkout", served, "error"): 1})
    assert _totals(batches) == _totals_of(150) + tracked


def test_close_does_not_wait_long_for_a_server_that_does_not_answer_the_last_batch(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions
) -> None:
    server.script(METRICS, server.hang())
    client = _ready_client(server, make_client, _options(fast, 3600))
    client.is_enabled("new-checkout", {"key": "a"})

    started = time.monotonic()
    client.close()

    assert time.monotonic() - started < 10
    assert server.count(METRICS) == 1


def test_metrics_interval_none_sends_nothing(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    client = _ready_client(server, make_client, _options(fast, None))
    client.is_enabled("new-checkout", {"key": "a"})
    client.track("error")
    wait_until(lambda: server.count(ACKS) >= 1, 10, "the reporter to have run a round")

    client.close()

    assert server.count(METRICS) == 0


def test_a_batch_merged_after_a_failure_stays_within_max_metric_cells(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    server.script(METRICS, server.respond(503, b"{}"), server.respond(202, b"{}"))
    client = _ready_client(server, make_client, _options(fast, 0.2, max_metric_cells=3))
    for n in range(3):
        client.track(f"first-{n}")
    wait_until(lambda: server.count(METRICS) >= 1, 10, "the failed batch")
    for n in range(3):
        client.track(f"second-{n}")
        client.track(f"second-{n}")

    wait_until(lambda: server.count(METRICS) >= 2, 10, "the merged batch")

    # Each call counts in its event's total and under new-checkout's variation: 18 counts, in 3 cells at most
    # in each batch; the merged one keeps the cells of the earlier batch and counts the rest as dropped.
    merged = _batches(server)[1]
    assert len(merged["counts"]) == 3
    assert {row["event"] for row in merged["counts"]} <= {"first-0", "first-1", "first-2"}
    assert sum(row["count"] for row in merged["counts"]) + merged["dropped"] == 18


def test_threads_checking_while_batches_are_sent_lose_no_more_than_races_allow(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    client = _ready_client(server, make_client, _options(fast, 0.01))
    stop = threading.Event()
    errors: list[BaseException] = []
    calls: list[int] = []

    def work(offset: int) -> None:
        n = 0
        try:
            while not stop.is_set():
                context = CONTEXTS[(n + offset) % len(CONTEXTS)]
                client.is_enabled("new-checkout", context)
                client.track("work", context, 1.0)
                n += 1
                if n % 500 == 0:
                    client.metrics()
        except BaseException as exc:
            errors.append(exc)
        calls.append(n)

    threads = [threading.Thread(target=work, args=(offset * 250,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: server.count(METRICS) >= 3, 30, "three batches sent while the threads check")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    client.close()

    made = sum(calls)
    totals = _totals(_batches(server))
    checks = sum(n for (_, _, event), n in totals.items() if event == "$evaluation")
    tracked = totals[(None, None, "work")]
    attributed = sum(n for (flag, _, event), n in totals.items() if flag and event == "work")
    assert errors == []
    # A race may lose a count (a thread adding to the cells just taken), never invent one.
    assert 0.99 * made <= checks <= made
    assert 0.99 * made <= tracked <= made
    assert 0.99 * made <= attributed <= made


def _child(client: Client, done: Any) -> None:
    for context in CONTEXTS[:3]:
        client.is_enabled("new-checkout", context)
    client.close()  # its last batch: what the child counted, and nothing of the parent's
    done.put("closed")


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_reports_its_own_checks_not_its_parents(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    client = _ready_client(server, make_client, _options(fast, 3600))
    for context in CONTEXTS[:10]:
        client.is_enabled("new-checkout", context)
    context = multiprocessing.get_context("fork")
    done = context.SimpleQueue()

    child = context.Process(target=_child, args=(client, done))
    child.start()
    child.join(20)
    assert child.exitcode == 0 and not done.empty() and done.get() == "closed"
    for extra in CONTEXTS[10:15]:
        client.is_enabled("new-checkout", extra)
    client.close()

    batches = _batches(server)
    by_instance: dict[str, list[dict[str, Any]]] = {}
    for batch in batches:
        by_instance.setdefault(batch["instance"], []).append(batch)
    assert len(by_instance) == 2
    child_totals, parent_totals = sorted((_totals(b) for b in by_instance.values()), key=lambda t: t.total())
    assert child_totals == _totals_of(3)
    assert parent_totals == _totals_of(15)


# -- batches larger than a request ------
def _untracked_client(server: Any, make_client: Callable[..., Client], options: LiveOptions) -> Client:
    """A client whose flags track nothing, so that ``track`` counts totals only, whenever the flags arrive:
    calls made at once all fall in its first batch (due ``metrics_interval`` after it starts)."""
    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))
    return make_client(server.base_url, options)


def _events(prefix: str, count: int) -> Counter[Cell]:
    return Counter({(None, None, f"{prefix}-{n:02d}"): 1 for n in range(count)})


def test_a_batch_beyond_max_metric_cells_per_request_arrives_as_several_reports_that_add_up(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    options = _options(fast, 1.0, max_metric_cells=30, max_metric_cells_per_request=8)
    client = _untracked_client(server, make_client, options)
    for n in range(40):  # 30 cells kept, 10 counts dropped
        client.track(f"event-{n:02d}", value=n)

    wait_until(lambda: server.count(METRICS) >= 4, 20, "the batch's four requests")

    reports = _batches(server)
    assert [len(report["counts"]) for report in reports] == [8, 8, 8, 6]
    assert [report["dropped"] for report in reports] == [10, 0, 0, 0]  # the batch's, reported once
    assert len({(report["instance"], report["start"], report["end"]) for report in reports}) == 1
    assert _totals(reports) == _events("event", 30)
    assert sum(row["sum"] for report in reports for row in report["counts"]) == sum(range(30))


def test_a_report_not_taken_keeps_only_its_own_cells_and_those_not_sent_yet(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    server.script(METRICS, server.respond(202, b"{}"), server.respond(503, b"{}"), server.respond(202, b"{}"))
    client = _untracked_client(server, make_client, _options(fast, 1.0, max_metric_cells_per_request=10))
    for n in range(35):  # four requests: the second is not taken, the two after it are not sent
        client.track(f"event-{n:02d}")

    wait_until(lambda: server.count(METRICS) >= 5, 20, "the first batch, then the kept cells")

    reports = _batches(server)
    first, refused, kept = reports[0], reports[1], reports[2:]
    assert len(reports) == 5 and refused["start"] == first["start"] and refused["end"] == first["end"]
    assert _totals([first, *kept]) == _events("event", 35)  # each count once: none lost, none twice
    assert set(_totals(kept)) == set(_totals([refused])) | set(_events("event", 35)) - set(_totals([first]))
    assert all(report["start"] == first["start"] and report["end"] > first["end"] for report in kept)


def _refusal(server: Any, status: int) -> Any:
    """The server's answer to a report too large: its body limit's 413, or 422 on ``counts`` for more cells
    than FLAGSTAFF_MAX_METRIC_CELLS."""
    if status == 413:
        return server.respond(413, _error("too_large", "request body exceeds 1048576 bytes", None))
    return server.respond(422, _error("invalid", "at most 30 counts per report, not 40", "counts"))


def _error(code: str, message: str, field: str | None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()


@pytest.mark.parametrize("status", [413, 422])
def test_a_report_refused_as_too_large_goes_again_at_once_in_halves_and_later_ones_stay_small(
    server: Any,
    make_client: Callable[..., Client],
    fast: LiveOptions,
    wait_until: WaitUntil,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    server.script(METRICS, _refusal(server, status), server.respond(202, b"{}"))
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = _untracked_client(server, make_client, _options(fast, 0.5))
        for n in range(40):
            client.track(f"first-{n:02d}")
        wait_until(lambda: server.count(METRICS) >= 3, 20, "the refused report, then its halves")
        for n in range(30):
            client.track(f"second-{n:02d}")
        wait_until(lambda: server.count(METRICS) >= 5, 20, "the next batch")

    reports = _batches(server)
    assert [len(report["counts"]) for report in reports] == [40, 20, 20, 20, 10]
    assert _totals(reports[1:]) == _events("first", 40) + _events("second", 30)
    assert [r.getMessage() for r in caplog.records if "too large" in r.getMessage()] == [
        "the server refused 40 cells of SDK metrics in one request as too large; sending at most 20 per "
        "request (logged once)"
    ]


def test_a_server_refusing_a_single_cell_as_too_large_gets_a_request_per_halving_then_one_per_batch(
    server: Any,
    make_client: Callable[..., Client],
    fast: LiveOptions,
    wait_until: WaitUntil,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.script(METRICS, _refusal(server, 413))
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = _untracked_client(server, make_client, _options(fast, 0.2))
        for n in range(16):
            client.track(f"first-{n:02d}")
        wait_until(lambda: server.count(METRICS) >= 5, 20, "the report, halved down to one cell")
        for n in range(3):
            client.track(f"second-{n:02d}")
        wait_until(lambda: server.count(METRICS) >= 6, 20, "the next batch")
        time.sleep(1.0)  # five intervals: nothing is left to send

    assert [len(report["counts"]) for report in _batches(server)] == [16, 8, 4, 2, 1, 1]
    assert "the server refused one cell of SDK metrics as too large; dropped (logged once)" in [
        r.getMessage() for r in caplog.records
    ]


def test_at_ten_thousand_flags_with_long_keys_every_report_stays_well_under_a_mebibyte(
    server: Any, make_client: Callable[..., Client], fast: LiveOptions, wait_until: WaitUntil
) -> None:
    keys = [f"{n:05d}-" + "k" * 194 for n in range(10_000)]  # 200 characters, the longest key
    flags = {key: {**FLAG, "key": key, "fallthrough": {"variation": 0}} for key in keys}
    for key in keys[1:]:
        del flags[key]["track_events"]
    snapshot = {"format": 1, "revision": 1, "flags": flags, "segments": {}}
    server.script(STREAM, server.stream(server.sse("snapshot", snapshot, 1)))
    client = make_client(server.base_url, _options(fast, 0.5))  # the default bounds
    assert client.wait_until_ready(30)
    events = [f"{n:04d}-" + "e" * 195 for n in range(5_000)]  # 200 characters, the longest name

    for key in keys:
        client.is_enabled(key)  # variation 0
        client.variation(key, None, "a string")  # the default: the flag is a boolean one
    for event in events:  # its total, and its attribution to the tracked flag: 10,000 cells
        client.track(event, {"key": "a"}, 1.5)

    checks = Counter({(key, variation, "$evaluation"): 1 for key in keys for variation in (0, None)})
    tracked = Counter(
        {(flag, variation, e): 1 for e in events for flag, variation in [(None, None), (keys[0], 0)]}
    )
    wait_until(lambda: _totals(_batches(server)) == checks + tracked, 60, "every count")
    bodies = server.bodies_of(METRICS)
    assert max(len(body) for body in bodies) <= 512 * 1024 < 1 << 20
    assert max(len(json.loads(body)["counts"]) for body in bodies) <= 5_000
