"""The benchmarks still run against the current code (a refactor once broke one silently): each
is run tiny and must report a valid run. Nothing about speed is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
RUNS = {
    "webhook_sender": ["bench/webhook_sender.py", "--backend", "sqlite", "--pending", "300"],
    "e2e_bulk": ["bench/e2e_bulk.py", "--messages", "60", "--numbers", "2", "--provider", "meta"],
}


@pytest.mark.skipif(BACKEND != "sqlite", reason="one backend is enough to know the scripts run")
@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_benchmark_runs_and_reports_a_valid_run(name: str) -> None:
    done = subprocess.run(
        [sys.executable, *RUNS[name]], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert ("| valid | yes |" in output) or ("valid: every check passed" in output), output[-3000:]
