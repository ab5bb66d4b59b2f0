"""Dashboard users and their sessions: credentials, adding a user, a new password, sessions
(start, find, slide, end). Passwords arrive hashed; tokens arrive as their digest."""

from __future__ import annotations

import sqlalchemy as sa

from zapgate.domain.users import AddUserRefusal, Credentials, NewSession, NewUser, StoredSession
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_u, _us, _w = t.users.c, t.user_sessions.c, t.workspaces.c


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def credentials(self, email: str) -> Credentials | None:
        """The user with this (normalized) email and their password hash; None when unknown."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(_u.id, _u.password_hash).where(_u.email == email))).first()
        return None if row is None else Credentials(user_id=str(row.id), password_hash=row.password_hash)

    async def add(self, user: NewUser) -> AddUserRefusal | None:
        """Add the user to their workspace; what refused it (nothing written), or None."""
        async with self._db.write() as conn:
            if (await conn.execute(sa.select(_w.id).where(_w.id == user.workspace_id))).first() is None:
                return "workspace_not_found"
            if (await conn.execute(sa.select(_u.id).where(_u.email == user.email))).first() is not None:
                return "email_taken"
            await conn.execute(
                sa.insert(t.users).values(
                    id=user.id,
                    workspace_id=user.workspace_id,
                    email=user.email,
                    password_hash=user.password_hash,
                    role=user.role,
                    created_at=user.created_at,
                )
            )
        return None

    async def set_password(self, email: str, password_hash: str) -> bool:
        """A new password hash for the user with this (normalized) email, and all their sessions
        ended; False when there is no such user."""
        async with self._db.write() as conn:
            user_id = (await conn.execute(sa.select(_u.id).where(_u.email == email))).scalar()
            if user_id is None:
                return False
            await conn.execute(sa.update(t.users).where(_u.id == user_id).values(password_hash=password_hash))
            await conn.execute(sa.delete(t.user_sessions).where(_us.user_id == user_id))
        return True

    async def start_session(self, session: NewSession) -> None:
        """Store the session (in the user's workspace) and drop the user's expired ones."""
        async with self._db.write() as conn:
            workspace_id = (
                await conn.execute(sa.select(_u.workspace_id).where(_u.id == session.user_id))
            ).scalar_one()
            await conn.execute(
                sa.insert(t.user_sessions).values(
                    id=session.token_digest,
                    user_id=session.user_id,
                    workspace_id=workspace_id,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    last_seen_at=session.last_seen_at,
                    expires_at=session.expires_at,
                )
            )
            await conn.execute(
                sa.delete(t.user_sessions).where(
                    _us.user_id == session.user_id, _us.expires_at < session.created_at
                )
            )

    async def session(self, token_digest: str) -> StoredSession | None:
        query = (
            sa.select(
                _us.id,
                _us.user_id,
                _us.csrf_token,
                _us.created_at,
                _us.expires_at,
                _us.last_seen_at,
                _u.email,
                _us.workspace_id,
                _w.name.label("workspace_name"),
            )
            .join(t.users, _u.id == _us.user_id)
            .join(t.workspaces, _w.id == _us.workspace_id)
            .where(_us.id == token_digest)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoredSession(
            token_digest=row.id,
            user_id=row.user_id,
            email=row.email,
            workspace_id=row.workspace_id,
            workspace_name=row.workspace_name,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )

    async def touch_session(self, token_digest: str, *, last_seen_at: int, expires_at: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                sa.update(t.user_sessions)
                .where(_us.id == token_digest)
                .values(last_seen_at=last_seen_at, expires_at=expires_at)
            )

    async def end_session(self, token_digest: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(sa.delete(t.user_sessions).where(_us.id == token_digest))
