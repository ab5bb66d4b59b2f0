"""Composition root: builds every long-lived object once, from settings, and passes it in."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zapgate import wakebus, worker_process
from zapgate.callback_secrets import CallbackSecrets
from zapgate.clock import Clock, SystemClock
from zapgate.crypto import SecretBox
from zapgate.keycache import KeyCache, TtlCache
from zapgate.metrics import Metrics
from zapgate.providers.registry import ProviderRegistry, build_registry
from zapgate.settings import Settings
from zapgate.storage import notify
from zapgate.storage.batch import Batcher
from zapgate.storage.database import Database
from zapgate.storage.repositories.analytics import AnalyticsRepository
from zapgate.storage.repositories.conversations import ConversationRepository
from zapgate.storage.repositories.inbox import InboxRepository
from zapgate.storage.repositories.keys import KeyRepository
from zapgate.storage.repositories.media import MediaRepository
from zapgate.storage.repositories.messages import MessageRepository
from zapgate.storage.repositories.numbers import NumberRepository
from zapgate.storage.repositories.projects import ProjectRepository
from zapgate.storage.repositories.remote_pairing import RemotePairingRepository
from zapgate.storage.repositories.system import SystemRepository
from zapgate.storage.repositories.templates import TemplateRepository
from zapgate.storage.repositories.tenants import TenantRepository
from zapgate.storage.repositories.users import UserRepository
from zapgate.storage.repositories.webhooks import WebhookRepository

if TYPE_CHECKING:
    from zapgate.domain.messages import PendingSend


@dataclass
class Wakeups:
    """In-process nudges so workers react at once instead of waiting for the next poll."""

    dispatch: asyncio.Event = field(default_factory=asyncio.Event)
    webhooks: asyncio.Event = field(default_factory=asyncio.Event)
    inbox: asyncio.Event = field(default_factory=asyncio.Event)
    # A number was created or reconnected: the dispatcher re-reads its leases at once.
    numbers: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def relayed(cls, relay: wakebus.Nudger, *, handled: frozenset[str] = frozenset()) -> Wakeups:
        """Nudges that also reach the worker processes (``serve`` with worker processes). A
        queue kind this process ``handled`` (it runs that loop) stays in the process: it drains
        what it queued itself."""
        return cls(
            **{
                kind: asyncio.Event()
                if kind in handled and kind in wakebus.QUEUES
                else wakebus.RelayedEvent(kind, relay)
                for kind in wakebus.KINDS
            }
        )


@dataclass(frozen=True)
class Writers:
    """The group-commit writers: every caller's row joins the next transaction."""

    messages: Batcher[PendingSend]
    callbacks: Batcher[dict[str, Any]]


