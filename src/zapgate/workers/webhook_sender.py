"""Customer webhook sender (claims due deliveries, signs, posts, records attempts)."""

from __future__ import annotations

import asyncio

from zapgate.container import Container


class WebhookSender:
    name = "webhooks"

    def __init__(self, container: Container) -> None:
        self._c = container

    @property
    def wake(self) -> asyncio.Event:
        return self._c.wake.webhooks

    async def tick(self) -> bool:
        return False

    async def close(self) -> None:
        return None
