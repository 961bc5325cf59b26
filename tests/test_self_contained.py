"""A clone of this repository is all the test suite needs: nothing reads from beside the checkout.

A fresh clone has no sibling folders (the team's shared folder included), so a test or tool that reaches
outside the repository root passes on a team machine and fails for every new user.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `parents[N].parent / "shared"` or a literal parent-relative path to it: both step out of the repository.
# Built from parts, so that this guard does not match itself.
SIBLING = "shared"
OUTSIDE = re.compile(r"\.\./" + SIBLING + r"""|\.parent\s*/\s*["']""" + SIBLING + """["']""")


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    kept = (".py", ".sh", ".toml", ".cfg")
    return [ROOT / name for name in listed if name.endswith(kept) or name in ("Makefile", ".ci/run")]


def test_no_tracked_code_reads_from_beside_the_checkout() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _tracked_files()
        if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line) and path != Path(__file__).resolve()
    ]
    assert offenders == []


def test_the_unleash_specification_is_vendored_with_its_license() -> None:
    data = ROOT / "sdk" / "tests" / "data" / "unleash-client-specification"
    assert "Apache License" in (data / "LICENSE").read_text(encoding="utf-8")
    assert (data / "specifications" / "index.json").is_file()
