"""The application-facing client: flag checks that never raise and never touch the network.

Evaluation reads the store's current snapshot without locking. Data arrives through a data source (a file, a
dict, the test source, or the server's stream) that writes into the store on its own thread. Each flag check
counts itself in the compiled flag's cells; ``track`` and the gathering of counts are ``flagstaff.metrics``'.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from flagstaff.evaluation import ErrorCode, Evaluation, Reason, error
from flagstaff.flags import Flag, is_kind
from flagstaff.live_options import LiveOptions
from flagstaff.metrics import Metrics
from flagstaff.snapshot import Snapshot, evaluate
from flagstaff.store import ChangeListener, FlagStore, State, Status, StatusListener

log = logging.getLogger("flagstaff")

_EMPTY: Mapping[str, Any] = {}
_MAX_WARNINGS = 1000


class DataSource(Protocol):
    """Feeds a store. ``start`` must return promptly; the source works on its own thread if it needs one."""

    def start(self, store: FlagStore) -> None: ...

    def close(self) -> None: ...


class Client:
    """Evaluates flags locally.

    ``Client(sdk_key=..., base_url=...)`` streams from a Flagstaff server; ``Client.from_file`` and
    ``Client.from_dict`` work offline; ``Client(data_source=...)`` takes any other source (see
    ``flagstaff.testing``). ``options`` (``LiveOptions``) tunes the server connection's timings and bounds,
    and the metrics' (``metrics_interval``, ``max_metric_cells``), which every client counts and only a client
    of the server sends. Construction never blocks and never raises for network problems.
    """

    def __init__(
        self,
        sdk_key: str | None = None,
        base_url: str | None = None,
        *,
        data_source: DataSource | None = None,
        cache_path: str | Path | None = None,
        options: LiveOptions | None = None,
    ) -> None:
        self._store = FlagStore()
        self._warned: set[tuple[str, str]] = set()
        self._unknown: set[str] = set()
        """Keys reported as not found, so an unknown flag checked in a hot loop costs one lookup more."""
        self._warned_lock = threading.Lock()
        options = options or LiveOptions()
        self._metrics = Metrics(self._store, options.max_metric_cells) if options.metrics_interval else None
        if self._metrics is not None:
            # The same contract in one call instead of two: a quarter of track's cost without a tracked flag
            # (bench/README.md, "SDK metrics benchmark").
            self.track = self._metrics.track  # type: ignore[method-assign]
        if data_source is None:
            if sdk_key is None or base_url is None:
                raise ValueError("pass sdk_key and base_url, or a data_source (see Client.from_file)")
            from flagstaff.live import (
                LiveDataSource,
            )  # imported here: offline users never load the HTTP stack

            data_source = LiveDataSource(
                sdk_key, base_url, cache_path=cache_path, options=options, metrics=self._metrics
            )
        self._source = data_source
        data_source.start(self._store)

    # -- construction ------
    @classmethod
    def from_dict(cls, snapshot: Mapping[str, Any]) -> Client:
        """A client over a fixed snapshot document. Raises ``FormatError`` if the document is unusable.

        Flags are compiled on first use from ``snapshot`` itself: do not change it afterwards."""
        return cls(data_source=StaticDataSource(snapshot))

    @classmethod
    def from_file(cls, path: str | Path) -> Client:
        """A client over a snapshot file (the same JSON the server serves). Raises if it cannot be read."""
        return cls(data_source=StaticDataSource(Path(path).read_bytes()))

    # -- flag checks (the hot path) ------
    # Both checks make one decision: the flag's ``decide`` (or its ``static`` result, read first: a flag that
    # depends on no context needs neither the context nor a call), which never raises; what a result without
    # a variation means is ``_missed``'s alone. They differ only in which flags they settle on the spot:
    # is_enabled a boolean flag, variation a flag of the default's kind. Everything else takes the checked
    # path, with its full report. Every check of a flag that exists is counted, by one increment of the
    # compiled flag's cell for the variation served (the index comes from the flag's own variations, so the
    # cell exists); the last cell counts defaults.
    def is_enabled(self, key: str, context: Mapping[str, Any] | None = None, default: bool = False) -> bool:
        snap = self._store.snapshot
        flag = snap.table.get(key)
        if flag is not None and flag.is_boolean:
            result = flag.static
            if result is None:
                ctx = _EMPTY if context is None else context
                result = flag.decide(ctx, snap, time.time() if flag.uses_now else None)
            index = result.variation_index
            if index is not None:
                flag.counts[index] += 1.0
                return result.value  # type: ignore[no-any-return]
            return self._missed(flag, key, result, default)  # type: ignore[no-any-return]
        if flag is None and key in self._unknown:
            return default  # already reported; unknown flags are checked in hot loops too
        value = self._checked(key, snap, context, default).value
        return value if isinstance(value, bool) else default  # a json flag may hold anything

    def variation(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Any:
        """The flag's value for ``context``, or ``default`` if it cannot be evaluated or is another kind."""
        snap = self._store.snapshot
        flag = snap.table.get(key)
        # Exact default types are settled by one set lookup; anything else (None, subclasses, json flags, a
        # mismatch) takes the checked path, which gives the same answer with a full report.
        if flag is not None and type(default) in flag.default_types:
            result = flag.static
            if result is None:
                ctx = _EMPTY if context is None else context
                result = flag.decide(ctx, snap, time.time() if flag.uses_now else None)
            index = result.variation_index
            if index is not None:
                flag.counts[index] += 1.0
                return result.value
            return self._missed(flag, key, result, default)
        if flag is None and key in self._unknown:
            return default
        return self._checked(key, snap, context, default).value

    def _missed(self, flag: Flag, key: str, result: Evaluation, default: Any) -> Any:
        """The caller's default, for a result that serves no variation; an error is reported once."""
        flag.counts[-1] += 1.0
        if result.reason is Reason.ERROR:
            self._warn(key, result)
        return default

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None, default: Any = None) -> Evaluation:
        """Like ``variation``, with the reason: which rule matched, or why the default was served."""
        return self._checked(key, self._store.snapshot, context, default)

    def evaluate_with_flag(
        self, key: str, context: Mapping[str, Any] | None = None, default: Any = None
    ) -> tuple[Evaluation, Flag | None]:
        """``evaluate``, with the compiled flag that gave the result (``None`` if there is no such flag): its
        ``kind`` and ``version`` for integrations that report them, such as the OpenFeature provider."""
        snap = self._store.snapshot
        result = self._checked(key, snap, context, default)
        try:
            flag = snap.flag(key)  # compiled by the evaluation above, if it compiles at all
        except Exception:  # never raises into application code, like every flag check
            flag = None
        return result, flag

    def all_flags(self, context: Mapping[str, Any] | None = None) -> dict[str, Evaluation]:
        """Every flag's evaluation for ``context``. Not counted as flag checks: it says what each flag would
        serve (to hand on to a browser, say), not which value the application used."""
        return self._store.snapshot.evaluate_all(context, time.time())

    def _checked(
        self, key: str, snap: Snapshot, context: Mapping[str, Any] | None, default: Any
    ) -> Evaluation:
        """The slow, fully reported path: flags not compiled yet, missing flags, type mismatches, errors."""
        try:
            flag = snap.flag(key)
            if flag is None:
                if not self._store.initialized:
                    result = error(ErrorCode.PROVIDER_NOT_READY, "no flag data has arrived yet", default)
                else:
                    result = error(ErrorCode.FLAG_NOT_FOUND, f"no flag {key!r}", default)
            elif default is not None and flag.kind and not is_kind(default, flag.kind):
                result = error(
                    ErrorCode.TYPE_MISMATCH,
                    f"flag {key!r} is a {flag.kind} flag; the default {default!r} is not a {flag.kind}",
                    default,
                )
            else:
                result = evaluate(flag, context, snap, time.time()).with_default(default)
            if flag is not None:
                index = result.variation_index
                flag.counts[-1 if index is None else index] += 1.0
            if result.reason is Reason.ERROR:
                self._warn(key, result)
            return result
        except Exception as exc:  # a flag check must never raise into application code
            return error(ErrorCode.GENERAL, f"evaluation failed: {type(exc).__name__}", default)

    def _warn(self, key: str, result: Evaluation) -> None:
        # Log each kind of problem once per flag: a hot loop over a broken flag must not flood the logs.
        marker = (key, str(result.error_code))
        if marker in self._warned:
            return
        with self._warned_lock:
            if marker in self._warned or len(self._warned) >= _MAX_WARNINGS:
                return
            self._warned.add(marker)
            if result.error_code is ErrorCode.FLAG_NOT_FOUND:
                self._unknown.add(key)
        log.warning("flag %r: %s (%s); serving the default", key, result.error_message, result.error_code)

    # -- metrics ------
    def track(self, event: str, context: Mapping[str, Any] | None = None, value: float | None = None) -> None:
        """Count an application outcome (``"checkout-error"``, ``"latency-ms"`` with ``value=...``) for
        ``context``: in the event's total and, for every flag whose data sets ``track_events``, under the
        variation that flag serves ``context`` now (evaluated here, not counted as a flag check). A client of
        the server sends the counts in batches (``LiveOptions.metrics_interval``).

        Never raises and never blocks. ``event``: 1 to 200 characters, not starting with ``$``; ``value``: a
        finite number or ``None``. An invalid call is ignored (and logged once)."""
        # With metrics on, a client's own ``track`` is its metrics' (set in __init__); this is what
        # ``Client.track(client, ...)`` calls.
        metrics = self._metrics
        if metrics is not None:
            metrics.track(event, context, value)

    def metrics(self) -> dict[str, Any]:
        """The counts not sent yet, as a plain dict shaped like the batch a client of the server sends
        (``start``, ``end``, ``counts``, ``dropped``; no ``instance``), for tests and debugging. It changes
        nothing: an offline client keeps counting into the same cells (within ``max_metric_cells``)."""
        if self._metrics is None:
            now = time.time()
            return {"start": now, "end": now, "counts": [], "dropped": 0}
        return self._metrics.peek().to_json()

    # -- lifecycle ------
    def wait_until_ready(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for flag data; ``True`` if it is there. Never raises.

        Returns ``False`` at once when the server refuses the SDK key (``status()`` says so): that will not
        change within any reasonable timeout."""
        try:
            self._store.settled.wait(max(0.0, timeout))
            return self._store.initialized
        except Exception:  # e.g. an interrupted wait; the answer is "not ready"
            return False

    async def wait_until_ready_async(self, timeout: float = 5.0) -> bool:
        """``wait_until_ready`` for asyncio applications: the event loop goes on running while it waits.

        The wait runs in the default executor (one thread, for at most ``timeout`` seconds); flag checks
        themselves stay synchronous, as they never do I/O."""
        import asyncio  # here: applications without asyncio never load it

        return await asyncio.to_thread(self.wait_until_ready, timeout)

    def on_change(self, callback: ChangeListener) -> None:
        """Call ``callback(changed_flag_keys)`` after each update, on the data source's thread."""
        self._store.on_change(callback)

    def on_status(self, callback: StatusListener) -> None:
        """Call ``callback(status)`` when ``status().state`` changes, on the thread that changed it.

        The callback must return promptly: it holds up the data source (and any other state change)."""
        self._store.on_status(callback)

    def status(self) -> Status:
        return self._store.status()

    @property
    def revision(self) -> int:
        return self._store.snapshot.revision

    def close(self) -> None:
        if self._store.status().state is State.CLOSED:
            return
        try:
            self._source.close()
        finally:
            self._store.mark_closed()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class StaticDataSource:
    """A fixed snapshot document (its JSON bytes, or parsed), loaded at start."""

    def __init__(self, snapshot: bytes | Mapping[str, Any]) -> None:
        self._snapshot: bytes | Mapping[str, Any] | None = snapshot

    def start(self, store: FlagStore) -> None:
        if self._snapshot is not None:
            store.replace(self._snapshot)
            self._snapshot = None  # the store's snapshot holds what it needs of it

    def close(self) -> None:
        pass
