"""Provider kinds by name (a kind is code; a number row is a configured instance of one)."""

from __future__ import annotations

import contextlib
from typing import Any

from zapgate.providers.base import Provider, Provisioner, TemplateSubmitter
from zapgate.providers.evolution_go.adapter import EvolutionGoProvider
from zapgate.providers.evolution_v2.adapter import EvolutionV2Provider
from zapgate.providers.meta.adapter import MetaProvider
from zapgate.providers.sandbox.adapter import SandboxProvider
from zapgate.settings import Settings

KINDS = ("sandbox", "meta", "evolution-v2", "evolution-go")
# Kinds whose numbers are paired by QR code / pairing code (an instance per number).
QR_KINDS = frozenset({"evolution-v2", "evolution-go"})


class ProviderRegistry:
    def __init__(self, providers: dict[str, Provider]) -> None:
        self._providers = providers

    def get(self, kind: str) -> Provider:
        try:
            return self._providers[kind]
        except KeyError:
            raise KeyError(f"unknown provider kind {kind!r}") from None

    def provisioner(self, kind: str) -> Provisioner | None:
        provider: Any = self.get(kind)
        return provider if kind in QR_KINDS else None

    def template_submitter(self, kind: str) -> TemplateSubmitter | None:
        provider: Any = self.get(kind)
        return provider if hasattr(provider, "submit_template") else None

    def kinds(self) -> list[str]:
        return sorted(self._providers)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def _secret(value: Any) -> str | None:
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
    providers: dict[str, Provider] = {
        "sandbox": sandbox,
        "meta": MetaProvider(graph_url=settings.meta_graph_url, timeout=timeout, source_address=source),
        "evolution-v2": EvolutionV2Provider(
            base_url=settings.evolution_url,
            api_key=_secret(settings.evolution_api_key),
            timeout=max(timeout, 30.0),
            pace_per_second=settings.evolution_pace_per_second,
            pace_jitter=settings.evolution_pace_jitter,
            source_address=source,
        ),
        "evolution-go": EvolutionGoProvider(
            base_url=settings.evolution_go_url,
            api_key=_secret(settings.evolution_go_api_key),
            timeout=max(timeout, 30.0),
            pace_per_second=settings.evolution_pace_per_second,
            pace_jitter=settings.evolution_pace_jitter,
            source_address=source,
        ),
    }
    return ProviderRegistry(providers)
