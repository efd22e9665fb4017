"""Flask extensions, created once here and bound to the app in ``create_app``."""

from __future__ import annotations

import sqlite3

from flask import g, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def rate_limit_key() -> str:
    """Limits are per API key; the hash identifies the key without keeping it in Redis."""
    key_id = getattr(g, "api_key_id", None)
    return f"key:{key_id}" if key_id else f"ip:{request.remote_addr}"


# Objects keep their values after commit: services answer from what they just wrote instead of
# reading every row back (and a read-back after commit would also open a second transaction).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
limiter = Limiter(key_func=rate_limit_key, strategy="fixed-window", key_prefix="revtain")
# The dashboard's sessions. CSRF is per form (Flask-WTF ``FlaskForm``), not global: the JSON API,
# the card-update page and the dev inbox have their own protections.
login_manager = LoginManager()


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record) -> None:
    """SQLite (the embedded default): WAL, a busy timeout, foreign keys, and transactions that
    begin IMMEDIATE, so concurrent processes queue for the write lock instead of failing."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
