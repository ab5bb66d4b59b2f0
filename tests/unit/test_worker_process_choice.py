"""When ``serve`` runs its workers in a process of their own (ZAPGATE_WORKER_PROCESS)."""

import pytest

from zapgate.worker_process import wanted


@pytest.mark.parametrize(
    ("mode", "run_workers", "cores", "expected"),
    [
        ("auto", True, 2, True),  # several cores: the API keeps one to itself
        ("auto", True, 1, False),  # one core: nothing to gain
        ("on", True, 1, True),
        ("off", True, 8, False),
        ("on", False, 8, False),  # ZAPGATE_RUN_WORKERS=0: no workers at all
    ],
)
def test_worker_process_choice(mode: str, run_workers: bool, cores: int, expected: bool) -> None:
    assert wanted(mode, run_workers=run_workers, cores=cores) is expected


def test_two_worker_processes_split_the_loops_and_every_loop_runs_once() -> None:
    from zapgate.worker_process import LOOPS, loop_names, loops_for, wakes_of

    first, second = (loop_names(loops) for loops in loops_for(2))
    assert sorted(first + second) == sorted(LOOPS)
    assert wakes_of(",".join(first)) == {"dispatch", "numbers", "inbox"}
    assert wakes_of(",".join(second)) == {"webhooks"}
    assert [loop_names(loops) for loops in loops_for(1)] == [LOOPS]
    assert [loop_names(loops) for loops in loops_for(3)] == [LOOPS] * 3


def test_an_unknown_loop_name_is_refused_with_the_known_ones() -> None:
    from zapgate.worker_process import loop_names

    with pytest.raises(ValueError, match=r"unknown loop.*dispatch.*known: dispatcher"):
        loop_names("dispatch,inbox")
