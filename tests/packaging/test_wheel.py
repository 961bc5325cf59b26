"""The server runs from its built wheels, not only from the source tree: `pip install` of the SDK and server
wheels into a fresh virtualenv, then `flagstaff migrate` and `flagstaff serve` from a directory that holds no
checkout, find their migrations (and the console its templates and static files) inside the package and serve
a ready server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.streaming.processes import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.timeout(600)
def test_the_built_wheels_migrate_and_serve_from_any_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        wheels,
        REPO / "sdk",
        REPO,
        cwd=REPO,
    )
    built = sorted(wheels.glob("*.whl"))
    assert [path.name.split("-")[0] for path in built] == ["flagstaff", "flagstaff_server"]

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    _run(environment / "bin" / "python", "-m", "pip", "install", "--quiet", *built, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"  # no checkout here or above: only the installed package
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLAGSTAFF_", "PYTHON"))}
    env.update(
        FLAGSTAFF_DATABASE_URL=f"sqlite:///{elsewhere / 'wheel.db'}",
        FLAGSTAFF_ADMIN_TOKEN="fs_admin_wheel-test-token-0123456789",
        FLAGSTAFF_LOG_LEVEL="warning",
    )
    flagstaff = environment / "bin" / "flagstaff"
    _run(flagstaff, "migrate", cwd=elsewhere, env=env)
    installed = _run(
        environment / "bin" / "python", "-c", "import app; print(app.__file__)", cwd=elsewhere, env=env
    )
    assert str(environment) in installed  # the wheel's copy, never the checkout's

    port = free_port()
    with (elsewhere / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [str(flagstaff), "serve", "--port", str(port)], cwd=elsewhere, env=env, stdout=log, stderr=log
        )
    try:
        ready = wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200,
            timeout=60,
            message="the installed server to become ready",
        )
        assert ready
        flags = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/projects/default/flags",
            headers={"Authorization": f"Bearer {env['FLAGSTAFF_ADMIN_TOKEN']}"},
            timeout=5,
        )
        assert flags.status_code == 200, flags.text
        # The console's templates and static files are package data: served from the installed wheel.
        sign_in = httpx.get(f"http://127.0.0.1:{port}/console/sign-in", timeout=5)
        assert sign_in.status_code == 200 and "Admin key" in sign_in.text, sign_in.text
        for asset in ("console.css", "console.js", "icon.svg"):
            served = httpx.get(f"http://127.0.0.1:{port}/console/static/{asset}", timeout=5)
            assert served.status_code == 200 and served.content, asset
    finally:
        server.terminate()
        server.wait(timeout=30)
