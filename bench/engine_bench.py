"""Offline evaluation benchmark: `python bench/engine_bench.py` prints a markdown table (see bench/README.md).

Runs under the repository's `.venv-bench` (created by `bench/setup.sh`): if the current interpreter lacks
the peer SDKs and that virtualenv exists, the script re-executes itself there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR.parent / ".venv-bench"
REQUIRED = ("flagstaff", "ldclient", "growthbook", "UnleashClient", "flagsmith")


def _missing() -> list[str]:
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def main() -> int:
    missing = _missing()
    if missing:
        venv_python = VENV / "bin" / "python"
        if venv_python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
            os.execv(venv_python, [str(venv_python), __file__, *sys.argv[1:]])
        print(
            f"missing packages: {', '.join(missing)}.\n"
            f"Create the benchmark virtualenv with `sh bench/setup.sh` (or `make bench-engine`), then run\n"
            f"`python bench/engine_bench.py` again.",
            file=sys.stderr,
        )
        return 2
    from engine.runner import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
