"""Typed settings from ``ZAPGATE_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field, IPvAnyAddress, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "zapgate"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZAPGATE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./zapgate.db"
    # PostgreSQL connections per process: this many kept open, as many again opened under load
    # (so at most twice this). On SQLite: read connections (threads), three times this.
    db_pool_size: int = Field(default=10, ge=1, le=500)
    public_url: str = "http://127.0.0.1:8080"
    # How long a remote pairing link (POST /v1/numbers/remote-pairing) stays valid.
    remote_pairing_ttl_seconds: float = Field(default=86400, gt=0)
    secret_key: SecretStr = SecretStr("")
    # Webhook targets on loopback/private addresses; see zapgate.domain.urls. Loopback alone
    # (this machine: 127.0.0.0/8, ::1, localhost) is on by default in development, where the
    # receiver under test usually runs beside Zapgate.
    allow_private_urls: bool = False
    allow_loopback_urls: bool = False
    allow_key_id_auth: bool = True
    log_level: str = "INFO"
    log_json: bool = True

    # Workers run inside ``serve`` unless turned off (``zapgate worker`` runs them alone).
    run_workers: bool = True
    # ``serve`` runs the workers in processes of their own (the API keeps a core to itself):
    # auto = when the machine has more than one core (zapgate.worker_process).
    worker_process: Literal["auto", "on", "off"] = "auto"
    # How many worker processes ``serve`` starts when it runs them apart (0 = auto: 2, which
    # split the loops between them; any other number: each runs them all, sharing the work).
    worker_processes: int = Field(default=0, ge=0)
    # The loops this process runs (comma-separated: dispatcher, inbox, webhooks, sweeper; empty
    # = all). ``serve`` splits them between its two worker processes (zapgate.worker_process).
    worker_loops: str = ""
    # The worker processes' nice increment (0-19): the API gets the CPU first when it is
    # short; the workers' work waits durably in the database.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # Set by ``serve`` for its processes: a folder where each worker process listens for
    # wake-ups on a Unix datagram socket of its own (zapgate.wakebus).
    wake_dir: str = ""
    # On PostgreSQL without a wake folder (nodes on several machines): nudges travel as
    # LISTEN/NOTIFY (zapgate.storage.notify); polling stays the fallback.
    wake_notify: bool = True
    worker_poll_interval: float = Field(default=0.5, gt=0)
    # When several worker processes share the stages (PostgreSQL), each woken stage waits this
    # much longer per other live worker before it claims, so that every worker's batches stay
    # about as full as one worker's would be (bench/scale_out.py). 0: claim at once.
    worker_fleet_wait_seconds: float = Field(default=0.015, ge=0, le=1)
    # How often deadlines, approvals, retention and gauges are swept.
    sweep_interval_seconds: float = Field(default=2.0, gt=0)
    message_lease_seconds: float = Field(default=60.0, gt=0)
    number_lease_seconds: float = Field(default=15.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Webhook requests in flight at once (one endpoint: half of them).
    webhook_concurrency: int = Field(default=64, ge=1)
    # Seconds after the first attempt; decisions.md: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h,
    # 6 h, 12 h, 24 h. Tests shrink it.
    webhook_retry_schedule: list[float] = [5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400]
    webhook_disable_after_seconds: float = 3 * 86400
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    never_attempted_max_age_seconds: float = 7 * 86400
    idempotency_ttl_seconds: float = 86400
    idempotency_lock_seconds: float = 60
    key_cache_seconds: float = 5.0
    # Retention, enforced in batches by the sweeper.
    message_retention_days: float = 90
    webhook_log_retention_days: float = 30
    provider_event_retention_days: float = 7
    # RELAY_ONLY numbers: how long a DELIVERED message keeps its content waiting for READ.
    relay_only_delivered_grace_seconds: float = Field(default=3600, ge=0)
    max_body_bytes: int = 16 * 1024 * 1024
    # Inbound media served by GET /v1/media/{id} (read from the provider up to this size).
    media_max_bytes: int = 16 * 1024 * 1024
    # Groups and channels of a number, as the provider listed them, reused for this long.
    directory_cache_seconds: float = 30.0
    rate_limit_per_second: float = 0  # per key; 0 = off
    rate_limit_burst: int = 100

    # Sandbox provider timings (seconds after the send).
    sandbox_send_latency: float = 0.2
    sandbox_delivered_after: float = 1.0
    sandbox_read_after: float = 2.0
    sandbox_template_approval_seconds: float = 5.0
    sandbox_pace_per_second: float = 50.0
    sandbox_max_in_flight: int = 16

    # Real providers (issue 3). Meta: Graph base URL (the API version is a constant in
    # zapgate.providers.meta), the app secret that signs callbacks (a number may bring its own)
    # and the token Meta's GET verification handshake must present.
    meta_graph_url: str = "https://graph.facebook.com"
    meta_app_secret: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    # Evolution API v2 / Evolution GO servers (one each) and their global API keys.
    evolution_url: str | None = None
    evolution_api_key: SecretStr = SecretStr("")
    evolution_go_url: str | None = None
    evolution_go_api_key: SecretStr = SecretStr("")
    provider_timeout_seconds: float = Field(default=15.0, gt=0)
    # Provider calls leave from this local IP address (a host with several addresses; or one
    # address per worker process, so the provider's side tells the processes apart).
    provider_source_address: IPvAnyAddress | None = None
    # Unofficial numbers get banned when they send like robots: about one message every 1-3 s
    # by default (0.5 msg/s with +-50 % jitter on the gap); per number via PATCH /v1/numbers.
    evolution_pace_per_second: float = Field(default=0.5, gt=0)
    evolution_pace_jitter: float = Field(default=0.5, ge=0, lt=1)
    # Sends re-queued after an asynchronous transient failure (e.g. Meta 131000 in a status).
    async_failure_max_retries: int = Field(default=3, ge=0)

    # Dashboard sign-in: sessions end after this idle time (sliding) and at the latest after
    # the maximum; failed sign-ins are limited per client address and per email.
    dashboard_session_idle_minutes: float = Field(default=120, gt=0)
    dashboard_session_max_hours: float = Field(default=24, gt=0)
    dashboard_login_max_failures: int = Field(default=5, ge=1)
    dashboard_login_window_seconds: float = Field(default=300, gt=0)

    # ``serve`` creates a demo workspace on an empty database and prints its keys and password:
    # on by default in development only (``scripts/run``), never silently in production.
    demo: bool = False

    @model_validator(mode="after")
    def _development_defaults(self) -> Settings:
        if self.environment == "development":
            for name in ("demo", "allow_loopback_urls"):
                if name not in self.model_fields_set:
                    setattr(self, name, True)
        return self

    @model_validator(mode="after")
    def _secret_key_present(self) -> Settings:
        raw = self.secret_key.get_secret_value()
        if self.environment == "production" and (raw in PLACEHOLDER_SECRETS or len(raw) < 32):
            raise ValueError(
                "ZAPGATE_SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def effective_secret(self) -> str:
        """The secret used for encryption at rest; development gets a per-database fallback."""
        return self.secret_key.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def generate_secret() -> str:
    return secrets.token_urlsafe(48)
