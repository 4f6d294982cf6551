"""Database models on a ``DatabaseProxy``: SQLite file by default, PostgreSQL via DATABASE_URL.

Code takes a connection explicitly per request and per message (``connection()``). A SQLite file
and ``postgres+pool://`` are pooled: taking a connection is then a check-out from the pool, not a
new connection (opening one costs more than the gateway's whole answer), and the pool is sized
by the service to the threads that use it (``init_database(pool_size=)``), waiting a moment when
it is exhausted rather than failing.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee
from playhouse.db_url import connect, parse
from playhouse.migrate import SchemaMigrator, migrate
from playhouse.pool import PooledDatabase, PooledSqliteDatabase

from shared.syncstate import AUTOMATIC_FROM, SyncState

db = peewee.DatabaseProxy()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTimeField(peewee.DateTimeField):
    """Stores naive UTC, returns aware UTC datetimes (SQLite and PostgreSQL alike)."""

    def db_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return super().db_value(value)  # type: ignore[no-untyped-call]

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)  # type: ignore[no-untyped-call]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class BaseModel(peewee.Model):
    class Meta:
        database = db


class Member(BaseModel):
    """An Open Humans member who joined the project, and their GitHub connection."""

    id = peewee.AutoField()
    oh_member_id = peewee.CharField(unique=True)
    oh_username = peewee.CharField(default="")
    oh_access_token = peewee.TextField(default="")  # encrypted
    oh_refresh_token = peewee.TextField(default="")  # encrypted
    oh_token_expires_at = UtcDateTimeField(null=True)

    github_id = peewee.BigIntegerField(null=True, index=True)
    github_login = peewee.CharField(default="")
    github_token = peewee.TextField(default="")  # encrypted
    github_scopes = peewee.CharField(default="")
    github_created_at = UtcDateTimeField(null=True)

    sync_state = peewee.CharField(default=SyncState.NEW.value, index=True)
    sync_detail = peewee.TextField(default="")
    waiting_until = UtcDateTimeField(null=True)
    weeks_done = peewee.IntegerField(default=0)
    weeks_total = peewee.IntegerField(default=0)
    sync_requested_at = UtcDateTimeField(null=True)
    last_synced_at = UtcDateTimeField(null=True, index=True)
    last_uploaded_at = UtcDateTimeField(null=True)

    # Cache of what the member's Open Humans file holds (the file is the source of truth).
    coverage_first_week = peewee.CharField(default="")
    coverage_last_week = peewee.CharField(default="")
    coverage_last_complete_week = peewee.CharField(default="")
    file_size = peewee.BigIntegerField(default=0)
    # What the file holds, for the dashboard: JSON of shared.fileformat.summary_of().
    file_summary = peewee.TextField(default="")
    # The dashboard's charts and preview: JSON of shared.history.history_of().
    file_history = peewee.TextField(default="")

    created_at = UtcDateTimeField(default=utcnow)
    updated_at = UtcDateTimeField(default=utcnow)

    def save(self, *args: Any, **kwargs: Any) -> Any:
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)

    @property
    def github_connected(self) -> bool:
        return bool(self.github_token)

    @property
    def state(self) -> SyncState:
        """``sync_state`` as the enum (an unknown stored value reads as ERROR)."""
        try:
            return SyncState(self.sync_state)
        except ValueError:
            return SyncState.ERROR


class StagedWeek(BaseModel):
    """One fetched week waiting for the uploader; replaced when the same week is fetched again."""

    id = peewee.AutoField()
    member = peewee.ForeignKeyField(Member, backref="staged_weeks", on_delete="CASCADE")
    week = peewee.CharField()  # "2024-W18"
    data = peewee.TextField()  # JSON of shared.activity.Week
    complete = peewee.BooleanField()
    fetched_at = UtcDateTimeField()

    class Meta:
        indexes = ((("member", "week"), True),)

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.data)
        return result


MODELS = [Member, StagedWeek]


def transition(
    member_id: int,
    to: SyncState,
    *,
    from_states: Iterable[SyncState] | None = None,
    condition: peewee.Expression | None = None,
    **fields: Any,
) -> bool:
    """Move a member to ``to`` (with ``fields``) if their state is one ``to`` may follow.

    ``from_states`` defaults to the automatic steps' table (``shared.syncstate``); member actions
    pass every state; ``condition`` narrows the rows further (the scheduler's "still due").
    One conditional UPDATE, so a concurrent writer can never be overwritten by
    a step the table forbids. Returns whether the member moved.
    """
    allowed = AUTOMATIC_FROM[to] if from_states is None else frozenset(from_states)
    where = (Member.id == member_id) & Member.sync_state.in_([s.value for s in allowed])
    if condition is not None:
        where &= condition
    updated = Member.update(sync_state=to.value, updated_at=utcnow(), **fields).where(where)
    return bool(updated.execute())


# Members moved by one UPDATE of ``transition_many`` (well below SQLite's variable limit).
TRANSITION_BATCH = 500


def transition_many(
    member_ids: Sequence[int],
    to: SyncState,
    *,
    from_states: Iterable[SyncState] | None = None,
    condition: peewee.Expression | None = None,
    **fields: Any,
) -> set[int]:
    """``transition`` for many members at once; returns the ids of those who moved.

    One conditional UPDATE ... RETURNING per TRANSITION_BATCH members instead of one per
    member: each row is moved only if it still satisfies the state table and ``condition``
    when the UPDATE reaches it, exactly as ``transition`` would have.
    """
    allowed = AUTOMATIC_FROM[to] if from_states is None else frozenset(from_states)
    moved: set[int] = set()
    for start in range(0, len(member_ids), TRANSITION_BATCH):
        batch = list(member_ids[start : start + TRANSITION_BATCH])
        where = Member.id.in_(batch) & Member.sync_state.in_([s.value for s in allowed])
        if condition is not None:
            where &= condition
        update = Member.update(sync_state=to.value, updated_at=utcnow(), **fields).where(where)
        moved.update(row.id for row in update.returning(Member.id).execute())
    return moved


# Arbitrary key of the PostgreSQL advisory lock that serialises table creation.
SCHEMA_LOCK_ID = 7_413_112
# How long a SQLite writer waits for another's write lock: far above any transaction here.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# SQLite transactions begin IMMEDIATE: see init_database.
SQLITE_LOCK_TYPE = "IMMEDIATE"
# Connections of a pool when the service does not size it (dramatiq workers run 8 threads at
# most; the gateway sizes its pool to its thread pool).
DEFAULT_POOL_SIZE = 20
# A thread finding every pooled connection in use waits this long for one before failing.
POOL_WAIT_S = 10
# A pooled PostgreSQL connection is replaced (when next taken) once it is this old: servers and
# proxies drop long-lived connections.
POOL_STALE_S = 300
# libpq settings of every PostgreSQL connection, unless DATABASE_URL sets them. A server that does
# not answer fails a new connection in CONNECT_TIMEOUT_S instead of never (a request or message
# would hang holding its thread); a connection whose server vanished without closing it (a
# network that drops packets) is found dead by TCP keepalives within about a minute, and one
# whose sent data goes unacknowledged within TCP_USER_TIMEOUT_MS, not the kernel's 15 minutes.
CONNECT_TIMEOUT_S = 5
TCP_USER_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_DEFAULTS: dict[str, int] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
}
_SQLITE_PRAGMAS = {"journal_mode": "wal", "busy_timeout": SQLITE_BUSY_TIMEOUT_MS, "foreign_keys": 1}


def init_database(url: str, *, pool_size: int | None = None) -> peewee.Database:
    """Bind the proxy to DATABASE_URL and create missing tables.

    ``pool_size`` is the number of threads of the service that use the database at once; a
    pooled database gets that many connections unless its URL says otherwise (a
    ``max_connections`` parameter).
    """
    close_database()
    size = pool_size or DEFAULT_POOL_SIZE
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) in ("", ":memory:"):  # one connection is one database: never pooled
            database: peewee.Database = connect(
                url, pragmas=_SQLITE_PRAGMAS, lock_type=SQLITE_LOCK_TYPE
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            database = PooledSqliteDatabase(
                str(path),
                pragmas=_SQLITE_PRAGMAS,
                max_connections=size,
                timeout=POOL_WAIT_S,
                check_same_thread=False,  # a pooled connection serves one thread at a time
                # Every transaction takes SQLite's write lock when it begins, waiting up to the
                # busy timeout for it. A deferred one reads first, and its first write then
                # fails at once ("database is locked") if another connection wrote meanwhile: a
                # member's request would fail because another member's sync was staging weeks.
                lock_type=SQLITE_LOCK_TYPE,
            )
    else:
        given = parse(url)
        defaults: dict[str, int] = {}
        if url.startswith("postgres"):  # postgres://, postgresql://, postgres+pool://, ...
            defaults.update(POSTGRES_CONNECT_DEFAULTS)
        if "+pool://" in url:
            defaults.update(max_connections=size, timeout=POOL_WAIT_S, stale_timeout=POOL_STALE_S)
        database = connect(url, **{k: v for k, v in defaults.items() if k not in given})
    db.initialize(database)
    with connection():
        if isinstance(database, peewee.PostgresqlDatabase):
            # Every service creates missing tables at start-up; on PostgreSQL concurrent CREATE
            # INDEX statements collide, so creation is serialised by an advisory lock.
            with write_transaction():
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
                _create_schema(database)
        else:
            with write_transaction():  # every service may start at once
                _create_schema(database)
    return database


def write_transaction() -> Any:
    """A transaction for reading then writing rows, safe beside concurrent writers.

    On SQLite it begins IMMEDIATE (the database's ``lock_type``): the write lock is taken at
    once, so a concurrent writer makes it wait (busy timeout) instead of failing. PostgreSQL
    needs nothing more: row locks are taken by the writes themselves.
    """
    return db.atomic()


def close_database() -> None:
    """Close every connection of the bound database (its pool's too), e.g. at shutdown."""
    database = db.obj
    if database is None:
        return
    if isinstance(database, PooledDatabase):
        database.close_all()
    elif not database.is_closed():
        database.close()


def _create_schema(database: peewee.Database) -> None:
    """Create missing tables, and add columns that a newer version of a model has.

    New fields get defaults, so adding one is all a schema change needs here; renaming or
    dropping a column would need a real migration.
    """
    migrator = SchemaMigrator.from_database(database)
    for model in MODELS:
        table = model._meta.table_name
        if not database.table_exists(table):
            continue
        present = {column.name for column in database.get_columns(table)}
        missing = [f for f in model._meta.sorted_fields if f.column_name not in present]
        if missing:
            migrate(*(migrator.add_column(table, f.column_name, f) for f in missing))
    database.create_tables(MODELS, safe=True)  # new tables, and indexes not there yet


# What peewee raises when the database cannot be reached or a connection broke (it wraps the
# driver's errors). Real failures of the work raise them too (a deadlock, SQLite's "no such
# table"): ``database_reachable`` tells the two apart.
DATABASE_ERRORS = (peewee.OperationalError, peewee.InterfaceError)


def database_reachable() -> bool:
    """Whether the database answers a query now; asked after one of DATABASE_ERRORS.

    Call it with the thread's connection closed (outside ``connection()``): the probe then
    takes a connection of its own. A pooled PostgreSQL connection that died while checked in
    (the server restarted, a proxy dropped it) is discarded by the pool when taken, since
    playhouse tries each one with ``SELECT 1`` first, so the probe never judges by a dead one.
    """
    try:
        with connection():
            db.execute_sql("SELECT 1")
    except DATABASE_ERRORS:
        return False
    return True


@contextmanager
def connection() -> Iterator[None]:
    """An explicit connection for one request or message (reuses one already open)."""
    opened = db.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


def member_by_id(member_id: int) -> Member | None:
    """The member with this id, or None: what every gateway page and status poll reads.

    The same row as ``Member.get_or_none(Member.id == member_id)``, with the SELECT built once
    per database: peewee builds the SQL of a 26-column query anew on every call, which took
    ten times as long as running it and most of a status request's time.
    """
    database = db.obj
    sql = _MEMBER_SELECT.get(database)
    if sql is None:
        sql, _ = Member.select(*_MEMBER_FIELDS).where(Member.id == 0).sql()
        _MEMBER_SELECT[database] = sql
    row = db.execute_sql(sql, (member_id,)).fetchone()
    if row is None:
        return None
    values = {
        field.name: field.python_value(value)  # type: ignore[no-untyped-call]
        for field, value in zip(_MEMBER_FIELDS, row, strict=True)
    }
    member = Member(__no_default__=1, **values)
    member._dirty.clear()  # type: ignore[attr-defined]  # as peewee leaves a row it read
    return member


_MEMBER_FIELDS: list[peewee.Field] = list(Member._meta.sorted_fields)
_MEMBER_SELECT: weakref.WeakKeyDictionary[peewee.Database, str] = weakref.WeakKeyDictionary()
