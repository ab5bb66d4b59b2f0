"""Structured JSON logs with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_SECRET_PATTERNS = [
    (re.compile(r"ps_[A-Za-z0-9]{8,}"), "ps_***"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"), "whsec_***"),
    (re.compile(r"(?i)(x-api-key(?:-id)?['\"]?\s*[:=]\s*['\"]?)[^'\",\s]+"), r"\1***"),
    (re.compile(r"key_[0-9a-z]{26}"), "key_***"),
]
_SECRET_FIELDS = {
    "key",
    "secret",
    "password",
    "api_key",
    "x-api-key",
    "x-api-key-id",
    "accesstoken",
    "access_token",
    "token",
    "authorization",
}


def redact(text: str) -> str:
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k.lower() in _SECRET_FIELDS else v) for k, v in fields.items()}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(redact_fields(extra))
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return redact(json.dumps(entry, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict) and extra:
            base += " " + " ".join(f"{k}={v}" for k, v in redact_fields(extra).items())
        return redact(base)


# Uvicorn's own loggers. Its default config gives them plain-text handlers of their own, which
# would print tracebacks (secrets and all) past our formatter; run uvicorn with
# ``log_config=None`` and, after ``configure``, they propagate to the root handler.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure(level: str = "INFO", *, json_logs: bool = True) -> None:
    """One stderr handler on the root logger, JSON or text, secrets redacted; every other
    logger (uvicorn's included) goes through it."""
    handler = logging.StreamHandler(sys.stderr)
    text = TextFormatter("%(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if json_logs else text)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})
