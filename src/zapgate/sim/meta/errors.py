"""Graph API errors of the Meta simulator: the code table (HTTP status, title, default details)
and the two shapes an error takes on the wire: the synchronous ``{"error": {...}}`` envelope and
the ``errors[]`` item of a ``failed`` status webhook (providers.md A.5)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (HTTP status, title, default details)
ERROR_TABLE: dict[int, tuple[int, str, str]] = {
    0: (401, "AuthException", "We were unable to authenticate the app user."),
    1: (400, "API Unknown", "Invalid request or possible server error."),
    2: (503, "API Service", "Temporary due to downtime or due to being overloaded."),
    3: (500, "API Method", "Capability or permissions issue."),
    4: (400, "API Too Many Calls", "The app has reached its API call rate limit."),
    10: (403, "Permission Denied", "Permission is either not granted or has been removed."),
    100: (400, "Invalid parameter", "Invalid parameter."),
    190: (401, "Access token has expired", "Your access token has expired."),
    200: (403, "API Permission", "Permission is either not granted or has been removed."),
    368: (
        403,
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account associated with the app has been restricted.",
    ),
    2500: (400, "Unknown path components", "Unknown path components."),
    80007: (400, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    130472: (
        400,
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    130497: (
        403,
        "Business account is restricted from messaging users in this country",
        "The business is restricted from messaging users in this country.",
    ),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131005: (403, "Access denied", "Permission is either not granted or has been removed."),
    131008: (400, "Required parameter is missing", "The request is missing a required parameter."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (503, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131030: (
        400,
        "Recipient phone number not in allowed list",
        "Recipient phone number not in allowed list.",
    ),
    131031: (403, "Business Account locked", "The WhatsApp Business Account has been locked."),
    131042: (400, "Business eligibility payment issue", "There was an error related to your payment method."),
    131045: (
        500,
        "Incorrect certificate",
        "Message failed to send due to a phone number registration error.",
    ),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131048: (
        400,
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number.",
    ),
    131049: (
        400,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: (
        400,
        "Unable to deliver the message. This recipient has chosen to stop receiving "
        "marketing messages on WhatsApp from your business.",
        "The user has stopped marketing messages from this business.",
    ),
    131051: (400, "Unsupported message type", "Message type is currently not supported."),
    131052: (400, "Media download error", "Unable to download the media sent by the user."),
    131053: (400, "Media upload error", "Unable to upload the media used in the message."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time.",
    ),
    131057: (500, "Account in maintenance mode", "Business Account is in maintenance mode."),
    132000: (
        400,
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the number of variables "
        "defined in the template.",
    ),
    132001: (
        404,
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or has not been approved.",
    ),
    132005: (400, "Translated text too long", "Translated text is too long."),
    132007: (
        400,
        "Template Format Character Policy Violated",
        "Template content violates a WhatsApp policy.",
    ),
    132008: (400, "Template Parameter Format Mismatch", "Variable parameter values formatted incorrectly."),
    132012: (
        400,
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: (400, "Template is Paused", "Template is paused due to low quality."),
    132016: (400, "Template is Disabled", "Template has been permanently disabled."),
    132068: (400, "Flow is in blocked state", "Flow is in blocked state."),
    132069: (400, "Flow is in throttled state", "Flow is in throttled state."),
    133016: (
        400,
        "Account register deregister rate limit exceeded",
        "Registration or deregistration failed because there were too many attempts.",
    ),
    135000: (400, "Generic user error", "Message failed to send because of an unknown error."),
}


def describe(code: int) -> tuple[int, str, str]:
    """HTTP status, title and default details of a Meta error code (unknown codes: a 400)."""
    return ERROR_TABLE.get(code, (400, "Simulated error", f"Simulated error {code}."))


def trace_id() -> str:
    return "A" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(22))


@dataclass(eq=False)
class GraphError(Exception):
    """A synchronous Graph error; ``message`` defaults to ``"(#<code>) <title>"``."""

    code: int
    details: str | None = None
    message: str | None = None
    status: int | None = None
    subcode: int | None = None
    error_type: str = "OAuthException"
    user_title: str | None = None
    user_msg: str | None = None
    with_error_data: bool = True

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        return self.message or f"(#{self.code}) {describe(self.code)[1]}"

    def http_status(self) -> int:
        return self.status or describe(self.code)[0]

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.text(), "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_title is not None:
            error["is_transient"] = False
            error["error_user_title"] = self.user_title
            error["error_user_msg"] = self.user_msg or self.user_title
        if self.with_error_data:
            error["error_data"] = {
                "messaging_product": "whatsapp",
                "details": self.details or describe(self.code)[2],
            }
        error["fbtrace_id"] = trace_id()
        return {"error": error}

    def response(self, version: str | None = None) -> JSONResponse:
        body = self.envelope()
        headers = {"x-fb-trace-id": body["error"]["fbtrace_id"]}
        if version:
            headers["facebook-api-version"] = version
        if self.http_status() == 401:
            headers["www-authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{self.text()}"'
        return JSONResponse(body, status_code=self.http_status(), headers=headers)


def invalid(details: str) -> GraphError:
    """Graph-layer parameter error (wrong JSON type, unknown enum value, unexpected key)."""
    return GraphError(100, details)


def missing(details: str) -> GraphError:
    return GraphError(131008, details)


def not_valid(details: str) -> GraphError:
    return GraphError(131009, details)


def bad_token(present: bool) -> GraphError:
    message = (
        "Invalid OAuth access token - Cannot parse access token"
        if present
        else "An active access token must be used to query information about the current user."
    )
    return GraphError(190, message=message, with_error_data=False)


def unknown_object(object_id: str, method: str) -> GraphError:
    verb = {"GET": "get", "DELETE": "delete"}.get(method, "post")
    return GraphError(
        100,
        subcode=33,
        error_type="GraphMethodException",
        with_error_data=False,
        message=(
            f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this "
            "operation. Please read the Graph API documentation at "
            "https://developers.facebook.com/docs/graph-api"
        ),
    )


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """One ``errors[]`` item of a ``failed`` status webhook."""
    _, title, default = describe(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or default},
        "href": ERROR_HREF,
    }
