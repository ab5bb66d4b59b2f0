"""The one exception tree of Zapgate.

    ZapgateError(code, message, extra)          -- every error a caller can see
    ├── ValidationFailed        400  bad input (VALIDATION_ERROR, MISSING_TEMPLATE_VARIABLES, ...)
    ├── Unauthorized            401  missing, unknown or revoked key
    ├── PaymentRequired         402  plan gates (SUBSCRIPTION_REQUIRED_FOR_MEDIA, PLAN_LIMIT_REACHED)
    ├── Forbidden               403  scope errors (TENANT_SCOPE_NOT_ALLOWED, ...)
    ├── NotFound                404  unknown resource in the caller's scope
    ├── Conflict                409  state conflicts (IDEMPOTENCY_KEY_REUSED, TEMPLATE_NOT_APPROVED)
    ├── PayloadTooLarge         413
    ├── RateLimited             429  carries retry_after
    └── Unavailable             503  upstream / provider not reachable
    ProviderError                    raised by provider adapters only, never shown to API callers
    ├── ProviderTemporaryError       retry with backoff (honours retry_after)
    ├── ProviderPermanentError       the message fails with ``code``
    └── ProviderAuthError            credentials rejected: fail and mark the number unhealthy

HTTP statuses are mapped from these classes in ``zapgate.web.errors`` and nowhere else.
"""

from __future__ import annotations

from typing import Any


class ZapgateError(Exception):
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}


class ValidationFailed(ZapgateError):
    code = "VALIDATION_ERROR"


class Unauthorized(ZapgateError):
    code = "UNAUTHORIZED"


class PaymentRequired(ZapgateError):
    code = "PAYMENT_REQUIRED"


class Forbidden(ZapgateError):
    code = "FORBIDDEN"


class NotFound(ZapgateError):
    code = "NOT_FOUND"


class Conflict(ZapgateError):
    code = "CONFLICT"


class PayloadTooLarge(ZapgateError):
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(ZapgateError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, retryAfterSeconds=retry_after)
        self.retry_after = retry_after


class NotSupported(ZapgateError):
    """A Pilot Status feature Zapgate does not implement (501)."""

    code = "NOT_SUPPORTED"


class Unavailable(ZapgateError):
    code = "UNAVAILABLE"


class ProviderError(Exception):
    """Base of the errors provider adapters raise; translated at each adapter's edge."""

    def __init__(self, message: str, *, code: str = "PROVIDER_REJECTED") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ProviderTemporaryError(ProviderError):
    """Try again later. ``code`` is the errorCode the message ends with if it runs out of
    attempts; ``health`` (e.g. ``LICENSE_REQUIRED``, ``DISCONNECTED``) marks the number's
    health when the cause is the number rather than this message."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str = "DELIVERY_TIMEOUT",
        health: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.health = health


class ProviderPermanentError(ProviderError):
    pass


class ProviderAuthError(ProviderPermanentError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="PROVIDER_AUTH_FAILED")
