"""Prometheus metrics, one registry per container (no module-level singletons)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sends_accepted = Counter(
            "zapgate_sends_accepted_total",
            "Messages accepted by POST /v1/messages/send",
            ["mode"],
            registry=r,
        )
        self.send_rejected = Counter(
            "zapgate_sends_rejected_total", "Send requests refused, by error code", ["code"], registry=r
        )
        self.transitions = Counter(
            "zapgate_message_transitions_total", "Message status transitions", ["status"], registry=r
        )
        self.provider_calls = Histogram(
            "zapgate_provider_send_seconds", "Latency of provider send calls", ["provider"], registry=r
        )
        self.provider_errors = Counter(
            "zapgate_provider_errors_total", "Provider errors by code", ["provider", "code"], registry=r
        )
        self.webhook_attempts = Counter(
            "zapgate_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"], registry=r
        )
        self.webhook_latency = Histogram(
            "zapgate_webhook_attempt_seconds", "Webhook delivery attempt latency", registry=r
        )
        self.queue_depth = Gauge(
            "zapgate_queue_depth", "Messages by status (sampled)", ["status"], registry=r
        )
        self.oldest_queued_age = Gauge(
            "zapgate_oldest_queued_age_seconds", "Age of the oldest due QUEUED message", registry=r
        )
        self.webhook_backlog = Gauge(
            "zapgate_webhook_backlog", "Pending webhook deliveries (sampled)", registry=r
        )
        self.status_lag = Histogram(
            "zapgate_status_lag_seconds",
            "Time from accept to each status",
            ["status"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=r,
        )
        self._accepted_by_mode: dict[str, Counter] = {}
        self.numbers_owned = Gauge(
            "zapgate_numbers_leased", "Numbers whose queue this process owns", registry=r
        )

    def accepted(self, mode: str) -> Counter:
        """The accepted-sends counter of one mode (label lookups are costly on the hot path)."""
        child = self._accepted_by_mode.get(mode)
        if child is None:
            child = self._accepted_by_mode[mode] = self.sends_accepted.labels(mode)
        return child
