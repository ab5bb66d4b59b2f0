"""When ``serve`` runs its workers in a process of their own (ZAPGATE_WORKER_PROCESS)."""

import pytest

from zapgate.worker_process import wanted


@pytest.mark.parametrize(("mode", "run_workers", "cores", "expected"), [
    ("auto", True, 2, True),    # several cores: the API keeps one to itself
    ("auto", True, 1, False),   # one core: nothing to gain
    ("on", True, 1, True),
    ("off", True, 8, False),
    ("on", False, 8, False),    # ZAPGATE_RUN_WORKERS=0: no workers at all
])
def test_worker_process_choice(mode: str, run_workers: bool, cores: int, expected: bool) -> None:
    assert wanted(mode, run_workers=run_workers, cores=cores) is expected
