"""Graph API errors -> our exceptions and errorCodes (pure).

One table, :data:`TABLE`, says for each Meta error code whether a send may be retried and which
errorCode the message ends with. It serves three callers:

* :func:`send_error` — a synchronous error answer to a send (HTTP status + Graph body);
* :func:`failed_status` — an asynchronous ``failed`` status (``statuses[].errors[0]``);
* :func:`management_error` — an error answer to a number-management call (template submit,
  number lookup), which the API shows to its caller rather than to a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from zapgate import errors

TEMPORARY = "temporary"
PERMANENT = "permanent"
AUTH = "auth"

# Meta's advice for 131056 is to wait 4^X seconds; X is the attempt number here, capped.
PAIR_BACKOFF_BASE = 4.0
PAIR_BACKOFF_CAP = 600.0


@dataclass(frozen=True)
class Rule:
    kind: str  # temporary | permanent | auth
    code: str  # our errorCode (for temporary ones: the code once attempts run out)


TABLE: dict[int, Rule] = {
    0: Rule(AUTH, "PROVIDER_AUTH_FAILED"),
    190: Rule(AUTH, "PROVIDER_AUTH_FAILED"),
    1: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    2: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    4: Rule(TEMPORARY, "META_RATE_LIMITED"),
    80007: Rule(TEMPORARY, "META_RATE_LIMITED"),
    130429: Rule(TEMPORARY, "META_RATE_LIMITED"),
    131056: Rule(TEMPORARY, "META_PAIR_RATE_LIMITED"),
    131000: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    131016: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    131057: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    133016: Rule(TEMPORARY, "DELIVERY_TIMEOUT"),
    131047: Rule(PERMANENT, "META_OUTSIDE_24H_WINDOW"),
    131026: Rule(PERMANENT, "WHATSAPP_NOT_EXIST"),
    131048: Rule(PERMANENT, "META_SPAM_RATE_LIMITED"),
    132000: Rule(PERMANENT, "META_TEMPLATE_PARAMS_MISMATCH"),
    132012: Rule(PERMANENT, "META_TEMPLATE_PARAMS_MISMATCH"),
    132001: Rule(PERMANENT, "META_TEMPLATE_NOT_FOUND"),
    132015: Rule(PERMANENT, "META_TEMPLATE_NOT_APPROVED"),
    132016: Rule(PERMANENT, "META_TEMPLATE_NOT_APPROVED"),
    131053: Rule(PERMANENT, "MEDIA_DOWNLOAD_FAILED"),
    131051: Rule(PERMANENT, "MEDIA_UNSUPPORTED"),
}
UNKNOWN = Rule(PERMANENT, "PROVIDER_REJECTED")
UNKNOWN_TRANSIENT = Rule(TEMPORARY, "DELIVERY_TIMEOUT")

# 131053 is worth retrying when Meta could not fetch our link because the host was busy.
_BUSY_MEDIA_HOST = re.compile(r"http code (429|5\d\d)\b")
_TITLE_PREFIX = re.compile(r"^\(#\d+\)\s*")


@dataclass(frozen=True)
class GraphError:
    """The parts of a Graph error object we use (``{"error": {...}}`` or a status error)."""

    code: int | None
    title: str
    details: str
    transient: bool = False

    @classmethod
    def parse(cls, error: Any) -> GraphError:
        if not isinstance(error, dict):
            return cls(code=None, title="", details="")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        title = error.get("title") or error.get("message") or ""
        return cls(
            code=_int(error.get("code")),
            title=_TITLE_PREFIX.sub("", str(title)),
            details=str(details or ""),
            transient=error.get("is_transient") is True,
        )

    def describe(self) -> str:
        text = " - ".join(part for part in (self.title, self.details) if part) or "no details"
        return f"Meta error {self.code}: {text}" if self.code is not None else text


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def rule_for(error: GraphError, *, http_status: int | None = None) -> Rule:
    rule = TABLE.get(error.code) if error.code is not None else None
    if rule is not None:
        if error.code == 131053 and _BUSY_MEDIA_HOST.search(error.details):
            return Rule(TEMPORARY, rule.code)
        return rule
    if error.transient or (http_status is not None and http_status >= 500):
        return UNKNOWN_TRANSIENT
    if http_status == 429:
        return Rule(TEMPORARY, "META_RATE_LIMITED")
    if http_status == 401 and error.code is None:
        return TABLE[190]
    return UNKNOWN


def pair_backoff(attempt: int) -> float:
    return min(PAIR_BACKOFF_BASE ** max(attempt, 1), PAIR_BACKOFF_CAP)


def _retry_after(error: GraphError, attempt: int) -> float | None:
    return pair_backoff(attempt) if error.code == 131056 else None


# -- sends -----------------------------------------------------------------------------------


def _answer(http_status: int, body: Any) -> tuple[GraphError, Rule, str]:
    """A non-2xx answer's Graph error, the rule for it and the message to show."""
    error = GraphError.parse(body.get("error") if isinstance(body, dict) else None)
    rule = rule_for(error, http_status=http_status)
    message = (
        error.describe() if error.code is not None or error.title else f"Meta answered HTTP {http_status}"
    )
    return error, rule, message


def send_error(http_status: int, body: Any, *, attempt: int = 1) -> errors.ProviderError:
    """The exception for a non-2xx answer to a send (or to the upload / mark-read before it)."""
    error, rule, message = _answer(http_status, body)
    if rule.kind == AUTH:
        return errors.ProviderAuthError(message)
    if rule.kind == TEMPORARY:
        return errors.ProviderTemporaryError(
            message, code=rule.code, retry_after=_retry_after(error, attempt)
        )
    return errors.ProviderPermanentError(message, code=rule.code)


def transport_error(exc: Exception) -> errors.ProviderTemporaryError:
    """Timeouts and connection failures on a send: try again later."""
    return errors.ProviderTemporaryError(f"Meta Graph API unreachable ({type(exc).__name__})")


def failed_status(error: Any, *, attempt: int = 1) -> tuple[str, bool, float | None, str]:
    """An asynchronous ``failed`` status's first error -> ``(our_code, retryable,
    retry_after, detail)``."""
    parsed = GraphError.parse(error)
    rule = rule_for(parsed)
    retryable = rule.kind == TEMPORARY
    retry_after = _retry_after(parsed, attempt) if retryable else None
    detail = parsed.describe() if parsed.code is not None else "Meta reported the message failed"
    return rule.code, retryable, retry_after, detail


# -- number management -----------------------------------------------------------------------


def management_error(http_status: int, body: Any) -> errors.ZapgateError | errors.ProviderAuthError:
    """A non-2xx answer to a template submit or number lookup, for the API caller."""
    _, rule, message = _answer(http_status, body)
    if rule.kind == AUTH:
        return errors.ProviderAuthError(message)
    if rule.kind == TEMPORARY:
        return errors.Unavailable(message, code="UPSTREAM_ERROR")
    return errors.ValidationFailed(message, code="VALIDATION_ERROR")


def management_transport_error(exc: Exception) -> errors.Unavailable:
    return errors.Unavailable(f"Meta Graph API unreachable ({type(exc).__name__})", code="UPSTREAM_TIMEOUT")
