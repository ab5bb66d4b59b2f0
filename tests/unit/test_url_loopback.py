"""Loopback-only webhook targets (``allow_loopback``, on by default in development) and the
refusal naming the setting that allows local targets."""

from __future__ import annotations

import pytest

from zapgate import errors
from zapgate.domain import urls
from zapgate.settings import Settings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9999/hook",
        "http://127.8.9.1/hook",
        "http://127.1/hook",
        "http://localhost:8080/hook",
        "http://LOCALHOST./hook",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_loopback_targets_pass_when_loopback_is_allowed(url: str) -> None:
    assert urls.check_target(url, allow_private=False, allow_loopback=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest",
        "http://[fc00::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://api.localhost/hook",
        "http://printer.local/hook",
        "http://intranet/hook",
        "http://[::ffff:10.0.0.1]/hook",
    ],
)
def test_loopback_allowance_lets_nothing_else_private_through(url: str) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        urls.check_target(url, allow_private=False, allow_loopback=True)
    assert info.value.code == "WEBHOOK_URL_NOT_ALLOWED"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://10.0.0.7/hook"])
def test_refusal_names_the_setting_that_allows_it(url: str) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        urls.check_target(url, allow_private=False)
    assert "ZAPGATE_ALLOW_PRIVATE_URLS" in info.value.message


@pytest.mark.parametrize(
    ("environment", "loopback"), [("development", True), ("test", False), ("production", False)]
)
def test_loopback_targets_are_allowed_by_default_in_development_only(
    environment: str, loopback: bool
) -> None:
    settings = Settings(environment=environment, secret_key="s" * 40, _env_file=None)
    assert settings.allow_loopback_urls is loopback
    assert settings.allow_private_urls is False
    assert (
        Settings(environment="development", allow_loopback_urls=False, _env_file=None).allow_loopback_urls
        is False
    )
