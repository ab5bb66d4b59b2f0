"""Provider kinds by name (a kind is code; a number row is a configured instance of one)."""

from __future__ import annotations

from zapgate.providers.base import Provider
from zapgate.providers.sandbox.adapter import SandboxProvider
from zapgate.settings import Settings

KINDS = ("sandbox",)


class ProviderRegistry:
    def __init__(self, providers: dict[str, Provider]) -> None:
        self._providers = providers

    def get(self, kind: str) -> Provider:
        try:
            return self._providers[kind]
        except KeyError:
            raise KeyError(f"unknown provider kind {kind!r}") from None

    def kinds(self) -> list[str]:
        return sorted(self._providers)


def build_registry(settings: Settings) -> ProviderRegistry:
    sandbox = SandboxProvider(
        send_latency=settings.sandbox_send_latency,
        delivered_after=settings.sandbox_delivered_after,
        read_after=settings.sandbox_read_after,
        pace_per_second=settings.sandbox_pace_per_second,
        max_in_flight=settings.sandbox_max_in_flight,
    )
    return ProviderRegistry({"sandbox": sandbox})
