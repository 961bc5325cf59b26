"""What a server logs about its streams: a client that stops reading is normal operation, worth one line at
INFO and no traceback. A real server process, with its log captured, and a raw socket that never reads."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess, wait_until

# Each change event carries the flag with its variations: a few of these fill any socket buffer quickly.
_BIG_VALUE = "x" * 300_000


def _stalled_stream(base_url: str, sdk_key: str) -> socket.socket:
    """Opens the SSE stream on a socket with a tiny receive buffer, then never reads from it."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.connect((host, int(port)))
    request = (
        f"GET /sdk/v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {sdk_key}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    )
    connection.sendall(request.encode())
    return connection


def test_a_client_that_stops_reading_is_logged_once_at_info_without_a_traceback(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(database_url, output=log, log_level="info")
    server.start()
    admin = Admin(server.base_url)
    stalled: socket.socket | None = None
    try:
        body = {"kind": "string", "variations": [_BIG_VALUE, "small"]}
        created = admin.http.put(f"/api/v1/projects/{admin.project}/flags/big", json=body)
        assert created.status_code == 201, created.text
        key, _ = admin.sdk_key()
        stalled = _stalled_stream(server.base_url, key)
        for _ in range(20):  # 40 events of 300 kB: far more than the two socket buffers hold
            admin.switch("big", "on")
            admin.switch("big", "off")

        def ended() -> bool:
            text = log.read_text(errors="replace")
            return "stopped reading" in text or "Traceback" in text

        wait_until(ended, 60, "the server to end the stalled stream")
        # The stream is closed in one step; anything else it logs arrives at once.
        admin.http.get("/healthz")
        text = log.read_text(errors="replace")
        lines = text.splitlines()
        assert "Traceback" not in text and not [line for line in lines if line.startswith("ERROR")], text
        reports = [line for line in lines if "stopped reading" in line]
        assert len(reports) == 1 and reports[0].startswith("INFO"), text
    finally:
        if stalled is not None:
            stalled.close()
        admin.close()
        server.kill()
