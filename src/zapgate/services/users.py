"""Dashboard users and their sign-in sessions.

Passwords are argon2id hashes. A session is a random token in an HttpOnly cookie; the database
keeps only its SHA-256 digest, its CSRF token and its expiry (idle timeout, sliding, and an
absolute maximum), so signing out or resetting a password ends it everywhere at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.storage import tables as t

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10


@dataclass(frozen=True)
class DashSession:
    token_digest: str
    user_id: str
    email: str
    workspace_id: str
    workspace_name: str
    csrf_token: str
    expires_at: int


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
    u = t.users.c
    async with container.db.read() as conn:
        row = (
            await conn.execute(sa.select(u.id, u.password_hash).where(u.email == email.strip().lower()))
        ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return str(row.id) if row else None


async def start_session(container: Container, *, user_id: str) -> str:
    """A new session for the user; returns the raw cookie token (never stored)."""
    s = container.settings
    now = container.clock.now_ms()
    token = secrets.token_urlsafe(32)
    async with container.db.write() as conn:
        workspace_id = (
            await conn.execute(sa.select(t.users.c.workspace_id).where(t.users.c.id == user_id))
        ).scalar_one()
        await conn.execute(
            sa.insert(t.user_sessions).values(
                id=_digest(token),
                user_id=user_id,
                workspace_id=workspace_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + int(s.dashboard_session_idle_minutes * 60_000),
            )
        )
        await conn.execute(
            sa.delete(t.user_sessions).where(
                t.user_sessions.c.user_id == user_id, t.user_sessions.c.expires_at < now
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
    us, u, w = t.user_sessions.c, t.users.c, t.workspaces.c
    async with container.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(
                    us.id,
                    us.user_id,
                    us.csrf_token,
                    us.created_at,
                    us.expires_at,
                    us.last_seen_at,
                    u.email,
                    us.workspace_id,
                    w.name.label("workspace_name"),
                )
                .join(t.users, u.id == us.user_id)
                .join(t.workspaces, w.id == us.workspace_id)
                .where(us.id == _digest(token))
            )
        ).first()
    if row is None or row.expires_at <= now:
        return None
    expires = min(
        now + int(s.dashboard_session_idle_minutes * 60_000),
        row.created_at + int(s.dashboard_session_max_hours * 3_600_000),
    )
    if expires <= now:
        return None
    if now - row.last_seen_at > 60_000:  # write at most once a minute per session
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(t.user_sessions).where(us.id == row.id).values(last_seen_at=now, expires_at=expires)
            )
    return DashSession(
        token_digest=row.id,
        user_id=row.user_id,
        email=row.email,
        workspace_id=row.workspace_id,
        workspace_name=row.workspace_name,
        csrf_token=row.csrf_token,
        expires_at=expires,
    )


async def end_session(container: Container, token: str | None) -> None:
    if not token:
        return
    async with container.db.write() as conn:
        await conn.execute(sa.delete(t.user_sessions).where(t.user_sessions.c.id == _digest(token)))


async def create_user(
    container: Container, *, workspace_id: str, email: str, password: str | None = None
) -> tuple[str, str]:
    """Another person for a workspace (``zapgate admin create-user``): (email, password)."""
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    email = email.strip().lower()
    if "@" not in email:
        raise errors.ValidationFailed("A valid email is required")
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        if (
            await conn.execute(sa.select(t.workspaces.c.id).where(t.workspaces.c.id == workspace_id))
        ).first() is None:
            raise errors.NotFound("Workspace not found", code="TENANT_NOT_FOUND")
        if (await conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email))).first() is not None:
            raise errors.Conflict(f"A user with email {email} already exists", code="EMAIL_TAKEN")
        await conn.execute(
            sa.insert(t.users).values(
                id=ids.new_id("usr"),
                workspace_id=workspace_id,
                email=email,
                password_hash=_hasher.hash(password),
                role="member",
                created_at=now,
            )
        )
    return email, password


async def reset_password(container: Container, *, email: str, password: str | None = None) -> str:
    """Set a new password (``zapgate admin reset-password``) and sign the user out everywhere."""
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    u = t.users.c
    async with container.db.write() as conn:
        user_id = (await conn.execute(sa.select(u.id).where(u.email == email.strip().lower()))).scalar()
        if user_id is None:
            raise errors.NotFound(f"No user with email {email}", code="USER_NOT_FOUND")
        await conn.execute(
            sa.update(t.users).where(u.id == user_id).values(password_hash=_hasher.hash(password))
        )
        await conn.execute(sa.delete(t.user_sessions).where(t.user_sessions.c.user_id == user_id))
    return password
