"""Conversation history in MySQL/MariaDB through SQLAlchemy Core (works on SQLAlchemy 1.4 from
Debian and 2.x from PyPI)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from .config import ConfigError, Settings

T = TypeVar("T")

metadata = sa.MetaData()
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    mysql_charset="utf8mb4",
)
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id",
        sa.Integer,
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(length=16_000_000), nullable=False),
    sa.Column("replica", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    mysql_charset="utf8mb4",
)
# Columns added after the first release: (table, column, DDL type). Old databases get them at start.
MIGRATIONS = [("messages", "replica", "VARCHAR(255) NULL")]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)  # noqa: UP017


def engine_url(s: Settings) -> str | URL:
    if s.database_url:
        return s.database_url
    if s.db_password is None:
        raise ConfigError(
            "no database password: set DB_PASSWORD_FILE to a secret file "
            "(or DB_PASSWORD, or DATABASE_URL)"
        )
    return URL.create(
        "mysql+pymysql",
        username=s.db_user,
        password=s.db_password,
        host=s.db_host,
        port=s.db_port,
        database=s.db_name,
        query={"charset": "utf8mb4"},
    )


class Store:
    def __init__(self, settings: Settings):
        self.engine: Engine = sa.create_engine(
            engine_url(settings),
            pool_pre_ping=True,
            pool_recycle=1800,
            hide_parameters=True,  # errors are logged: never with the users' messages in them
            connect_args={"connect_timeout": 3} if not settings.database_url else {},
        )
        self.retry_seconds = settings.db_retry_seconds
        self._ready = False
        self._lock = threading.Lock()

    def patiently(self, call: Callable[..., T], *args, seconds: float | None = None) -> T:
        """`call(*args)`, tried again while the database cannot be reached (a restarting db Pod
        refuses connections for a while) for up to `seconds` (`retry_seconds`), then its error."""
        deadline = time.monotonic() + (self.retry_seconds if seconds is None else seconds)
        delay = 0.25
        while True:
            try:
                return call(*args)
            except sa.exc.OperationalError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2)

    def ensure_schema(self) -> None:
        """Create the tables, or add columns a newer release needs; done once per process."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            metadata.create_all(self.engine)
            inspector = sa.inspect(self.engine)
            with self.engine.begin() as conn:
                for table, column, ddl in MIGRATIONS:
                    names = {c["name"] for c in inspector.get_columns(table)}
                    if column not in names:
                        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
            self._ready = True

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        self.ensure_schema()

    def create_conversation(self, title: str) -> int:
        self.ensure_schema()
        with self.engine.begin() as conn:
            t = now()
            result = conn.execute(
                conversations.insert().values(title=title[:200], created_at=t, updated_at=t)
            )
            return int(result.inserted_primary_key[0])

    def conversation_exists(self, conversation_id: int) -> bool:
        self.ensure_schema()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(conversations.c.id).where(conversations.c.id == conversation_id)
            ).first()
            return row is not None

    def add_message(
        self, conversation_id: int, role: str, content: str, replica: str | None = None
    ) -> int:
        self.ensure_schema()
        with self.engine.begin() as conn:
            t = now()
            result = conn.execute(
                messages.insert().values(
                    conversation_id=conversation_id,
                    role=role,
                    content=content,
                    replica=replica,
                    created_at=t,
                )
            )
            conn.execute(
                conversations.update()
                .where(conversations.c.id == conversation_id)
                .values(updated_at=t)
            )
            return int(result.inserted_primary_key[0])

    def history(self, conversation_id: int, limit: int = 20) -> list[dict]:
        """The last `limit` messages, oldest first (context for OpenAI-style backends)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(messages.c.role, messages.c.content)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.id.desc())
                .limit(limit)
            ).all()
        return [{"role": r.role, "content": r.content} for r in reversed(rows)]

    def list_conversations(self) -> list[dict]:
        self.ensure_schema()
        count = sa.func.count(messages.c.id).label("message_count")
        query = (
            sa.select(conversations, count)
            .select_from(conversations.outerjoin(messages))
            .group_by(conversations.c.id)
            .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
        )
        with self.engine.connect() as conn:
            return [_conversation_json(r._mapping) for r in conn.execute(query)]

    def get_conversation(self, conversation_id: int) -> dict | None:
        self.ensure_schema()
        with self.engine.connect() as conn:
            conv = conn.execute(
                sa.select(conversations).where(conversations.c.id == conversation_id)
            ).first()
            if conv is None:
                return None
            rows = conn.execute(
                sa.select(messages)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.id)
            ).all()
        out = _conversation_json(conv._mapping)
        out["messages"] = [
            {
                "id": r.id,
                "role": r.role,
                "content": r.content,
                "replica": r.replica,
                "created_at": r.created_at.isoformat() + "Z",
            }
            for r in rows
        ]
        out["message_count"] = len(rows)
        return out


def _conversation_json(row) -> dict:
    out = {
        "id": row["id"],
        "title": row["title"],
        "created_at": row["created_at"].isoformat() + "Z",
        "updated_at": row["updated_at"].isoformat() + "Z",
    }
    if "message_count" in row:
        out["message_count"] = int(row["message_count"])
    return out
