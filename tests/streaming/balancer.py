"""A loopback TCP balancer for the streaming tests, standing in for the proxy in front of the replicas (nginx
in deploy/): each connection goes to the next upstream that accepts it, and every byte relayed is kept, so a
test can read what the SDKs asked for and what they were sent."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Sequence

from tests.streaming.processes import free_port


class Balancer:
    def __init__(self, upstreams: Sequence[int]) -> None:
        self.upstreams = list(upstreams)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._next = 0
        self._lock = threading.Lock()
        self._ports: list[int] = []  # per connection, the upstream it went to
        self._sent: list[bytearray] = []  # per connection, client -> server
        self._received: list[bytearray] = []  # per connection, server -> client
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Balancer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def sent(self) -> bytes:
        """Everything the clients sent, connection after connection."""
        with self._lock:
            return b"".join(bytes(part) for part in self._sent)

    def received(self) -> bytes:
        """Everything the servers sent back, connection after connection."""
        with self._lock:
            return b"".join(bytes(part) for part in self._received)

    def streams_to(self, port: int) -> int:
        """How many SSE stream requests went to the upstream on `port` (a keep-alive connection may carry a
        poll or two before its stream)."""
        with self._lock:
            return sum(
                sent.lower().count(b"get /sdk/v1/stream")
                for upstream, sent in zip(self._ports, self._sent, strict=True)
                if upstream == port
            )

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            sent, received = bytearray(), bytearray()
            with self._lock:
                self._ports.append(upstream.getpeername()[1])
                self._sent.append(sent)
                self._received.append(received)
                self._sockets += [client, upstream]
            for source, target, log in ((client, upstream, sent), (upstream, client, received)):
                threading.Thread(target=_pump, args=(source, target, log, self._lock), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        for _ in self.upstreams:
            with self._lock:
                port = self.upstreams[self._next % len(self.upstreams)]
                self._next += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
                upstream.settimeout(None)
                return upstream
            except OSError:
                continue  # that replica is down: the next one, as a proxy's failover does
        return None


def _pump(source: socket.socket, target: socket.socket, log: bytearray, lock: threading.Lock) -> None:
    try:
        # Inside the try: the balancer may close both sockets (end of a test) before this thread first runs.
        source.settimeout(None)
        while data := source.recv(65536):
            with lock:
                log += data
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
