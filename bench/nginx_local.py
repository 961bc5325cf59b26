"""nginx as a local process for the fleet benchmark, its configuration derived from deploy/nginx.conf: the
same locations and upstream settings, the upstreams and the listener moved to loopback ports, logs, pid and
temporary files in a scratch directory, and room for 10,000 streams (each holds two connections in nginx)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def derived_config(upstream_ports: Sequence[int], port: int, workdir: Path, connections: int) -> str:
    text = (REPO / "deploy" / "nginx.conf").read_text()
    replicas = iter(upstream_ports)
    text, found = re.subn(r"server flagstaff-\d+:8000", lambda _: f"server 127.0.0.1:{next(replicas)}", text)
    if found != len(upstream_ports):
        raise RuntimeError(f"deploy/nginx.conf names {found} replicas, not {len(upstream_ports)}")
    substitutions = {
        "listen 8080;": f"listen 127.0.0.1:{port};",
        "error_log /dev/stderr warn;": f"error_log {workdir}/error.log warn;\npid {workdir}/nginx.pid;\n"
        f"worker_rlimit_nofile {4 * connections};",
        "worker_connections 10240;": f"worker_connections {2 * connections + 1024};",
        "access_log /dev/stdout;": f"access_log {workdir}/access.log;\n"
        + "".join(
            f"    {kind}_temp_path {workdir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
    }
    for old, new in substitutions.items():
        if old not in text:
            raise RuntimeError(f"deploy/nginx.conf no longer has {old!r}; update bench/nginx_local.py")
        text = text.replace(old, new)
    if os.geteuid() == 0:
        text = "user root;\n" + text  # the workers write the scratch directory, which root owns
    return text


class LocalNginx:
    def __init__(self, upstream_ports: Sequence[int], workdir: Path, connections: int = 10_000) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed (Debian: apt-get install -y nginx)")
        self.binary, self.workdir = binary, workdir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.config = workdir / "nginx.conf"
        self.config.write_text(derived_config(upstream_ports, self.port, workdir, connections))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalNginx:
        command = [self.binary, "-p", str(self.workdir), "-c", str(self.config), "-g", "daemon off;"]
        subprocess.run([*command[:-2], "-t"], check=True, capture_output=True)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}: {(self.workdir / 'error.log').read_text()}")

    @property
    def version(self) -> str:
        found = subprocess.run([self.binary, "-v"], capture_output=True, text=True).stderr
        return found.strip().removeprefix("nginx version: ")

    @property
    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # fast shutdown of the master and its workers
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
