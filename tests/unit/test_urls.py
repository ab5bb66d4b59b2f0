from __future__ import annotations

import ipaddress

import pytest

from zapgate import errors
from zapgate.domain import urls


def refused_code(url: object, *, allow_private: bool = False) -> str:
    with pytest.raises(errors.ValidationFailed) as info:
        urls.check_target(url, allow_private=allow_private)
    return info.value.code


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.acme.com/whatsapp",
        "http://hooks.acme.com:8080/x?token=abc",
        "https://user:pass@hooks.acme.com/x",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://example.com./trailing-dot",
    ],
)
def test_public_urls_are_accepted(url: str) -> None:
    assert urls.check_target(url, allow_private=False) == url


def test_url_is_stripped() -> None:
    assert (
        urls.check_target("  https://hooks.acme.com/x \n", allow_private=False) == "https://hooks.acme.com/x"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://0177.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://255.255.255.255/hook",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://localhost/hook",
        "http://LOCALHOST:8080/hook",
        "http://api.localhost/hook",
        "http://printer.local/hook",
        "http://metadata.google.internal/computeMetadata",
        "http://router.home.arpa/",
        "http://intranet/hook",
        "http://localhost./hook",
    ],
)
def test_local_and_private_targets_are_refused(url: str) -> None:
    assert refused_code(url) == "WEBHOOK_URL_NOT_ALLOWED"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9999/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://intranet/hook",
    ],
)
def test_allow_private_lets_local_targets_through(url: str) -> None:
    assert urls.check_target(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        42,
        "",
        "   ",
        "hooks.acme.com/x",
        "ftp://hooks.acme.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://",
        "https:///path-only",
        "https://hooks.acme.com:99999/",
        "https://hooks.acme.com:abc/",
        "https://hooks.acme.com:0/",
        "https://hooks.acme.com/a b",
        "https://hooks.acme.com/\x00",
        "https://" + "a" * 2050 + ".com/",
    ],
)
def test_malformed_urls_are_validation_errors(url: object) -> None:
    with pytest.raises(errors.ValidationFailed) as info:
        urls.check_target(url, allow_private=True)
    assert info.value.code == "VALIDATION_ERROR"
    assert info.value.extra["details"][0]["field"] == "url"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("hooks.acme.com", None),
        ("abc.de", None),
    ],
)
def test_literal_address_understands_resolver_shorthands(host: str, expected: str | None) -> None:
    found = urls.literal_address(host)
    assert (str(found) if found else None) == expected


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:192.168.0.1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b::7f00:1", False),
        ("ff02::1", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert urls.is_public_address(ipaddress.ip_address(address)) is public


def test_parse_address_handles_scope_ids_and_garbage() -> None:
    assert str(urls.parse_address("fe80::1%lo")) == "fe80::1"
    assert urls.parse_address("not-an-ip") is None


def test_hostname_is_the_default_name() -> None:
    assert urls.hostname("https://Hooks.Acme.com:8443/x") == "hooks.acme.com"
