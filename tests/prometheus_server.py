"""A real Prometheus (Debian's `/usr/bin/prometheus`, a throwaway process with its own config and data
directory on a free loopback port) scraping a small application's `/metrics` every second: what the rollout
guard's Prometheus source is tested against, and what an end-to-end guarded rollout can reuse. Every process
and thread started here is stopped by its own handle."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import MetricsHandler

from tests.streaming.processes import free_port, require, wait_until

PROMETHEUS = "/usr/bin/prometheus"


class MetricsApp:
    """An application's request and error counters, labelled by the flag variation that served each request
    (`checkout_requests_total{variation="true"}`, `checkout_errors_total{variation="true"}`), served as
    Prometheus text by a plain HTTP server on a thread of its own."""

    def __init__(self, prefix: str = "checkout") -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{prefix}_requests", "Requests served.", ["variation"], registry=self.registry
        )
        self.errors = Counter(
            f"{prefix}_errors", "Requests that failed.", ["variation"], registry=self.registry
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.target = f"127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MetricsApp:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), MetricsHandler.factory(self.registry))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-app", daemon=True)
        self._thread.start()
        return self

    def record(self, variation: str, requests: int, errors: int = 0) -> None:
        """Counts `requests` served with `variation`, `errors` of them failed (0 and 0 make the series)."""
        self.requests.labels(variation).inc(requests)
        self.errors.labels(variation).inc(errors)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None


class PrometheusServer:
    """Prometheus scraping `targets` ("host:port") every `scrape_interval`."""

    def __init__(self, targets: list[str], scrape_interval: str = "1s") -> None:
        require(Path(PROMETHEUS).exists(), f"{PROMETHEUS} is not installed (Debian package `prometheus`)")
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrometheusServer:
        self.directory = Path(tempfile.mkdtemp(prefix="flagstaff-prometheus-"))
        config = self.directory / "prometheus.yml"
        targets = ", ".join(f'"{target}"' for target in self.targets)
        config.write_text(
            f"global:\n  scrape_interval: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [{targets}]\n",
            encoding="utf-8",
        )
        with open(self.directory / "prometheus.log", "wb") as log:
            self.process = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=log,
            )  # fmt: skip
        wait_until(
            self._ready, 60, f"Prometheus on port {self.port} (log: {self.directory / 'prometheus.log'})"
        )
        return self

    def query(self, promql: str) -> dict[str, Any]:
        """The `data` of an instant query, evaluated now; fails the test when Prometheus refuses it."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        data: dict[str, Any] = answer["data"]
        return data

    def value(self, promql: str) -> float | None:
        """The one number a query returns: None for an empty vector."""
        data = self.query(promql)
        if data["resultType"] == "scalar":
            return float(data["result"][1])
        assert len(data["result"]) <= 1, data
        return float(data["result"][0]["value"][1]) if data["result"] else None

    def wait_for(self, promql: str, expected: float, timeout: float = 30.0) -> None:
        """Until the query returns `expected`: what the test app served has been scraped."""
        wait_until(lambda: self.value(promql) == expected, timeout, f"{promql} == {expected} in Prometheus")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log = (self.directory / "prometheus.log").read_text() if self.directory else ""
            raise AssertionError(f"Prometheus exited with {self.process.returncode}: {log[-2000:]}")
        return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
