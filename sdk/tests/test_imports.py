"""What importing the SDK loads: what evaluation needs, and no importer (each run in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(code: str) -> object:
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(completed.stdout)


def test_importing_flagstaff_loads_no_unleash_module() -> None:
    loaded = _run(
        "import json, sys, flagstaff\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('flagstaff.unleash'))))"
    )
    assert loaded == []


def test_a_rollout_on_the_unleash_algorithm_evaluates_without_the_importer() -> None:
    flag = {
        "key": "f",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "fallthrough": {
            "rollout": {
                "algorithm": "unleash",
                "salt": "group",
                "variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}],
            }
        },
    }
    snapshot = {"format": 1, "revision": 1, "flags": {"f": flag}, "segments": {}}
    answer = _run(
        "import json, sys, flagstaff\n"
        f"snapshot = flagstaff.load_snapshot(json.loads({json.dumps(snapshot)!r}))\n"
        "results = [snapshot.evaluate('f', {'key': f'user-{i}'}) for i in range(200)]\n"
        "print(json.dumps({'reasons': sorted({r.reason.value for r in results}),\n"
        "                  'true': sum(r.value is True for r in results),\n"
        "                  'unleash': sorted(m for m in sys.modules if m.startswith('flagstaff.unleash'))}))"
    )
    assert isinstance(answer, dict)
    assert answer["reasons"] == ["SPLIT"]
    assert 60 <= answer["true"] <= 140  # about half of 200; far from all or none
    assert answer["unleash"] == []
