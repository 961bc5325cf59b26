"""The event-stream grammar the live data source relies on, and its bounds."""

import itertools
import re
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagstaff.sse import SseEvent, SseLimitError, iter_events, iter_lines


def test_events_are_split_on_blank_lines_and_multi_line_data_is_joined() -> None:
    lines = ["event: change", "id: 7", 'data: {"a":', "data: 1}", "", "data: plain", ""]
    assert list(iter_events(lines)) == [
        SseEvent("change", '{"a":\n1}', "7"),
        SseEvent("message", "plain", "7"),
    ]


def test_comments_are_heartbeats_and_yield_nothing() -> None:
    assert list(iter_events([": ping", "", ":", ""])) == []


def test_retry_hint_is_reported_and_an_id_with_nul_is_ignored() -> None:
    events = list(iter_events(["retry: 1500", "id: 3", "data: x", "", "id: 4\x00", "data: y", ""]))
    assert events == [SseEvent("message", "x", "3", 1500), SseEvent("message", "y", "3", 1500)]


def test_the_retry_hint_holds_for_later_events_until_the_next_one() -> None:
    # The WHATWG grammar: retry: sets the stream's reconnection time, even in a block with no data.
    lines = ["data: a", "", "retry: 250", "", "data: b", "", "retry: 40", "data: c", ""]
    assert [event.retry_ms for event in iter_events(lines)] == [None, 250, 40]


def test_an_unterminated_event_at_the_end_of_the_stream_is_dropped() -> None:
    assert list(iter_events(["event: snapshot", "data: {}"])) == []


def test_lines_split_at_crlf_lf_and_cr_even_across_chunks() -> None:
    chunks = [b"\xef\xbb\xbfdata: a\r", b"\ndata: b\rdata: c\n", b"\r\n", b"data: d\r", b"data: e\n"]
    assert list(iter_lines(chunks, 100)) == ["data: a", "data: b", "data: c", "", "data: d", "data: e"]


@given(
    lines=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\r\n\ufeff"), max_size=20)),
    endings=st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=20, max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8),
)
def test_lines_do_not_depend_on_where_the_chunks_are_cut(
    lines: list[str], endings: list[str], cuts: list[int]
) -> None:
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=False))
    data = text.encode()
    bounds = [0, *sorted(min(cut, len(data)) for cut in cuts), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    # CR then LF is one line ending even across a cut, so the reference splits the whole text.
    assert list(iter_lines(chunks, 1000)) == re.split("\r\n|\r|\n", text)[:-1]


def test_a_line_longer_than_its_bound_raises_before_it_is_all_buffered() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 1000

    with pytest.raises(SseLimitError, match="max_line_bytes"):
        list(iter_lines(endless(), 10_000))
    assert list(iter_lines([b"x" * 10, b"\n"], 10)) == ["x" * 10]


def test_an_event_larger_than_its_bound_raises() -> None:
    def endless() -> Iterator[str]:
        while True:
            yield "data: " + "x" * 100

    with pytest.raises(SseLimitError, match="max_event_bytes"):
        list(iter_events(endless(), 10_000))
    assert len(list(iter_events(["data: " + "x" * 99, ""], 100))) == 1  # 99 characters and one line end


def test_a_retry_hint_that_is_not_plain_digits_is_ignored() -> None:
    events = list(iter_events(["retry: \u00b2", "retry: 99999999999", "data: x", ""]))
    assert events == [SseEvent("message", "x", None)]
