"""The sockets the live data source's HTTP clients connect, so that close() can wake a thread blocked on one.

Closing a socket does not wake a thread blocked reading it; shutting it down does (the read sees the end). The
sockets are learned from httpx's documented ``trace`` request extension.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from collections.abc import Mapping
from typing import Any

_CONNECTED = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})


class OpenSockets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._shut = False
        self.extensions: dict[str, Any] = {"trace": self._trace}
        """Pass with every request (``extensions=``) so that its connection is known."""

    def shut_down(self) -> None:
        """Wakes every blocked read now, and shuts down any socket connected from now on as soon as it is."""
        with self._lock:
            self._shut = True
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            _shut_down(sock)

    def _trace(self, name: str, info: Mapping[str, Any]) -> None:
        if name not in _CONNECTED:
            return
        get_extra_info = getattr(info.get("return_value"), "get_extra_info", None)
        sock = get_extra_info("socket") if get_extra_info is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self._shut:
                self._sockets.add(sock)
                return
        _shut_down(sock)  # connected while close() ran: its request must fail now, not after a timeout


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed, or a TLS socket's plain predecessor
        # The plain socket method, also for TLS sockets: theirs would unwrap TLS under a reading thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
