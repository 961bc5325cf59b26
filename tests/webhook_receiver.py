"""A real HTTP server on loopback that stands in for a webhook's receiver: it records every request (headers
and raw body), answers with the statuses it is told to (then 200), and can hold requests open until
released."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.holding = 0  # requests being held open right now
        self._hold = False
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver._record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if receiver._hold:
                    with receiver._lock:
                        receiver.holding += 1
                    receiver._released.wait(30)
                    with receiver._lock:
                        receiver.holding -= 1
                status = receiver._next_status()
                answer = b'{"ok": true}' if status < 300 else b"receiver says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def answer_with(self, *statuses: int) -> None:
        """The next answers, in order; 200 after them."""
        self.statuses.extend(statuses)

    def hang(self) -> None:
        """Holds every request open (headers and body read, no answer) until `release`."""
        self._hold = True

    def release(self) -> None:
        self._hold = False
        self._released.set()

    def events(self) -> list[str]:
        return [request.headers["x-flagstaff-event"] for request in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the receiver got {len(self.received)} requests, not {count}")
            time.sleep(0.01)
        return list(self.received)

    def _record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)

    def _next_status(self) -> int:
        with self._lock:
            return self.statuses.popleft() if self.statuses else 200
