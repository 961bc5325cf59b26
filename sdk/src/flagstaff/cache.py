"""The optional last-known-good snapshot file: read if the server is down at start, written atomically.

Only files: what to cache and when is the live data source's decision.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from flagstaff.versions import FORMAT_VERSION, declared_version, record, supersedes

log = logging.getLogger("flagstaff")

# A write takes well under a second; a younger temporary file may be another process's write in progress.
LEFTOVER_AGE = 60.0


def read_cache(path: Path) -> dict[str, Any] | None:
    """The cached snapshot document, or ``None`` if there is none or it cannot be read."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("ignoring unreadable flag cache %s: %s", path, exc)
        return None
    return document if isinstance(document, dict) else None


def write_cache(path: Path, document: dict[str, Any]) -> None:
    """Writes via a temporary file and a rename, so a reader (or a crash) never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:  # a full disk must not disturb flag serving
        log.warning("could not write the flag cache %s: %s", path, exc)


def remove_leftovers(path: Path) -> None:
    """Deletes the temporary files left beside ``path`` by writers killed mid-write (see ``write_cache``)."""
    prefix, cutoff = f".{path.name}.", time.time() - LEFTOVER_AGE
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.suffix == ".tmp"]
    except OSError:  # no directory yet: nothing was ever written
        return
    for candidate in candidates:
        try:
            if candidate.lstat().st_mtime < cutoff:
                candidate.unlink()
                log.info("removed %s, left by an interrupted write of the flag cache", candidate)
        except OSError:  # removed by another process meanwhile, or not ours to remove
            continue


class SnapshotDocument:
    """The raw wire document beside the compiled store, kept only so it can be written to the cache file.

    Follows the store's rule (``flagstaff.versions``), tombstones included.
    """

    def __init__(self) -> None:
        self.revision = 0
        self.flags: dict[str, Any] = {}
        self.segments: dict[str, Any] = {}
        self.deleted: dict[str, dict[str, int]] = {"flag": {}, "segment": {}}

    def replace(self, document: dict[str, Any]) -> None:
        if int(document.get("revision", 0)) < self.revision:
            return  # the store refuses an older snapshot too; the file must match what is served
        self.revision = int(document.get("revision", 0))
        self.flags = dict(document.get("flags") or {})
        self.segments = dict(document.get("segments") or {})
        self.deleted = {"flag": {}, "segment": {}}

    def apply(self, kind: str, key: str, data: dict[str, Any] | None, version: int, revision: int) -> None:
        if revision < self.revision:
            return  # already in the document, or superseded (perhaps by a delete it does not record)
        kind = "flag" if kind == "flag" else "segment"
        table = self.flags if kind == "flag" else self.segments
        held = table.get(key)
        if supersedes(version, None if held is None else declared_version(held), self.deleted[kind].get(key)):
            record(table, self.deleted[kind], key, data, version)
        self.revision = max(self.revision, revision)

    def to_json(self) -> dict[str, Any]:
        flags, segments = dict(self.flags), dict(self.segments)
        return {"format": FORMAT_VERSION, "revision": self.revision, "flags": flags, "segments": segments}
