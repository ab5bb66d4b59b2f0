"""``zapgate serve``'s worker processes: the background workers (dispatcher, inbox, webhook
sender, sweeper) in processes of their own, so that the API keeps a core to itself and the
workers' stages run side by side. Two by default, which split the loops (``SPLIT``: the
dispatcher and the receipts in one, the webhook sender and the sweeper in the other); one, or
more than two, each run every loop and share the numbers (number leases, fair share), the
provider callbacks and the webhook deliveries (both claimed under leases), exactly as
``zapgate worker`` processes on several machines do.

The parent starts each as ``zapgate worker --parent-pid <pid>`` with the same environment plus
the wake folder (zapgate.wakebus), restarts one that dies (one second later, logged), and stops
them when the parent stops. The child stops by itself when the parent disappears (a kill -9 of ``serve``):
on Linux the kernel tells it at once (``PR_SET_PDEATHSIG``), elsewhere it notices within a
second. Nothing depends on the child stopping in time: claims are leased in the database.

The children run at a lower CPU priority (``worker_nice``, 10 by default): when the cores are
busy, the API answers first (its clients wait on it) and the workers, whose work waits durably
in the database, take the rest. Measured at half the maximum rate (bench/RESULTS.md): accept
p99 29 -> 22 ms, nothing else changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping

_log = logging.getLogger("zapgate.serve")
PR_SET_PDEATHSIG = 1
RESTART_DELAY_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 15.0


def wanted(mode: str, *, run_workers: bool, cores: int | None = None) -> bool:
    """Whether ``serve`` should run its workers in a process of their own: ``auto`` when the
    machine has more than one core (measured faster on SQLite and PostgreSQL alike; on SQLite
    the two processes take turns writing through a kernel file lock, see storage.database)."""
    if not run_workers or mode == "off":
        return False
    return mode == "on" or (cores if cores is not None else os.cpu_count() or 1) > 1


AUTO_PROCESSES = 2
LOOPS = ("dispatcher", "inbox", "webhooks", "sweeper")
# What wakes each loop (zapgate.wakebus kinds).
WAKES = {"dispatcher": ("dispatch", "numbers"), "inbox": ("inbox",), "webhooks": ("webhooks",), "sweeper": ()}
# ``serve``'s two worker processes split the loops: each queue then has one consumer, whose
# batches are as large as one process's, and the stages still run side by side. Measured
# (bench/RESULTS.md): two processes running every loop took turns at the same queues in
# batches half as large, and the SQLite write lock was busy three quarters of the time at
# half the maximum rate.
SPLIT = (("dispatcher", "inbox"), ("webhooks", "sweeper"))


def loop_names(setting: str) -> tuple[str, ...]:
    """The loops named by ``worker_loops`` (all when empty), in LOOPS' order."""
    wanted = {name.strip() for name in setting.split(",") if name.strip()}
    unknown = wanted - set(LOOPS)
    if unknown:
        raise ValueError(
            f"ZAPGATE_WORKER_LOOPS: unknown loop(s) {', '.join(sorted(unknown))} (known: {', '.join(LOOPS)})"
        )
    return tuple(name for name in LOOPS if not wanted or name in wanted)


def wakes_of(setting: str) -> frozenset[str]:
    """The wake-up kinds the loops named by ``worker_loops`` listen for."""
    return frozenset(kind for name in loop_names(setting) for kind in WAKES[name])


def loops_for(count: int) -> list[str]:
    """``worker_loops`` of each of ``serve``'s ``count`` worker processes: two split the loops
    between them (SPLIT); one, or more than two, each run them all."""
    if count == 2:
        return [",".join(group) for group in SPLIT]
    return [""] * count


def how_many(setting: int) -> int:
    """Worker processes for ``serve`` (ZAPGATE_WORKER_PROCESSES; 0 = auto). Two measured best
    on two cores (bench/RESULTS.md): one process was the slowest stage, at a full core, while
    the API's sat at a fifth of one; more than two only add lock turns on SQLite."""
    return setting if setting > 0 else AUTO_PROCESSES


def _prepare_child(nice: int) -> None:  # pragma: no cover - runs in the child before exec
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerProcess:
    def __init__(self, env: Mapping[str, str], *, nice: int = 0) -> None:
        self._env = dict(env)
        self._nice = nice
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="zapgate-worker-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "zapgate", "worker", "--parent-pid", str(os.getpid())],
                env=self._env,
                preexec_fn=lambda: _prepare_child(self._nice),
            )
            _log.info("worker process %s started", self._proc.pid)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            assert proc is not None
            code = proc.wait()
            if self._stopping.is_set():
                return
            _log.error(
                "worker process %s exited with %s; starting another in %.0f s",
                proc.pid,
                code,
                RESTART_DELAY_SECONDS,
            )
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _log.error("worker process %s did not stop in %.0f s; killing it", proc.pid, STOP_TIMEOUT_SECONDS)
            proc.kill()
            proc.wait()
