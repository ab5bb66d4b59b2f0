"""Dashboard users and their sign-in sessions as records (pure). Password hashes never appear
in a record's repr; raw session tokens never appear in a record at all (only their digest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id

# Why a new user was not added (``UserRepository.add``).
AddUserRefusal = Literal["workspace_not_found", "email_taken"]


@dataclass(frozen=True)
class NewUser:
    """A person to add to a workspace; the email is already normalized (stripped, lower case)."""

    id: str
    workspace_id: str
    email: str
    password_hash: str = field(repr=False)
    role: str
    created_at: int


@dataclass(frozen=True)
class Credentials:
    """What signing in checks a password against."""

    user_id: str
    password_hash: str = field(repr=False)


@dataclass(frozen=True)
class NewSession:
    """A sign-in session to store (the workspace is the user's)."""

    token_digest: str
    user_id: str
    csrf_token: str
    created_at: int
    last_seen_at: int
    expires_at: int


@dataclass(frozen=True)
class StoredSession:
    """A session as stored, with its user's email and its workspace's name."""

    token_digest: str
    user_id: str
    email: str
    workspace_id: str
    workspace_name: str
    csrf_token: str
    created_at: int
    last_seen_at: int
    expires_at: int


@dataclass(frozen=True)
class DashSession:
    """A live dashboard session (its idle expiry already pushed forward)."""

    token_digest: str
    user_id: str
    email: str
    workspace_id: str
    workspace_name: str
    csrf_token: str
    expires_at: int


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sliding_expiry(session: StoredSession, *, now: int, idle_ms: int, max_ms: int) -> int | None:
    """The session's new expiry when it is used at ``now``: ``idle_ms`` from now, but never past
    ``max_ms`` after it started; None when it has expired."""
    if session.expires_at <= now:
        return None
    expires = min(now + idle_ms, session.created_at + max_ms)
    return None if expires <= now else expires
