"""A scriptable HTTP server on loopback standing in for a broken or hostile Flagstaff server.

The real server never sends what these tests need (revisions that are not integers, endless lines, hour-long
reconnect delays), and the SDK's own tests must not depend on it: this server answers each path from a script.
Beside it, what the tests of the live data source share: short timings, waiting for a condition, a client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flagstaff import Client, LiveOptions

STREAM = "/sdk/v1/stream"
POLL = "/sdk/v1/flags"
ACKS = "/sdk/v1/acks"
METRICS = "/sdk/v1/metrics"
FAST = LiveOptions(
    read_timeout=30.0, connect_timeout=2.0, initial_backoff=0.05, max_backoff=0.2, poll_interval=0.05,
    auth_retry_interval=0.1, ack_interval=0.05, cache_interval=0.05,
)  # fmt: skip

Answer = Callable[[BaseHTTPRequestHandler, "ScriptedServer"], None]


class ScriptedServer:
    """Answers each path with the next answer of its script; the last answer repeats."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self.disconnects = 0
        self._generation = 0  # streams held open end when it moves on (drop_streams)
        self._lock = threading.Lock()
        # Acknowledgements and metrics are accepted, as a current server does, unless a test scripts them.
        self._scripts: dict[str, list[Answer]] = {
            ACKS: [self.respond(202, b"")],
            METRICS: [self.respond(202, b'{"accepted": true}')],
        }
        self._requests: list[tuple[str, dict[str, str], bytes]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-server", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for seen, _, _ in self._requests if seen == path)

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for seen, headers, _ in self._requests if seen == path]

    def bodies_of(self, path: str) -> list[bytes]:
        with self._lock:
            return [body for seen, _, body in self._requests if seen == path]

    def drop_streams(self) -> None:
        """Ends every stream held open so far, as a server restart or a proxy would."""
        with self._lock:
            self._generation += 1

    def close(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes = b"") -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self._requests.append((path, {k.lower(): v for k, v in handler.headers.items()}, body))
            script = self._scripts.get(path)
            answer = (script.pop(0) if len(script) > 1 else script[0]) if script else self.respond(404, b"{}")
        try:
            answer(handler, self)
        except OSError:  # the client went away mid-answer, which several tests provoke
            with self._lock:
                self.disconnects += 1

    # -- answers ------
    @staticmethod
    def respond(status: int, body: bytes, content_type: str = "application/json") -> Answer:
        def answer(handler: BaseHTTPRequestHandler, server: ScriptedServer) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return answer

    @staticmethod
    def stream(*chunks: bytes, hold: bool = True) -> Answer:
        """An event stream of ``chunks``; held open until the server closes, or ended at once."""

        def answer(handler: BaseHTTPRequestHandler, server: ScriptedServer) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Connection", "close")
            handler.end_headers()
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
            if hold:
                ScriptedServer._hold(handler, server)

        return answer

    @staticmethod
    def hang() -> Answer:
        """Reads the request and never answers (until the server closes)."""

        def answer(handler: BaseHTTPRequestHandler, server: ScriptedServer) -> None:
            server.closing.wait()

        return answer

    @staticmethod
    def _hold(handler: BaseHTTPRequestHandler, server: ScriptedServer) -> None:
        # Waits for the client to go away (the read sees EOF), drop_streams, or the server to close.
        generation = server._generation
        handler.connection.settimeout(0.1)
        while not server.closing.is_set() and server._generation == generation:
            try:
                if handler.connection.recv(1) == b"":
                    raise ConnectionResetError("the client closed the stream")
            except TimeoutError:
                continue

    # -- wire documents ------
    @staticmethod
    def snapshot(revision: int, *, enabled: bool = True) -> dict[str, Any]:
        """A snapshot with one boolean flag, ``checkout``, on (serving true) or off (serving false)."""
        flag = {
            "key": "checkout",
            "kind": "boolean",
            "variations": [True, False],
            "enabled": enabled,
            "off_variation": 1,
            "version": revision,
            "fallthrough": {"variation": 0},
        }
        return {"format": 1, "revision": revision, "flags": {"checkout": flag}, "segments": {}}

    @staticmethod
    def sse(event: str, data: dict[str, Any] | bytes, event_id: int | None = None) -> bytes:
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        id_line = b"id: %d\n" % event_id if event_id is not None else b""
        return b"event: %s\n%sdata: %s\n\n" % (event.encode(), id_line, payload)


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server._answer(self)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            server._answer(self, self.rfile.read(length))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[[Callable[[], object], float, str], None]:
    """``wait_until(condition, timeout, what)``: polls until the condition holds, or fails naming what."""
    return wait_until


@pytest.fixture
def fast() -> LiveOptions:
    """Options for tests: every wait and backoff short, so that a test sees many rounds in a second."""
    return FAST


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    """``make_client(base_url, options=FAST, **client_arguments)``: a live client, closed after the test."""
    clients: list[Client] = []

    def make(base_url: str, options: LiveOptions = FAST, **kwargs: Any) -> Client:
        client = Client(sdk_key="fs_sdk_test", base_url=base_url, options=options, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
