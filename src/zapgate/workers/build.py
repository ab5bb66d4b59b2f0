"""Which loops a process runs."""

from __future__ import annotations

from collections.abc import Callable

from zapgate.container import Container
from zapgate.worker_process import loop_names
from zapgate.workers.dispatcher import Dispatcher
from zapgate.workers.inbox import Inbox
from zapgate.workers.runner import Loop, Runner
from zapgate.workers.sweeper import Sweeper
from zapgate.workers.webhook_sender import WebhookSender


def build_runner(container: Container) -> Runner:
    makers: dict[str, Callable[[Container], Loop]] = {
        "dispatcher": Dispatcher, "inbox": Inbox, "webhooks": WebhookSender, "sweeper": Sweeper}
    loops: list[Loop] = [makers[name](container)
                         for name in loop_names(container.settings.worker_loops)]
    return Runner(loops, poll_interval=container.settings.worker_poll_interval)
