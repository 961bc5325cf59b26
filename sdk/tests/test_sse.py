"""The event-stream grammar the live data source relies on."""

from flagstaff.sse import SseEvent, iter_events


def test_events_are_split_on_blank_lines_and_multi_line_data_is_joined() -> None:
    lines = ["event: change", "id: 7", "data: {\"a\":", "data: 1}", "", "data: plain", ""]
    assert list(iter_events(lines)) == [
        SseEvent("change", '{"a":\n1}', "7"),
        SseEvent("message", "plain", "7"),
    ]


def test_comments_are_heartbeats_and_yield_nothing() -> None:
    assert list(iter_events([": ping", "", ":", ""])) == []


def test_retry_hint_is_reported_and_an_id_with_nul_is_ignored() -> None:
    events = list(iter_events(["retry: 1500", "id: 3", "data: x", "", "id: 4\x00", "data: y", ""]))
    assert events == [SseEvent("message", "x", "3", 1500), SseEvent("message", "y", "3")]


def test_an_unterminated_event_at_the_end_of_the_stream_is_dropped() -> None:
    assert list(iter_events(["event: snapshot", "data: {}"])) == []
