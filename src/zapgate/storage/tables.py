"""The schema, one place for SQLite and PostgreSQL.

Times are epoch milliseconds (BigInteger): portable across both engines, cheap to compare and
index, converted to ISO-8601 only at the API edge.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Ms = sa.BigInteger

system_kv = sa.Table(
    "system_kv",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan", sa.String(16), nullable=False, server_default="FREE"),
    # None = unlimited (PAID default); FREE workspaces get 200 per calendar month.
    sa.Column("monthly_message_limit", sa.Integer, nullable=True),
    sa.Column("max_numbers", sa.Integer, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="owner"),
    sa.Column("created_at", Ms, nullable=False),
)

numbers = sa.Table(
    "numbers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("number", sa.String(20), nullable=False),  # bare digits
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("official", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("state", sa.String(16), nullable=False, server_default="OPEN"),
    sa.Column("health", sa.String(24), nullable=False, server_default="OK"),
    sa.Column("settings", sa.JSON, nullable=False),
    # Messages per second; None = the provider's default.
    sa.Column("pace_per_second", sa.Float, nullable=True),
    sa.Column("pii_mode", sa.String(20), nullable=False, server_default="STORE_INDEFINITE"),
    sa.Column("pii_retention_days", sa.Integer, nullable=True),
    sa.Column("credentials_enc", sa.Text, nullable=True),
    # The provider's key for routing callbacks: Meta phone_number_id, Evolution instance name.
    sa.Column("provider_ref", sa.String(128), nullable=True),
    sa.Column("health_reason", sa.Text, nullable=True),
    sa.Column("profile_name", sa.String(200), nullable=True),
    # Last link state reported by the provider (callbacks or a live status check).
    sa.Column("state_checked_at", Ms, nullable=True),
    sa.Column("connected_at", Ms, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("deleted_at", Ms, nullable=True),
    # The optional second linked device (``upgrade-to-dual``): its instance name, sealed
    # credentials and link state; None while the number has one link.
    sa.Column("secondary_ref", sa.String(128), nullable=True),
    sa.Column("secondary_credentials_enc", sa.Text, nullable=True),
    sa.Column("secondary_state", sa.String(16), nullable=True),
    sa.Column("secondary_connected_at", Ms, nullable=True),
    sa.Index("ix_numbers_workspace", "workspace_id"),
    sa.Index("ix_numbers_provider_ref", "provider", "provider_ref"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=True),
    sa.Column("scope", sa.String(8), nullable=False),  # "tenant" | "number"
    sa.Column("name", sa.String(100), nullable=False, server_default="Default"),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(8), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=False, server_default="90"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("revoked_at", Ms, nullable=True),
    sa.Column("last_used_at", Ms, nullable=True),
    sa.Index("ix_api_keys_number", "number_id"),
    sa.Index("ix_api_keys_workspace", "workspace_id"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("contact", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("last_inbound_at", Ms, nullable=True),
    sa.Column("last_inbound_provider_id", sa.String(128), nullable=True),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    # The current version's content (denormalised for sends; every version is in
    # template_versions).
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("source", sa.String(16), nullable=False, server_default="PILOT_STATUS"),
    # None on numbers without approval rules; APPROVED | PENDING | REJECTED | PAUSED | DISABLED.
    sa.Column("meta_status", sa.String(16), nullable=True),
    sa.Column("provider_template_id", sa.String(64), nullable=True),
    sa.Column("approve_at", Ms, nullable=True),
    sa.Column("rejection_reason", sa.Text, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("deleted_at", Ms, nullable=True),
    sa.Index("ix_templates_number_name", "number_id", "name"),
)

template_versions = sa.Table(
    "template_versions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("template_id", sa.ForeignKey("templates.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("meta_status", sa.String(16), nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.UniqueConstraint("template_id", "version"),
)

# Written as the partial index says it, literally (SQLite matches a partial index's predicate
# only to the same terms in a query).
UNREDACTED = "redacted_at IS NULL AND status <> 'QUEUED'"
# Predicates of the history's partial indexes; the queries write them literally.
INBOUND_UNREAD = "read_at IS NULL"
GROUP_CHAT = "chat_kind = 'group'"
GROUP_SEND = "destination_kind = 'group'"

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("correlation_id", sa.String(40), nullable=False, unique=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False, server_default="API"),
    sa.Column("mode", sa.String(12), nullable=False),  # template | text | media | list | ...
    # The contact: E.164 phone, BSUID, group or newsletter JID. Per-contact order keys on it.
    sa.Column("destination", sa.String(80), nullable=False),
    sa.Column("destination_kind", sa.String(12), nullable=False),  # phone | group | newsletter
    sa.Column("template_name", sa.String(512), nullable=True),
    sa.Column("template_version", sa.Integer, nullable=True),
    sa.Column("content", sa.Text, nullable=True),  # text or caption, for events and the log
    sa.Column("message_type", sa.String(12), nullable=False, server_default="text"),
    sa.Column("payload", sa.JSON, nullable=False),  # what the provider adapter needs
    sa.Column("request", sa.JSON, nullable=True),  # the accepted request body (dashboard)
    sa.Column("labels", sa.JSON, nullable=True),
    sa.Column("mark_read", sa.Boolean, nullable=True),
    sa.Column("deliver_at", Ms, nullable=False),
    sa.Column("deliver_until", Ms, nullable=True),
    # Queue bookkeeping: due time, claim lease and attempts.
    sa.Column("next_attempt_at", Ms, nullable=False),
    sa.Column("lease_until", Ms, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_attempt_at", Ms, nullable=True),
    sa.Column("provider_message_id", sa.String(128), nullable=True),
    sa.Column("sent_at", Ms, nullable=True),
    sa.Column("delivered_at", Ms, nullable=True),
    sa.Column("read_at", Ms, nullable=True),
    sa.Column("failed_at", Ms, nullable=True),
    sa.Column("canceled_at", Ms, nullable=True),
    sa.Column("error_code", sa.String(48), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("meta_pricing", sa.JSON, nullable=True),
    sa.Column("flow_token", sa.String(64), nullable=True),
    # When the number's PII policy removed content, payload, request (services/redaction.py).
    sa.Column("redacted_at", Ms, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # Due messages of one number (sweeps and counts).
    sa.Index("ix_messages_queue", "number_id", "status", "next_attempt_at"),
    # The dispatcher's claim (migration 0006): a number's queue in order, and the contacts
    # with a message in flight or waiting for a retry. Partial, so neither grows with the
    # history; the claim writes these predicates literally, as a planner needs to match them.
    sa.Index(
        "ix_messages_due",
        "number_id",
        "deliver_at",
        "id",
        sqlite_where=sa.text("status = 'QUEUED'"),
        postgresql_where=sa.text("status = 'QUEUED'"),
    ),
    sa.Index(
        "ix_messages_attempted",
        "number_id",
        "destination",
        sqlite_where=sa.text("status = 'QUEUED' AND attempts > 0"),
        postgresql_where=sa.text("status = 'QUEUED' AND attempts > 0"),
    ),
    sa.Index("ix_messages_provider_id", "provider_message_id"),
    sa.Index("ix_messages_number_created", "number_id", "created_at"),
    # Group conversations in the history (migration 0008): only group sends are in it.
    sa.Index(
        "ix_messages_group",
        "number_id",
        "created_at",
        "id",
        postgresql_where=sa.text(GROUP_SEND),
        sqlite_where=sa.text(GROUP_SEND),
    ),
    sa.Index("ix_messages_workspace_created", "workspace_id", "created_at"),
    # Deadline sweeps.
    sa.Index("ix_messages_status_until", "status", "deliver_until", "deliver_at"),
    # PII redaction sweeps: a number's rows not redacted yet and out of the queue, oldest
    # first (the queue, however long, is not in it: it is not redacted until sent).
    sa.Index(
        "ix_messages_unredacted",
        "number_id",
        "created_at",
        postgresql_where=sa.text(UNREDACTED),
        sqlite_where=sa.text(UNREDACTED),
    ),
)

# Labels of a message, one row each, so the log can filter by label with an index.
message_labels = sa.Table(
    "message_labels",
    metadata,
    sa.Column("message_id", sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("label", sa.String(64), primary_key=True),
    sa.Column("number_id", sa.String(40), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Index("ix_message_labels_lookup", "number_id", "label", "created_at"),
)

message_events = sa.Table(
    "message_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("at", Ms, nullable=False),
    sa.Column("source", sa.String(12), nullable=False),  # api | provider | sweeper | dispatcher
    sa.Column("applied", sa.Boolean, nullable=False),  # false: duplicate or stale receipt
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_message_events_message", "message_id", "id"),
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sender", sa.String(80), nullable=False),
    sa.Column("sender_name", sa.String(200), nullable=True),
    sa.Column("message_type", sa.String(12), nullable=False, server_default="text"),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("provider_message_id", sa.String(128), nullable=True),
    sa.Column("quoted_message_id", sa.String(128), nullable=True),
    sa.Column("chat_kind", sa.String(12), nullable=False, server_default="phone"),
    sa.Column("chat_id", sa.String(128), nullable=True),
    sa.Column("reply_id", sa.String(256), nullable=True),
    sa.Column("media", sa.JSON, nullable=True),
    sa.Column("provider_timestamp", Ms, nullable=False),
    sa.Column("read_at", Ms, nullable=True),
    # When text, sender name and media were removed (or never stored) by the PII policy.
    sa.Column("redacted_at", Ms, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Index("ix_inbound_number_created", "number_id", "created_at"),
    # Conversation history (migration 0008): a number's timeline by provider time, its unread
    # messages and its group conversations, without reading the rest of its history.
    sa.Index("ix_inbound_number_time", "number_id", "provider_timestamp", "id"),
    sa.Index(
        "ix_inbound_unread",
        "number_id",
        "provider_timestamp",
        "id",
        postgresql_where=sa.text(INBOUND_UNREAD),
        sqlite_where=sa.text(INBOUND_UNREAD),
    ),
    sa.Index(
        "ix_inbound_group",
        "number_id",
        "created_at",
        "id",
        postgresql_where=sa.text(GROUP_CHAT),
        sqlite_where=sa.text(GROUP_CHAT),
    ),
    sa.Index("ix_inbound_number_redacted", "number_id", "redacted_at", "created_at"),
    # A provider callback delivered twice stores one inbound message.
    sa.Index("uq_inbound_provider_id", "number_id", "provider_message_id", unique=True),
)

# Projects: a workspace's named groupings (migration 0008).
projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", Ms, nullable=False),
    sa.UniqueConstraint("workspace_id", "slug", name="uq_projects_workspace_slug"),
)

# The provider inbox: every receipt and inbound event is a row before it is applied. Sandbox
# receipts are rows with a future due_at, so they survive a restart like real callbacks do.
provider_events = sa.Table(
    "provider_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number_id", sa.String(40), nullable=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),  # status | inbound | connection | raw
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("due_at", Ms, nullable=False),
    sa.Column("lease_until", Ms, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("processed_at", Ms, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    # The number whose lease holder applies the event, so that one worker writes a number's
    # messages (NULL: any worker, e.g. a Meta callback naming several numbers).
    sa.Column("shard", sa.String(40), nullable=True),
    sa.Index("ix_provider_events_due", "processed_at", "due_at"),
    # The inbox's claim: the due head of the unapplied events in order, whatever the backlog.
    sa.Index(
        "ix_provider_events_unapplied",
        "due_at",
        "id",
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    ),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("secret_enc", sa.Text, nullable=False),
    sa.Column("previous_secret_enc", sa.Text, nullable=True),
    sa.Column("previous_secret_until", Ms, nullable=True),
    sa.Column("disabled_reason", sa.String(64), nullable=True),
    sa.Column("failing_since", Ms, nullable=True),
    sa.Column("last_triggered_at", Ms, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_webhook_endpoints_number", "number_id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("endpoint_id", sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # exact bytes signed and sent, stable on retry
    # Events sharing an order key (one message) are delivered one after another, by seq.
    sa.Column("order_key", sa.String(40), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # PENDING | SUCCESS | FAILED
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Ms, nullable=False),
    sa.Column("lease_until", Ms, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # True while an earlier delivery of the same chain (endpoint, order key) is PENDING: the
    # sender only claims unblocked ones, and finishing a delivery unblocks its chain's next.
    sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
    # What is still to deliver (the backlog gauge, the next retry to wake up for).
    sa.Index(
        "ix_webhook_deliveries_pending",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'PENDING'"),
        sqlite_where=sa.text("status = 'PENDING'"),
    ),
    sa.Index("ix_webhook_deliveries_order", "endpoint_id", "order_key", "seq"),
    # The claim: due heads in order, whatever the size of the backlog behind them.
    sa.Index(
        "ix_webhook_deliveries_ready",
        "next_attempt_at",
        "id",
        postgresql_where=sa.text("status = 'PENDING' AND NOT blocked"),
        sqlite_where=sa.text("status = 'PENDING' AND NOT blocked"),
    ),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("endpoint_id", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("response_excerpt", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("number_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # IN_PROGRESS | DONE
    sa.Column("locked_until", Ms, nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Index("ix_idempotency_expires", "expires_at"),
)

number_leases = sa.Table(
    "number_leases",
    metadata,
    sa.Column("number_id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("lease_until", Ms, nullable=False),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("heartbeat_at", Ms, nullable=False),
    sa.Column("started_at", Ms, nullable=False),
)

# Dashboard sign-ins. The cookie carries a random token; only its digest is stored.
user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 hex of the cookie token
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("last_seen_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Index("ix_user_sessions_user", "user_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace_id", sa.String(40), nullable=True),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
)

# Remote pairing links (issue 12): the token is shown once; only its SHA-256 digest is stored.
remote_pairing_links = sa.Table(
    "remote_pairing_links",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("workspace_id", sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    sa.Column("redirect_url", sa.String(2048), nullable=True),
    sa.Column("external_ref", sa.String(200), nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("used_at", Ms, nullable=True),
    sa.Index("ix_remote_pairing_links_number", "number_id"),
)

# Inbound media Zapgate keeps itself for ``GET /v1/media/{id}`` (services/media.py): the bytes a
# provider handed over with the message (Evolution GO's webhook base64, the sandbox), or the link
# it gave instead (Evolution GO with S3/MinIO), or neither when the media was larger than
# ``media_max_bytes`` (the download answers 413). Keyed by the number and the ``mediaId`` of the
# webhook; removed with the number's inbound content by its PII mode (services/redaction.py).
inbound_media = sa.Table(
    "inbound_media",
    metadata,
    sa.Column("number_id", sa.ForeignKey("numbers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("media_id", sa.String(128), primary_key=True),
    sa.Column("mime_type", sa.String(255), nullable=True),
    sa.Column("file_name", sa.String(255), nullable=True),
    # Raw bytes, not base64 text: a quarter smaller, and the base64 is checked once, at intake.
    sa.Column("content", sa.LargeBinary, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("created_at", Ms, nullable=False),
    # PII sweeps: a number's media by age (STORE_X_DAYS), or all of them (RELAY_ONLY).
    sa.Index("ix_inbound_media_number_created", "number_id", "created_at"),
)
