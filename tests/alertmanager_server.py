"""A throwaway Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on free loopback ports, whose one
receiver sends every alert group to the given webhook URLs; alerts are posted to its API as Prometheus would.

Missing binary: the test is skipped locally and fails in CI (`tests.streaming.processes.require`). The process
is stopped by its own handle."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.streaming.processes import free_port, require, wait_until

BINARY = "prometheus-alertmanager"


class AlertmanagerServer:
    def __init__(self, webhook_urls: Sequence[str], directory: Path) -> None:
        binary = shutil.which(BINARY) or shutil.which(BINARY, path="/usr/bin")
        require(binary is not None, f"{BINARY} is not installed (Debian package prometheus-alertmanager)")
        self.binary = binary or BINARY
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        self.log = directory / "alertmanager.log"
        self.process: subprocess.Popen[bytes] | None = None
        # JSON is YAML: no YAML library needed. Groups are sent at once and resolutions within a second.
        config = {
            "route": {
                "receiver": "flagstaff",
                "group_by": ["alertname"],
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "flagstaff",
                    "webhook_configs": [{"url": url, "send_resolved": True} for url in webhook_urls],
                }
            ],
        }
        self.config = directory / "alertmanager.yml"
        self.config.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def start(self) -> AlertmanagerServer:
        command = [
            self.binary,
            f"--config.file={self.config}",
            f"--storage.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip: one throwaway instance
            "--log.level=info",
        ]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=sink)
        wait_until(self._ready, 30, f"Alertmanager on port {self.port} (log: {self.log})")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def fire(self, labels: dict[str, str], annotations: dict[str, str]) -> None:
        """Posts a firing alert, as Prometheus does (`POST /api/v2/alerts`)."""
        self._post(labels, annotations, ends_at=None)

    def resolve(self, labels: dict[str, str], annotations: dict[str, str]) -> None:
        """Posts the same alert with an end in the past: Alertmanager sends the group as resolved."""
        self._post(labels, annotations, ends_at=datetime.now(UTC) - timedelta(seconds=1))

    def _post(self, labels: dict[str, str], annotations: dict[str, str], ends_at: datetime | None) -> None:
        alert: dict[str, object] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "generatorURL": "http://prometheus.test/graph",
        }
        if ends_at is not None:
            alert["endsAt"] = ends_at.isoformat()
        response = httpx.post(f"{self.base_url}/api/v2/alerts", json=[alert], timeout=5)
        assert response.status_code == 200, response.text

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"Alertmanager exited with {self.process.returncode}: {self.log.read_text()}")
        return httpx.get(f"{self.base_url}/-/ready", timeout=1).status_code == 200
