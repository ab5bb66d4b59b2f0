"""When ``serve`` runs its workers in a process of their own (ZAPGATE_WORKER_PROCESS)."""

import pytest

from zapgate.worker_process import wanted


@pytest.mark.parametrize(("mode", "run_workers", "sqlite", "cores", "expected"), [
    ("auto", True, False, 2, True),    # PostgreSQL, several cores: the API keeps a core
    ("auto", True, False, 1, False),   # one core: nothing to gain
    ("auto", True, True, 2, False),    # SQLite: two writing processes wait on each other
    ("on", True, True, 1, True),
    ("off", True, False, 8, False),
    ("on", False, False, 8, False),    # ZAPGATE_RUN_WORKERS=0: no workers at all
])
def test_worker_process_choice(mode: str, run_workers: bool, sqlite: bool, cores: int,
                               expected: bool) -> None:
    assert wanted(mode, run_workers=run_workers, sqlite=sqlite, cores=cores) is expected
