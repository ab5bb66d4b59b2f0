"""X-Hub-Signature-256: HMAC-SHA256 of the raw body under the app secret."""

from __future__ import annotations

import pytest

from zapgate.providers.meta import signature

RAW = '{"object":"whatsapp_business_account","entry":[{"id":"1","x":"Olá 👍"}]}'.encode()


def test_sign_matches_a_known_vector() -> None:
    # The widely published HMAC-SHA256 example ("key", "The quick brown fox ...").
    assert signature.sign("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_verify_accepts_the_signature_of_the_exact_bytes() -> None:
    header = signature.sign("app-secret", RAW)
    assert signature.verify(["app-secret"], RAW, header)
    assert signature.verify(["app-secret"], RAW, header.upper().replace("SHA256=", "sha256="))


def test_verify_accepts_any_of_several_secrets() -> None:
    header = signature.sign("new-secret", RAW)
    assert signature.verify(["old-secret", "new-secret"], RAW, header)


@pytest.mark.parametrize(
    ("secrets", "raw", "header"),
    [
        (["app-secret"], RAW + b" ", signature.sign("app-secret", RAW)),  # body changed
        (["other"], RAW, signature.sign("app-secret", RAW)),  # wrong secret
        (["app-secret"], RAW, signature.sign("app-secret", RAW)[7:]),  # no prefix
        (["app-secret"], RAW, "sha1=" + signature.sign("app-secret", RAW)[7:]),
        (["app-secret"], RAW, None),
        (["app-secret"], RAW, ""),
        ([], RAW, signature.sign("app-secret", RAW)),
        ([""], RAW, signature.sign("", RAW)),  # empty secret
    ],
    ids=[
        "body-changed",
        "wrong-secret",
        "no-prefix",
        "sha1",
        "missing",
        "empty",
        "no-secrets",
        "empty-secret",
    ],
)
def test_verify_rejects(secrets: list[str], raw: bytes, header: str | None) -> None:
    assert not signature.verify(secrets, raw, header)
