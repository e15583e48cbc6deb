"""The OpenAPI document is the contract: a schema-based fuzzer (schemathesis) sends what the
document allows and what it forbids to every operation, signed in as an admin, and finds no
5xx and no answer the document does not describe (status, content type, body, ``Allow``).

Bounded in examples per operation and in total time, so it costs the suite a few minutes
whatever the machine's load; a failure prints schemathesis's report with a curl line to
reproduce each finding.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.contract import RunningParley

ROOT = Path(__file__).resolve().parents[2]  # the hooks module is imported from here
REPORT = ROOT / "test-artifacts" / "schemathesis.txt"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 8
MAX_TIME_S = 240
# Operations left out, each for a reason that is not "it fails":
EXCLUDED_PATHS = [
    # would end the fuzzer's own session (sign-out, password change revokes every token)
    "/api/v1/auth/logout",
    "/api/v1/users/me/password",
]


def _schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert found is not None, "schemathesis is missing: run scripts/bootstrap.sh --test"
    return [found]


def test_no_operation_answers_5xx_or_outside_its_documented_contract(
    parley_on_postgres: RunningParley,
) -> None:
    server = parley_on_postgres
    command = [
        *_schemathesis(),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {server.admin_token}",
        "--checks",
        "all",
        # The contract is about answers: no 5xx, and every status, content type, body and
        # `Allow` as documented. Left out: whether a request the schema allows is accepted (it
        # can be refused for what it means: a start in the past, a stale upload offset) and
        # whether every request it forbids is refused (pydantic reads `true` as 1.0 for a
        # number; the fixed cases -- dates as numbers, numbers as booleans -- have tests).
        "--exclude-checks",
        "positive_data_acceptance,negative_data_rejection",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_TIME_S),
        "--workers",
        "2",
        "--seed",
        "1301",
        *[arg for path in EXCLUDED_PATHS for arg in ("--exclude-path", path)],
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=MAX_TIME_S + 180, cwd=ROOT
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(run.stdout + run.stderr)
    assert run.returncode == 0, (
        f"{_short(run.stdout + run.stderr)}\n(whole report: {REPORT})\n"
        f"---- server log ----\n{server.log.read_text()[-5_000:]}"
    )


def _short(report: str) -> str:
    """The report with each line cut to a readable length (fuzzed bodies run to megabytes)."""
    lines = [line if len(line) <= 300 else line[:300] + " ..." for line in report.splitlines()]
    return "\n".join(lines[-400:])
