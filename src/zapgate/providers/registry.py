"""Provider kinds by name (a kind is code; a number row is a configured instance of one)."""

from __future__ import annotations

import contextlib

from pydantic import SecretStr

from zapgate.providers.base import (
    Directory,
    Features,
    MediaSource,
    Provider,
    ProviderKind,
    Provisioner,
    TemplateSubmitter,
)
from zapgate.providers.evolution_go.adapter import EvolutionGoProvider
from zapgate.providers.evolution_v2.adapter import EvolutionV2Provider
from zapgate.providers.meta.adapter import MetaProvider
from zapgate.providers.sandbox.adapter import SandboxProvider
from zapgate.settings import Settings


class UnknownKind(KeyError):
    """A kind no adapter implements (a number row from a newer version, say)."""


class ProviderRegistry:
    """The adapters by kind, and the optional roles each plays (given explicitly at build
    time, so nothing is discovered with ``hasattr``)."""

    def __init__(
        self,
        providers: dict[ProviderKind, Provider],
        *,
        provisioners: dict[ProviderKind, Provisioner] | None = None,
        submitters: dict[ProviderKind, TemplateSubmitter] | None = None,
        directories: dict[ProviderKind, Directory] | None = None,
        media_sources: dict[ProviderKind, MediaSource] | None = None,
        media_link_sources: dict[ProviderKind, MediaSource] | None = None,
    ) -> None:
        self._providers = providers
        self._provisioners = provisioners or {}
        self._submitters = submitters or {}
        self._directories = directories or {}
        self._media_sources = media_sources or {}
        self._media_link_sources = media_link_sources or {}

    def get(self, kind: str) -> Provider:
        try:
            return self._providers[ProviderKind(kind)]
        except (KeyError, ValueError):
            raise UnknownKind(f"unknown provider kind {kind!r}") from None

    def features(self, kind: str) -> Features:
        return self.get(kind).features

    def provisioner(self, kind: str) -> Provisioner | None:
        """The adapter as a :class:`Provisioner` when numbers of ``kind`` are paired by QR."""
        return self._provisioners.get(ProviderKind(kind))

    def template_submitter(self, kind: str) -> TemplateSubmitter | None:
        return self._submitters.get(ProviderKind(kind))

    def directory(self, kind: str) -> Directory | None:
        """The adapter as a :class:`Directory` (groups, channels, number checks), if it is one."""
        return self._directories.get(ProviderKind(kind))

    def media_source(self, kind: str) -> MediaSource | None:
        """The adapter as a :class:`MediaSource` (inbound media on demand), if it is one."""
        return self._media_sources.get(ProviderKind(kind))

    def media_link_source(self, kind: str) -> MediaSource | None:
        """The adapter as a :class:`MediaSource` that reads an inbound media from the link its
        webhook carried (Evolution GO with S3/MinIO: it has no download by id). Its
        ``media_id`` is that link, as Zapgate kept it at intake: a role of its own, so that a
        customer's ``mediaId`` never reaches it (it would fetch any URL)."""
        return self._media_link_sources.get(ProviderKind(kind))

    def kinds(self) -> list[ProviderKind]:
        return sorted(self._providers)

    def by_callback_path(self, path: str) -> Provider | None:
        """The kind whose callbacks arrive on ``/webhooks/<path>``."""
        for provider in self._providers.values():
            if provider.features.callback_path and provider.features.callback_path == path:
                return provider
        return None

    async def aclose(self) -> None:
        for provider in self._providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()


def _secret(value: SecretStr | None) -> str | None:
    raw = value.get_secret_value() if value is not None else ""
    return raw or None


def build_registry(settings: Settings) -> ProviderRegistry:
    sandbox = SandboxProvider(
        send_latency=settings.sandbox_send_latency,
        delivered_after=settings.sandbox_delivered_after,
        read_after=settings.sandbox_read_after,
        pace_per_second=settings.sandbox_pace_per_second,
        max_in_flight=settings.sandbox_max_in_flight,
    )
    timeout = settings.provider_timeout_seconds
    source = str(settings.provider_source_address) if settings.provider_source_address is not None else None
    meta = MetaProvider(
        graph_url=settings.meta_graph_url,
        timeout=timeout,
        source_address=source,
        app_secret=settings.meta_app_secret.get_secret_value(),
        verify_token=settings.meta_verify_token.get_secret_value(),
    )
    evolution_v2 = EvolutionV2Provider(
        base_url=settings.evolution_url,
        api_key=_secret(settings.evolution_api_key),
        timeout=max(timeout, 30.0),
        pace_per_second=settings.evolution_pace_per_second,
        pace_jitter=settings.evolution_pace_jitter,
        source_address=source,
    )
    evolution_go = EvolutionGoProvider(
        base_url=settings.evolution_go_url,
        api_key=_secret(settings.evolution_go_api_key),
        timeout=max(timeout, 30.0),
        pace_per_second=settings.evolution_pace_per_second,
        pace_jitter=settings.evolution_pace_jitter,
        source_address=source,
    )
    return ProviderRegistry(
        {
            ProviderKind.SANDBOX: sandbox,
            ProviderKind.META: meta,
            ProviderKind.EVOLUTION_V2: evolution_v2,
            ProviderKind.EVOLUTION_GO: evolution_go,
        },
        provisioners={ProviderKind.EVOLUTION_V2: evolution_v2, ProviderKind.EVOLUTION_GO: evolution_go},
        submitters={ProviderKind.META: meta},
        directories={
            ProviderKind.SANDBOX: sandbox,
            ProviderKind.EVOLUTION_V2: evolution_v2,
            ProviderKind.EVOLUTION_GO: evolution_go,
        },
        media_sources={ProviderKind.META: meta, ProviderKind.EVOLUTION_V2: evolution_v2},
        media_link_sources={ProviderKind.EVOLUTION_GO: evolution_go},
    )
