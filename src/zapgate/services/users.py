"""Dashboard users and their sign-in sessions.

Passwords are argon2id hashes. A session is a random token in an HttpOnly cookie; the database
keeps only its SHA-256 digest, its CSRF token and its expiry (idle timeout, sliding, and an
absolute maximum), so signing out or resetting a password ends it everywhere at once.
"""

from __future__ import annotations

import hashlib
import secrets

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.users import (
    MIN_PASSWORD,
    DashSession,
    NewSession,
    NewUser,
    hash_password,
    password_matches,
    sliding_expiry,
)

# Verifying against this when the email is unknown keeps both answers equally slow.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise errors.ValidationFailed(
            f"The password must have at least {MIN_PASSWORD} characters",
            details=[{"field": "password", "message": f"at least {MIN_PASSWORD} characters"}],
        )


async def authenticate(container: Container, *, email: str, password: str) -> str | None:
    """The user id when the email and password match, else None."""
    found = await container.repos.users.credentials(email.strip().lower())
    matches = password_matches(found.password_hash if found else _DUMMY_HASH, password)
    return found.user_id if found and matches else None


async def start_session(container: Container, *, user_id: str) -> str:
    """A new session for the user; returns the raw cookie token (never stored)."""
    s = container.settings
    now = container.clock.now_ms()
    token = secrets.token_urlsafe(32)
    await container.repos.users.start_session(
        NewSession(
            token_digest=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + int(s.dashboard_session_idle_minutes * 60_000),
        )
    )
    return token


async def resolve(container: Container, token: str | None) -> DashSession | None:
    """The live session of a cookie token, its idle expiry pushed forward (sliding) but never
    past the absolute maximum."""
    if not token:
        return None
    s = container.settings
    now = container.clock.now_ms()
    stored = await container.repos.users.session(_digest(token))
    if stored is None:
        return None
    expires = sliding_expiry(
        stored,
        now=now,
        idle_ms=int(s.dashboard_session_idle_minutes * 60_000),
        max_ms=int(s.dashboard_session_max_hours * 3_600_000),
    )
    if expires is None:
        return None
    if now - stored.last_seen_at > 60_000:  # write at most once a minute per session
        await container.repos.users.touch_session(stored.token_digest, last_seen_at=now, expires_at=expires)
    return DashSession(
        token_digest=stored.token_digest,
        user_id=stored.user_id,
        email=stored.email,
        workspace_id=stored.workspace_id,
        workspace_name=stored.workspace_name,
        csrf_token=stored.csrf_token,
        expires_at=expires,
    )


async def end_session(container: Container, token: str | None) -> None:
    if not token:
        return
    await container.repos.users.end_session(_digest(token))


async def create_user(
    container: Container, *, workspace_id: str, email: str, password: str | None = None
) -> tuple[str, str]:
    """Another person for a workspace (``zapgate admin create-user``): (email, password)."""
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    email = email.strip().lower()
    if "@" not in email:
        raise errors.ValidationFailed("A valid email is required")
    refused = await container.repos.users.add(
        NewUser(
            id=ids.new_id("usr"),
            workspace_id=workspace_id,
            email=email,
            password_hash=hash_password(password),
            role="member",
            created_at=container.clock.now_ms(),
        )
    )
    if refused == "workspace_not_found":
        raise errors.NotFound("Workspace not found", code="TENANT_NOT_FOUND")
    if refused == "email_taken":
        raise errors.Conflict(f"A user with email {email} already exists", code="EMAIL_TAKEN")
    return email, password


async def reset_password(container: Container, *, email: str, password: str | None = None) -> str:
    """Set a new password (``zapgate admin reset-password``) and sign the user out everywhere."""
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    if not await container.repos.users.set_password(email.strip().lower(), hash_password(password)):
        raise errors.NotFound(f"No user with email {email}", code="USER_NOT_FOUND")
    return password
