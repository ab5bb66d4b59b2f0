"""``/login`` and ``/logout``."""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate.clock import Clock, SystemClock
from zapgate.services import users
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep

router = core.page_router()


class LoginLimiter:
    """Failed sign-ins per client address and per email in a sliding window (per node), timed
    by the ``clock``'s monotonic reading (the container's clock; a ``FakeClock`` in tests)."""

    def __init__(self, max_failures: int, window_seconds: float, *, clock: Clock | None = None) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock or SystemClock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock.monotonic()
        bucket = self._failures.setdefault(key, deque())
        while bucket and now - bucket[0] > self.window:
            bucket.popleft()
        return bucket

    def blocked(self, *keys: str) -> float:
        """Seconds until a new attempt is allowed (0 when it is)."""
        waits = [
            self.window - (self._clock.monotonic() - b[0])
            for k in keys
            if len(b := self._recent(k)) >= self.max_failures
        ]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(self._clock.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


def _limiter(request: Request, container: Any) -> LoginLimiter:
    limiter = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        s = container.settings
        limiter = request.app.state.login_limiter = LoginLimiter(
            s.dashboard_login_max_failures, s.dashboard_login_window_seconds, clock=container.clock
        )
    return limiter


def _safe_next(value: str | None) -> str:
    """Only a path of this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


LOGIN_CSRF = "zapgate_login_csrf"


def _login_form(request: Request, context: dict[str, Any], *, status: int = 200) -> Response:
    """The sign-in form with a fresh double-submit CSRF token (there is no session yet)."""
    token = secrets.token_urlsafe(24)
    response = core.render(request, "login.html", {**context, "login_csrf": token}, status=status)
    response.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="lax", path="/login", secure=request.url.scheme == "https"
    )
    return response


@router.get("/login")
async def login_page(request: Request, container: ContainerDep) -> Response:
    if await users.resolve(container, request.cookies.get(core.COOKIE)):
        return core.redirect(_safe_next(request.query_params.get("next")))
    return _login_form(request, {"next": request.query_params.get("next", "")})


@router.post("/login")
async def login(request: Request, container: ContainerDep) -> Response:
    form = await core.form_data(request)
    email = form.get("email", "").strip().lower()
    client = request.client.host if request.client else "unknown"
    keys = ("ip:" + client, "email:" + email)
    limiter = _limiter(request, container)
    context: dict[str, Any] = {"email": email, "next": form.get("next", "")}
    expected = request.cookies.get(LOGIN_CSRF, "")
    given = (await request.form()).get("csrf_token")
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        return _login_form(
            request, {**context, "error": "The form expired. Please sign in again."}, status=403
        )
    wait = limiter.blocked(*keys)
    if wait > 0:
        return _login_form(
            request,
            {**context, "error": f"Too many failed sign-ins. Try again in {int(wait) + 1} s."},
            status=429,
        )
    user_id = await users.authenticate(container, email=email, password=form.get("password", ""))
    if user_id is None:
        limiter.failed(*keys)
        return _login_form(request, {**context, "error": "Wrong email or password."}, status=401)
    limiter.succeeded(*keys)
    token = await users.start_session(container, user_id=user_id)
    response = core.redirect(_safe_next(form.get("next")))
    secure = request.url.scheme == "https" or container.settings.public_url.startswith("https://")
    response.set_cookie(
        core.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=int(container.settings.dashboard_session_max_hours * 3600),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, container: ContainerDep, _: core.FormSession) -> Response:
    await users.end_session(container, request.cookies.get(core.COOKIE))
    response = core.redirect("/login")
    response.delete_cookie(core.COOKIE, path="/")
    return response
