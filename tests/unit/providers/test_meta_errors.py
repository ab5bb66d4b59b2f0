"""The Meta error table, row by row: synchronous answers, async failed statuses, management."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from zapgate import errors
from zapgate.providers.meta import errortable


def graph(code: int | None, title: str = "Title", details: str = "Details", **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "fbtrace_id": "Axyz",
        **extra,
    }
    if code is not None:
        error["code"] = code
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


T, P, A = errors.ProviderTemporaryError, errors.ProviderPermanentError, errors.ProviderAuthError

# (Meta code, HTTP status, exception class, our code)
ROWS: list[tuple[int, int, type[errors.ProviderError], str]] = [
    (0, 401, A, "PROVIDER_AUTH_FAILED"),
    (190, 401, A, "PROVIDER_AUTH_FAILED"),
    (1, 400, T, "DELIVERY_TIMEOUT"),
    (2, 503, T, "DELIVERY_TIMEOUT"),
    (4, 400, T, "META_RATE_LIMITED"),
    (80007, 400, T, "META_RATE_LIMITED"),
    (130429, 400, T, "META_RATE_LIMITED"),
    (131056, 400, T, "META_PAIR_RATE_LIMITED"),
    (131000, 500, T, "DELIVERY_TIMEOUT"),
    (131016, 503, T, "DELIVERY_TIMEOUT"),
    (131057, 500, T, "DELIVERY_TIMEOUT"),
    (133016, 400, T, "DELIVERY_TIMEOUT"),
    (131047, 400, P, "META_OUTSIDE_24H_WINDOW"),
    (131026, 400, P, "WHATSAPP_NOT_EXIST"),
    (131048, 400, P, "META_SPAM_RATE_LIMITED"),
    (132000, 400, P, "META_TEMPLATE_PARAMS_MISMATCH"),
    (132012, 400, P, "META_TEMPLATE_PARAMS_MISMATCH"),
    (132001, 404, P, "META_TEMPLATE_NOT_FOUND"),
    (132015, 400, P, "META_TEMPLATE_NOT_APPROVED"),
    (132016, 400, P, "META_TEMPLATE_NOT_APPROVED"),
    (131053, 400, P, "MEDIA_DOWNLOAD_FAILED"),
    (131051, 400, P, "MEDIA_UNSUPPORTED"),
    (100, 400, P, "PROVIDER_REJECTED"),
    (131009, 400, P, "PROVIDER_REJECTED"),
    (368, 403, P, "PROVIDER_REJECTED"),
    (131049, 400, P, "PROVIDER_REJECTED"),
]


@pytest.mark.parametrize(("code", "status", "cls", "ours"), ROWS, ids=[str(r[0]) for r in ROWS])
def test_send_error_row(code: int, status: int, cls: type[errors.ProviderError], ours: str) -> None:
    exc = errortable.send_error(status, graph(code, "Some title", "Some details"))
    assert type(exc) is cls
    assert exc.code == ours
    assert exc.message == f"Meta error {code}: Some title - Some details"


@pytest.mark.parametrize(("code", "status", "cls", "ours"), ROWS, ids=[str(r[0]) for r in ROWS])
def test_failed_status_row(code: int, status: int, cls: type[errors.ProviderError], ours: str) -> None:
    error = {
        "code": code,
        "title": "Some title",
        "message": "Some title",
        "error_data": {"details": "Some details"},
    }
    our_code, retryable, retry_after, detail = errortable.failed_status(error)
    assert our_code == ours
    assert retryable is (cls is T)
    assert (retry_after is not None) is (code == 131056)
    assert detail == f"Meta error {code}: Some title - Some details"


@pytest.mark.parametrize(
    ("status", "body", "cls", "ours"),
    [
        (500, None, T, "DELIVERY_TIMEOUT"),
        (502, {"error": {"message": "Bad gateway"}}, T, "DELIVERY_TIMEOUT"),
        (503, graph(999999), T, "DELIVERY_TIMEOUT"),
        (400, graph(999999, is_transient=True), T, "DELIVERY_TIMEOUT"),
        (429, None, T, "META_RATE_LIMITED"),
        (401, None, A, "PROVIDER_AUTH_FAILED"),
        (400, None, P, "PROVIDER_REJECTED"),
        (400, "not json", P, "PROVIDER_REJECTED"),
        (400, graph(999999), P, "PROVIDER_REJECTED"),
        # A known code wins over the HTTP status.
        (500, graph(131047), P, "META_OUTSIDE_24H_WINDOW"),
        (400, graph("131026"), P, "WHATSAPP_NOT_EXIST"),  # type: ignore[arg-type]
    ],
    ids=[
        "500-empty",
        "502-no-code",
        "503-unknown",
        "transient-flag",
        "429",
        "401-empty",
        "400-empty",
        "400-text",
        "400-unknown",
        "known-beats-5xx",
        "code-as-string",
    ],
)
def test_send_error_without_a_table_row(
    status: int, body: Any, cls: type[errors.ProviderError], ours: str
) -> None:
    exc = errortable.send_error(status, body)
    assert type(exc) is cls
    assert exc.code == ours


def test_unknown_code_keeps_meta_code_and_text_in_message() -> None:
    exc = errortable.send_error(400, graph(135000, "Generic user error", ""))
    assert exc.message == "Meta error 135000: Generic user error"


def test_message_without_body_names_the_http_status() -> None:
    assert errortable.send_error(400, None).message == "Meta answered HTTP 400"


def test_token_error_text_is_kept_but_has_no_token() -> None:
    body = {
        "error": {
            "message": "Error validating access token: Session has expired",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
        }
    }
    exc = errortable.send_error(401, body)
    assert isinstance(exc, errors.ProviderAuthError)
    assert exc.message == "Meta error 190: Error validating access token: Session has expired"


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 4.0), (2, 16.0), (3, 64.0), (4, 256.0), (5, 600.0), (9, 600.0), (0, 4.0)]
)
def test_pair_rate_limit_backs_off_by_powers_of_four_capped(attempt: int, expected: float) -> None:
    exc = errortable.send_error(400, graph(131056), attempt=attempt)
    assert isinstance(exc, errors.ProviderTemporaryError)
    assert exc.retry_after == expected


def test_other_temporary_errors_leave_the_delay_to_the_dispatcher() -> None:
    exc = errortable.send_error(400, graph(130429))
    assert isinstance(exc, errors.ProviderTemporaryError)
    assert exc.retry_after is None


@pytest.mark.parametrize(
    ("details", "retryable"),
    [
        ("Downloading media from weblink failed with http code 429, status message Too Many Requests", True),
        ("Downloading media from weblink failed with http code 503", True),
        ("Downloading media from weblink failed with http code 404, status message Not Found", False),
        ("Media file is too large", False),
    ],
)
def test_media_download_is_retried_only_when_the_host_was_busy(details: str, retryable: bool) -> None:
    exc = errortable.send_error(400, graph(131053, "Media upload error", details))
    assert isinstance(exc, errors.ProviderTemporaryError) is retryable
    assert exc.code == "MEDIA_DOWNLOAD_FAILED"
    assert errortable.failed_status({"code": 131053, "error_data": {"details": details}})[1] is retryable


@pytest.mark.parametrize("error", [None, {}, "x", {"code": None}, {"code": True}])
def test_failed_status_without_a_usable_error(error: Any) -> None:
    assert errortable.failed_status(error) == (
        "PROVIDER_REJECTED",
        False,
        None,
        "Meta reported the message failed",
    )


def test_transport_errors_are_temporary() -> None:
    exc = errortable.transport_error(httpx.ConnectTimeout("boom"))
    assert isinstance(exc, errors.ProviderTemporaryError)
    assert exc.code == "DELIVERY_TIMEOUT"
    assert "ConnectTimeout" in exc.message


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (401, graph(190), errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
        (400, graph(100, "Invalid parameter"), errors.ValidationFailed, "VALIDATION_ERROR"),
        (400, graph(80007), errors.Unavailable, "UPSTREAM_ERROR"),
        (500, None, errors.Unavailable, "UPSTREAM_ERROR"),
    ],
)
def test_management_errors(status: int, body: Any, cls: type[Exception], code: str) -> None:
    exc = errortable.management_error(status, body)
    assert type(exc) is cls
    assert exc.code == code


def test_management_transport_error_is_an_upstream_timeout() -> None:
    exc = errortable.management_transport_error(httpx.ReadTimeout("slow"))
    assert (type(exc), exc.code) == (errors.Unavailable, "UPSTREAM_TIMEOUT")
