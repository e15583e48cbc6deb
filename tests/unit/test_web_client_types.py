"""The web client's modules type-check: every JSDoc type, as `tsc --checkJs` reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_client_type_checks_with_tsc() -> None:
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    assert tsc.exists(), "run scripts/bootstrap.sh --test (npm ci installs typescript)"
    result = subprocess.run(
        [str(tsc), "-p", str(ROOT / "src" / "parley" / "web" / "jsconfig.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
