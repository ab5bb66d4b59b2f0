"""Signing in and out, sessions, CSRF and the rate limit on failed sign-ins.

The session's idle timeout and the sign-in lockout window run on a server with a fake clock
(``start_server(clock=FakeClock())``): the test moves time past the limit instead of sleeping, so
each is checked just before and just after it, on any machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.dashboard.conftest import Browser
from zapgate.clock import FakeClock
from zapgate.testing import ServerThread

PAGES = ["/", "/numbers", "/api-keys", "/templates", "/messages", "/webhooks", "/send"]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_login(
    server: ServerThread, path: str, browser_for: Callable[..., Browser]
) -> None:
    response = browser_for(server).http.get(path + "?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F") + "%3Fx%3D1"


def test_sign_in_sets_a_protected_cookie_and_returns_to_the_page(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[..., Browser]
) -> None:
    browser = browser_for(server)
    response = browser.login(tenant["email"], tenant["password"], next_url="/messages")
    assert response.status_code == 303 and response.headers["location"] == "/messages"
    cookie = response.headers["set-cookie"]
    assert "zapgate_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https adds it
    page = browser.page("/")
    assert page.status_code == 200 and tenant["email"] in page.text


def test_open_redirects_are_refused(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[..., Browser]
) -> None:
    response = browser_for(server).login(tenant["email"], tenant["password"], next_url="//evil.example/x")
    assert response.headers["location"] == "/"


def test_wrong_password_and_rate_limit(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[..., Browser]
) -> None:
    browser = browser_for(server)
    for _ in range(5):
        wrong = browser.login(tenant["email"], "not-the-password")
        assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    blocked = browser.login(tenant["email"], tenant["password"])
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert "zapgate_session" not in blocked.headers.get("set-cookie", "")


def test_the_sign_in_lockout_ends_with_its_window(
    start_server: Callable[..., ServerThread],
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[..., Browser],
) -> None:
    clock = FakeClock()
    server = start_server(clock=clock, run_workers=False)  # the default window: 300 s
    tenant = make_tenant()
    browser = browser_for(server)
    for _ in range(5):
        assert browser.login(tenant["email"], "not-the-password").status_code == 401
    clock.advance(299)
    blocked = browser.login(tenant["email"], tenant["password"])
    assert blocked.status_code == 429 and "Try again in 2 s." in blocked.text
    clock.advance(1.001)  # the failures left the window
    response = browser.login(tenant["email"], tenant["password"])
    assert response.status_code == 303 and "zapgate_session=" in response.headers["set-cookie"]


def test_login_form_needs_its_csrf_token(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[..., Browser]
) -> None:
    browser = browser_for(server)
    response = browser.http.post("/login", data={"email": tenant["email"], "password": tenant["password"]})
    assert response.status_code == 403
    assert "zapgate_session" not in response.headers.get("set-cookie", "")


def test_state_changing_requests_need_the_session_csrf_token(signed_in: Browser) -> None:
    refused = signed_in.post("/logout", csrf=False)
    assert refused.status_code == 403 and "security token" in refused.text
    forged = signed_in.http.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert signed_in.page("/").status_code == 200  # still signed in


def test_sign_out_ends_the_session_everywhere(signed_in: Browser) -> None:
    cookie = signed_in.http.cookies.get("zapgate_session")
    out = signed_in.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    signed_in.http.cookies.set("zapgate_session", cookie)  # a copied cookie is dead too
    assert signed_in.http.get("/").status_code == 303


def test_idle_sessions_expire(
    start_server: Callable[..., ServerThread],
    make_tenant: Callable[..., dict[str, Any]],
    browser_for: Callable[..., Browser],
) -> None:
    clock = FakeClock()
    server = start_server(clock=clock, run_workers=False, dashboard_session_idle_minutes=0.02)  # 1.2 s
    tenant = make_tenant()
    browser = browser_for(server)
    browser.login(tenant["email"], tenant["password"])
    assert browser.http.get("/").status_code == 200
    clock.advance(1.199)
    assert browser.http.get("/").status_code == 200
    clock.advance(0.001)
    assert browser.http.get("/").status_code == 303
