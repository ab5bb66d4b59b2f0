"""Which loops a process runs."""

from __future__ import annotations

from zapgate.container import Container
from zapgate.workers.dispatcher import Dispatcher
from zapgate.workers.inbox import Inbox
from zapgate.workers.runner import Loop, Runner
from zapgate.workers.sweeper import Sweeper
from zapgate.workers.webhook_sender import WebhookSender


def build_runner(container: Container) -> Runner:
    loops: list[Loop] = [Dispatcher(container), Inbox(container), Sweeper(container),
             WebhookSender(container)]
    return Runner(loops, poll_interval=container.settings.worker_poll_interval)