@dataclass(frozen=True)
class Repositories:
    """One per aggregate (being introduced one at a time; the other services still hold SQL)."""

    messages: MessageRepository
    keys: KeyRepository
    users: UserRepository
    tenants: TenantRepository
    numbers: NumberRepository
    analytics: AnalyticsRepository
    webhooks: WebhookRepository
    templates: TemplateRepository
    inbox: InboxRepository
    system: SystemRepository
    conversations: ConversationRepository
    projects: ProjectRepository
    remote_pairing: RemotePairingRepository
    media: MediaRepository


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    providers: ProviderRegistry
    metrics: Metrics
    wake: Wakeups
    key_cache: KeyCache
    # Sending numbers with their plan, for the accept path (same TTL as keys).
    number_cache: TtlCache[Any]
    # Templates by (number, reference), for the accept path (same TTL as keys: a verdict
    # recorded by another process reaches this one's sends within it; this process's own
    # template changes clear it at once).
    template_cache: TtlCache[Any]
    # Groups and channels listed by the provider, per number (settings.directory_cache_seconds).
    directory_cache: TtlCache[Any]
    # Provider callback secrets, decrypted once (same TTL as keys).
    callback_secrets: CallbackSecrets
    # Group-commit writers (accepted sends, received callbacks).
    writers: Writers
    repos: Repositories
    box: SecretBox | None = None
    worker_id: str = field(default_factory=lambda: "w_" + secrets.token_hex(6))
    relay: wakebus.Relay | notify.NotifyRelay | None = None
    listener: wakebus.Listener | notify.NotifyListener | None = None

    @property
    def secrets(self) -> SecretBox:
        if self.box is None:
            raise RuntimeError("container not started: call container.start()")
        return self.box

    async def start(self) -> None:
        """Resolve the encryption key (needs the database, so it cannot happen in build)."""
        key = self.settings.secret_key.get_secret_value()
        if not key:
            key = await self.repos.system.development_secret()
        self.box = SecretBox(key)
        if not self.settings.run_workers or self.listener is not None:
            return
        if self.settings.wake_dir:
            listener = wakebus.Listener(
                self.settings.wake_dir, wakebus.events_of(self.wake), kinds=_handled(self.settings)
            )
            listener.start()
            if isinstance(self.relay, wakebus.Relay):
                self.relay.exclude(listener.path)
            self.listener = listener
        elif isinstance(self.relay, notify.NotifyRelay):
            self.listener = notify.NotifyListener(
                self.settings.database_url,
                wakebus.events_of(self.wake),
                sender=self.relay.sender,
                kinds=_handled(self.settings),
            )
            self.listener.start()

    async def close(self) -> None:
        if isinstance(self.listener, notify.NotifyListener):
            await self.listener.aclose()
        elif self.listener is not None:
            self.listener.close()
        if isinstance(self.relay, notify.NotifyRelay):
            await self.relay.aclose()
        elif self.relay is not None:
            self.relay.close()
        for batcher in (self.writers.messages, self.writers.callbacks):
            await batcher.close()
        await self.providers.aclose()
        await self.db.dispose()


def _handled(settings: Settings) -> frozenset[str]:
    """The wake-up kinds this process's loops listen for (none without workers)."""
    return worker_process.wakes_of(settings.worker_loops) if settings.run_workers else frozenset()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    relay: wakebus.Relay | notify.NotifyRelay | None = None
    if settings.wake_dir:
        relay = wakebus.Relay(settings.wake_dir)
    elif settings.wake_notify and settings.database_url.startswith("postgresql"):
        relay = notify.NotifyRelay(settings.database_url)
    # The composition root imports the use-cases whose batch writes it wires (here, not at the
    # top: they import this module for its types).
    from zapgate.services import sending
    from zapgate.services.inbox import receive

    clock = clock or SystemClock()
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    return Container(
        relay=relay,
        settings=settings,
        db=db,
        clock=clock,
        providers=build_registry(settings),
        metrics=Metrics(),
        wake=(Wakeups() if relay is None else Wakeups.relayed(relay, handled=_handled(settings))),
        key_cache=KeyCache(settings.key_cache_seconds, clock=clock),
        number_cache=TtlCache(settings.key_cache_seconds, clock=clock),
        template_cache=TtlCache(settings.key_cache_seconds, clock=clock),
        directory_cache=TtlCache(settings.directory_cache_seconds, clock=clock, limit=10_000),
        callback_secrets=CallbackSecrets(settings.key_cache_seconds),
        writers=Writers(
            messages=Batcher(db, sending.write_batch, priority=True),
            callbacks=Batcher(db, receive.write_batch, priority=True),
        ),
        repos=Repositories(
            messages=MessageRepository(db),
            keys=KeyRepository(db),
            users=UserRepository(db),
            tenants=TenantRepository(db),
            numbers=NumberRepository(db),
            analytics=AnalyticsRepository(db),
            webhooks=WebhookRepository(db),
            templates=TemplateRepository(db),
            inbox=InboxRepository(db),
            system=SystemRepository(db),
            conversations=ConversationRepository(db),
            projects=ProjectRepository(db),
            remote_pairing=RemotePairingRepository(db),
            media=MediaRepository(db),
        ),
    )
