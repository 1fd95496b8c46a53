"""Database engine, shared metadata and column types.

SQLite is the embedded default (WAL, ``BEGIN IMMEDIATE`` for writers so two writers queue on the
lock instead of failing to upgrade it); PostgreSQL is the production database.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import JSON, DateTime, Engine, MetaData, String, Text, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware datetimes, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """A JSON column exchanged as its text, for documents pydantic renders and parses itself in one
    pass (``dump_json`` / ``validate_json``) instead of through dicts and the json module.

    Use it on a statement (``type_coerce(column, JSON_TEXT)``, ``bindparam(..., type_=JSON_TEXT)``),
    never on a table: the column stays JSON. SQLite keeps JSON as text, so the text goes in and
    comes out as it is; PostgreSQL's driver parses JSON itself, so there a value read is the parsed
    document (:func:`load_document` takes either) and a text written is parsed for the driver.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Text() if dialect.name == "sqlite" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "sqlite":
            return value
        return json.loads(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return value


JSON_TEXT = JSONText()


def document_text(adapter: TypeAdapter[T], document: T) -> str:
    """A document as the JSON text a :class:`JSONText` parameter takes."""
    return adapter.dump_json(document).decode()


def load_document(adapter: TypeAdapter[T], stored: Any) -> T:
    """A document read through :class:`JSONText` (text) or a plain JSON column (parsed)."""
    if isinstance(stored, str | bytes):
        return adapter.validate_json(stored)
    return adapter.validate_python(stored)


def id_column_type() -> String:
    return String(36)


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, echo=echo, **kwargs)


def _sqlite_engine(url: str, *, echo: bool, **kwargs: Any) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if in_memory:
        raise ValueError("use a file-backed SQLite database: threads need to share it")
    connect_args = {"timeout": 60, "check_same_thread": False}
    # A fresh connection per unit of work by default; a single-threaded caller that opens thousands
    # of short transactions (the digital twin) may pass a pooling class instead.
    kwargs.setdefault("poolclass", NullPool)
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        statement = f"BEGIN {mode}"
        # Straight to the driver: the twin opens tens of thousands of transactions, and a statement
        # through the engine costs several times this one. Errors still surface as SQLAlchemy's.
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class not_indexed(ColumnElement[Any]):  # noqa: N801 - used like a SQL function
    """``column`` in a condition SQLite must not pick an index for: ``+column`` there, plain elsewhere.

    Without statistics, SQLite's planner takes an equality on the first column of an index over a
    primary-key ``IN`` list, so ``tenant_id = ? AND id IN (...)`` walked every row of the tenant
    through a ``(tenant_id, ...)`` index: a cost that grew with the tenant's history and its number
    of stores. The unary ``+`` (SQLite's documented way to disqualify a term from index use) leaves
    the tenant as a filter on the rows the key finds. PostgreSQL plans by statistics and needs none.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(not_indexed)
def _not_indexed_plain(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(not_indexed, "sqlite")
def _not_indexed_sqlite(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)
