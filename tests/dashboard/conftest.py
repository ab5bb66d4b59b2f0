"""Dashboard tests over HTTP (no browser): a signed-in client per workspace."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from zapgate.testing import ServerThread

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An httpx client that signs in like a person and keeps its cookies."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def login(self, email: str, password: str, *, next_url: str = "") -> httpx.Response:
        page = self.http.get("/login")
        token = CSRF.search(page.text)
        assert token, page.text
        return self.http.post(
            "/login",
            data={"email": email, "password": password, "next": next_url, "csrf_token": token.group(1)},
        )

    def page(self, path: str, **kw: Any) -> httpx.Response:
        response = self.http.get(path, **kw)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            if not self.csrf:
                self.page("/")
            body["csrf_token"] = self.csrf
        return self.http.post(path, data=body, **kw)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser_for() -> Iterator[Callable[[ServerThread], Browser]]:
    made: list[Browser] = []

    def make(server: ServerThread) -> Browser:
        b = Browser(server.url)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def signed_in(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[[ServerThread], Browser]
) -> Browser:
    browser = browser_for(server)
    response = browser.login(tenant["email"], tenant["password"])
    assert response.status_code == 303, response.text
    browser.page("/")
    return browser
