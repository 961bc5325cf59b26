#!/bin/sh
# Creates the benchmark virtualenv (.venv-bench at the repository root, or $VENV_BENCH) with the pinned peer SDKs
# and the local Flagstaff SDK installed in editable mode. Safe to run again: it only installs what is missing.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV_BENCH:-$ROOT/.venv-bench}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
"$VENV/bin/python" -m pip install --quiet -r "$ROOT/bench/requirements.txt" -e "$ROOT/sdk"
echo "ready: $VENV/bin/python $ROOT/bench/engine_bench.py"
