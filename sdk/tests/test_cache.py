"""The last-known-good snapshot file: written whole or not at all, read back or refused with one warning, and
the temporaries of interrupted writes cleaned up without touching another process's write in progress."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flagstaff import Client
from flagstaff.cache import SnapshotDocument, read_cache, remove_leftovers, write_cache

STREAM = "/sdk/v1/stream"
DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON, nested far beyond the parser's recursion limit
WaitUntil = Callable[[Callable[[], object], float, str], None]
DOCUMENT = {"format": 1, "revision": 3, "flags": {"f": {"key": "f", "version": 2}}, "segments": {}}


def _temporaries(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.suffix == ".tmp"]


def test_a_written_cache_reads_back_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "flags.json"  # the directory is made when missing

    write_cache(path, DOCUMENT)

    assert read_cache(path) == DOCUMENT
    assert _temporaries(path.parent) == []


def test_a_failed_write_keeps_the_previous_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    write_cache(path, DOCUMENT)

    with pytest.raises(TypeError):  # not JSON: a bug of the caller, which the reporter thread logs
        write_cache(path, {"format": 1, "revision": 4, "flags": {"f": object()}})

    assert read_cache(path) == DOCUMENT
    assert _temporaries(tmp_path) == []


def test_an_unwritable_place_is_a_warning_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        write_cache(blocker / "flags.json", DOCUMENT)  # its directory would have to be a file

    assert [r.getMessage() for r in caplog.records if "could not write the flag cache" in r.getMessage()]


def test_a_missing_cache_is_none_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        assert read_cache(tmp_path / "never-written.json") is None
    assert caplog.records == []


@pytest.mark.parametrize(
    ("content", "warned"),
    [("{", True), (DEEP, True), (b"\xff\xfe{}", True), ("[1, 2]", False), ('"flags"', False)],
    ids=["truncated", "deep", "not-utf8", "a-list", "a-string"],
)
def test_an_unusable_cache_is_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | bytes, warned: bool
) -> None:
    path = tmp_path / "flags.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        assert read_cache(path) is None

    assert bool([r for r in caplog.records if "unreadable flag cache" in r.getMessage()]) is warned


def test_leftovers_in_a_directory_that_does_not_exist_yet_are_no_error(tmp_path: Path) -> None:
    remove_leftovers(tmp_path / "not-yet" / "flags.json")


def test_leftover_cache_temporaries_are_removed_and_others_kept(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, tmp_path: Path
) -> None:
    cache = tmp_path / "flags.json"
    leftover = tmp_path / ".flags.json.k3j2l1.tmp"
    recent = tmp_path / ".flags.json.a8b7c6.tmp"  # perhaps another process writing this very moment
    unrelated = tmp_path / ".other.json.x1y2z3.tmp"
    for path in (leftover, recent, unrelated):
        path.write_text("{", encoding="utf-8")
    an_hour_ago = time.time() - 3600
    for path in (leftover, unrelated):
        os.utime(path, (an_hour_ago, an_hour_ago))
    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))

    client = make_client(server.base_url, cache_path=cache)

    wait_until(lambda: not leftover.exists(), 10, "the leftover to be removed")
    assert recent.exists() and unrelated.exists()
    assert client.wait_until_ready(10)


# -- the document written to the file ------
def _flag(version: int, *, enabled: bool = True) -> dict[str, Any]:
    return {"key": "f", "version": version, "enabled": enabled}


def test_the_cache_document_refuses_an_older_snapshot() -> None:
    document = SnapshotDocument()
    document.replace({"format": 1, "revision": 5, "flags": {"f": _flag(5)}, "segments": {}})

    document.replace({"format": 1, "revision": 4, "flags": {}, "segments": {}})

    assert document.to_json() == {"format": 1, "revision": 5, "flags": {"f": _flag(5)}, "segments": {}}


def test_the_cache_document_applies_only_newer_versions_and_deletes() -> None:
    document = SnapshotDocument()
    document.replace({"format": 1, "revision": 5, "flags": {"f": _flag(5)}, "segments": {}})

    document.apply("flag", "f", _flag(4, enabled=False), 4, 6)  # an older version arriving late
    assert document.to_json()["flags"] == {"f": _flag(5)}
    document.apply("segment", "s", {"key": "s", "version": 1}, 1, 7)
    document.apply("flag", "f", None, 6, 7)  # a versioned delete

    assert document.to_json() == {
        "format": 1,
        "revision": 7,
        "flags": {},
        "segments": {"s": {"key": "s", "version": 1}},
    }


def test_a_change_older_than_the_document_is_ignored() -> None:
    document = SnapshotDocument()
    document.replace({"format": 1, "revision": 9, "flags": {}, "segments": {}})

    document.apply("flag", "f", _flag(8), 8, 8)  # already superseded, perhaps by a delete it does not record

    assert document.to_json() == {"format": 1, "revision": 9, "flags": {}, "segments": {}}
