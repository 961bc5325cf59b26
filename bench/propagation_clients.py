"""The propagation benchmark's SDK-like stream clients, in child processes of their own, as light as possible:
a protocol object per stream that only looks for `id:` lines and time-stamps each chunk on arrival
(`time.perf_counter` is CLOCK_MONOTONIC on Linux, so it compares with the driver's clock)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import re
import time
from multiprocessing.connection import Connection
from typing import Any, cast

try:
    import uvloop
except ImportError:  # the clients still work, only slower
    uvloop = None


_RECONNECT = re.compile(rb'\nevent: reconnect\ndata: \{"delay_ms":(\d+)')


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, reader: StreamReader, request: bytes) -> None:
        self.reader, self.request = reader, request
        self.head = b""
        self.pending = b"\n"  # always starts with the newline before a line, so `\nid: ` finds every id line
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status, data = self.head[: self.head.find(b"\r\n")], self.head[end + 4 :]
            self.head = None  # type: ignore[assignment]
            if b" 200 " not in status and self.transport is not None:
                self.transport.close()
                return
            self.reader.connected.set()
            self.reader.connects += 1
        buffer = self.pending + data
        end = buffer.rfind(b"\n")
        self.pending = buffer[end:]
        self.reader.snapshots += buffer.count(b"\nevent: snapshot", 0, end)
        asked = _RECONNECT.search(buffer, 0, end)
        if asked is not None:
            self.reader.asked_delay = int(asked.group(1)) / 1000
        # The end of the response (a farewell, or the last chunk): behind a proxy the connection stays open
        # for its next request, so the client must close it itself, as the SDK does.
        if (asked is not None or buffer.endswith(b"\r\n0\r\n\r\n")) and self.transport is not None:
            self.transport.close()
        at = buffer.find(b"\nid: ", 0, end)
        while at >= 0:
            line_end = buffer.find(b"\n", at + 1)
            self.reader.seen(int(buffer[at + 5 : line_end]), now)
            at = buffer.find(b"\nid: ", line_end, end)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class StreamReader:
    """One SDK-like client: records when each revision first arrives and, on a lost connection, reconnects (to
    the next server) with Last-Event-ID after a 0.5-1 s jittered delay, like the SDK's first backoff step, or
    after the delay a `reconnect` event asked for, as the SDK does."""

    def __init__(self, servers: list[tuple[str, int]], index: int, key: str, revision: int = -1) -> None:
        self.servers, self.index, self.key = servers, index, key
        self.revision = revision  # an SDK starts from the revision of the snapshot it fetched, if any
        self.snapshots = 0  # full snapshots received on the stream
        self.connects = 0  # streams opened (200), the first one included
        self.asked_delay: float | None = None  # from the server's `reconnect` event
        self.reached: list[tuple[int, float]] = []
        self.connected = asyncio.Event()
        self.stopped = False
        self.transport: asyncio.Transport | None = None

    def seen(self, revision: int, at: float) -> None:
        if revision > self.revision:
            self.revision = revision
            self.reached.append((revision, at))

    def reached_at(self, revision: int) -> float | None:
        return next((at for seen, at in self.reached if seen >= revision), None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopped:
            host, port = self.servers[self.index % len(self.servers)]
            resume = f"Last-Event-ID: {self.revision}\r\n" if self.revision >= 0 else ""
            request = (
                f"GET /sdk/v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Accept: text/event-stream\r\n{resume}\r\n"
            ).encode()
            try:
                transport, protocol = await loop.create_connection(
                    lambda: _StreamProtocol(self, request),  # noqa: B023 (called at once, in this iteration)
                    host,
                    port,
                )
                self.transport = transport
                await protocol.done
            except OSError:
                pass
            self.connected.clear()
            if self.stopped:
                return
            self.index += 1
            delay, self.asked_delay = self.asked_delay, None
            await asyncio.sleep(random.uniform(0.5, 1.0) if delay is None else delay)

    def stop(self) -> None:
        self.stopped = True
        if self.transport is not None:
            self.transport.close()


async def _serve(commands: Connection) -> None:
    readers: list[StreamReader] = []
    tasks: list[asyncio.Task[None]] = []
    while True:
        command, *args = await asyncio.to_thread(commands.recv)
        reply: Any = None
        if command == "connect":  # servers, key, first index, count, concurrency, starting revision
            servers, key, first, count, concurrency, revision = args
            batch_readers = [StreamReader(servers, first + i, key, revision) for i in range(count)]
            for start in range(0, count, concurrency):
                batch = batch_readers[start : start + concurrency]
                tasks += [asyncio.create_task(r.run()) for r in batch]
                await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in batch)), 180)
            readers += batch_readers
        elif command == "wait":  # revision, timeout: the arrival time of that revision at every reader
            revision, timeout = args
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(r.reached_at(revision) is None for r in readers):
                await asyncio.sleep(0.01)
            reply = [r.reached_at(revision) for r in readers]
        elif command == "stats":  # (streams open now, snapshots received, streams opened) over every reader
            reply = (
                sum(r.connected.is_set() for r in readers),
                sum(r.snapshots for r in readers),
                sum(r.connects for r in readers),
            )
        elif command == "close":
            for reader in readers:
                reader.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            readers, tasks = [], []
        elif command == "exit":
            commands.send(None)
            return
        commands.send(reply)


def _main(commands: Connection) -> None:
    if uvloop is not None:
        uvloop.run(_serve(commands))
    else:
        asyncio.run(_serve(commands))


class ClientPool:
    """Stream clients spread over `processes` child processes; reader i connects to server i mod 2 first."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or sockets inherited
        self._pipes: list[Connection] = []
        self._children = []
        for _ in range(processes):
            mine, theirs = context.Pipe()
            child = context.Process(target=_main, args=(theirs,), daemon=True)
            child.start()
            self._pipes.append(mine)
            self._children.append(child)

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children if child.pid is not None]

    def connect(
        self, servers: list[tuple[str, int]], key: str, n: int, concurrency: int = 200, revision: int = -1
    ) -> None:
        share, first = -(-n // len(self._pipes)), 0
        for pipe in self._pipes:
            count = min(share, n - first)
            per_process = max(1, concurrency // len(self._pipes))
            pipe.send(("connect", servers, key, first, count, per_process, revision))
            first += count
        self._replies()

    def stats(self) -> tuple[int, int, int]:
        """(streams open now, full snapshots received, streams opened) over every client."""
        for pipe in self._pipes:
            pipe.send(("stats",))
        replies = self._replies()
        return sum(r[0] for r in replies), sum(r[1] for r in replies), sum(r[2] for r in replies)

    def wait(self, revision: int, timeout: float) -> list[float | None]:
        for pipe in self._pipes:
            pipe.send(("wait", revision, timeout))
        return [at for reply in self._replies() for at in reply]

    def close_streams(self) -> None:
        for pipe in self._pipes:
            pipe.send(("close",))
        self._replies()

    def shutdown(self) -> None:
        for pipe, child in zip(self._pipes, self._children, strict=True):
            with contextlib.suppress(OSError, EOFError):  # a child that already failed
                pipe.send(("exit",))
                pipe.recv()
            child.join(10)
            if child.is_alive():
                child.kill()

    def _replies(self) -> list[Any]:
        return [pipe.recv() for pipe in self._pipes]
