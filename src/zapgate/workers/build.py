"""Which loops a process runs."""

from __future__ import annotations

from collections.abc import Callable

from zapgate.container import Container
from zapgate.worker_process import loop_names
from zapgate.workers.dispatcher import Dispatcher
from zapgate.workers.inbox import Inbox
from zapgate.workers.leases import LeaseKeeper
from zapgate.workers.runner import Loop, Runner
from zapgate.workers.sweeper import Sweeper
from zapgate.workers.webhook_sender import WebhookSender


def build_runner(container: Container) -> Runner:
    names = loop_names(container.settings.worker_loops)
    # A process running both applies provider events only for the numbers it leases (and the
    # events no worker took in time), so workers do not lock one another's messages.
    leases = LeaseKeeper(container) if {"dispatcher", "inbox"} <= set(names) else None
    makers: dict[str, Callable[[Container], Loop]] = {
        "dispatcher": lambda c: Dispatcher(c, leases),
        "inbox": lambda c: Inbox(c, leases),
        "webhooks": WebhookSender,
        "sweeper": Sweeper,
    }
    loops: list[Loop] = [makers[name](container) for name in names]
    return Runner(
        loops,
        poll_interval=container.settings.worker_poll_interval,
        fleet_wait=container.settings.worker_fleet_wait_seconds,
        peers=(lambda: leases.live) if leases is not None else None,
    )
