"""A PostgreSQL cluster of a test's own (initdb into a temporary directory, a free loopback port) that the
test may freeze with SIGSTOP and thaw: never the machine's shared server. Only the postmaster started here and
its own children are ever signalled."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.streaming.processes import free_port, require, wait_until

_BINARIES = Path("/usr/lib/postgresql")
# Durability is of no use to a cluster thrown away after the test; these make it start and write quickly.
_FAST = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "shared_buffers=16MB"]


def _server_binaries() -> Path | None:
    found = [path.parent for path in _BINARIES.glob("*/bin/postgres") if path.parent.parent.name.isdigit()]
    return max(found, key=lambda path: int(path.parent.name)) if found else None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the postmaster's backends and workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        # The command name, in parentheses, may hold spaces; the parent pid is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def established_connections_to(port: int) -> int:
    """Client-side TCP connections to 127.0.0.1:`port`, including those a frozen server never accepted."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and int(remote.split(":")[1], 16) == port:
            count += 1
    return count


class ThrowawayPostgres:
    def __init__(self) -> None:
        binaries = _server_binaries()
        require(binaries is not None, f"no PostgreSQL server binaries under {_BINARIES}")
        self.binaries = binaries or _BINARIES
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # initdb and postgres refuse to run as root; as root they run as the `postgres` user.
        self.user = "postgres" if os.geteuid() == 0 else None
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ThrowawayPostgres:
        # Not under pytest's temporary directory: its parents are private to root, and the server's user must
        # reach the data directory.
        self.directory = Path(tempfile.mkdtemp(prefix="flagstaff-pg-"))
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        data = self.directory / "data"
        subprocess.run(
            [str(self.binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--no-sync"],
            user=self.user, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        settings = ["listen_addresses=127.0.0.1", f"port={self.port}", "unix_socket_directories=", *_FAST]
        with open(self.directory / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(self.binaries / "postgres"), "-D", str(data), *(f"-c{s}" for s in settings)],
                user=self.user, stdout=log, stderr=log,
            )  # fmt: skip
        wait_until(self._answers, 30, f"the throwaway PostgreSQL on port {self.port}")
        return self

    @property
    def postmaster(self) -> int:
        assert self.process is not None and self.process.poll() is None, "the cluster is not running"
        return self.process.pid

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets (the kernel accepts and acknowledges) but never answers."""
        postmaster = self.postmaster
        os.kill(postmaster, signal.SIGSTOP)  # first, so that it forks no new backend meanwhile
        for child in children_of(postmaster):
            os.kill(child, signal.SIGSTOP)

    def thaw(self) -> None:
        postmaster = self.postmaster
        for child in children_of(postmaster):
            os.kill(child, signal.SIGCONT)
        os.kill(postmaster, signal.SIGCONT)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()  # a stopped process would never see the shutdown signal
            self.process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients, then exits
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                for child in children_of(self.process.pid):
                    os.kill(child, signal.SIGKILL)
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def log(self) -> str:
        """The server's log, for a failing test's report."""
        path = self.directory / "server.log" if self.directory else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the throwaway PostgreSQL exited: {' '.join(self.log().split())[-500:]}")
        try:
            with psycopg.connect(self.url, connect_timeout=2) as connection:
                return connection.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:  # still starting
            return False
