"""/healthz and /readyz: each dependency down gives a 503 naming it."""

from __future__ import annotations

import sqlite3

import pytest

from revtain import scheduler
from revtain.observability import heartbeat


def _ready(app):
    with app.app_context():
        scheduler.tick()  # the real scheduler tick writes the heartbeat
    return app.test_client().get("/readyz")


def test_healthz_answers_without_dependencies(app, make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert app.test_client().get("/healthz").get_json() == {"ok": True}


def test_ready_when_everything_is_up(app):
    r = _ready(app)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ok"] is True and body["failing"] == []
    assert set(body["checks"]) == {"database", "redis", "migrations", "scheduler"}
    assert r.headers["Cache-Control"] == "no-store"


def test_no_scheduler_heartbeat_is_503(app):
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["failing"] == ["scheduler"]
    assert "revtain scheduler" in body["checks"]["scheduler"]["error"]


def test_stale_scheduler_heartbeat_is_503(make_app):
    app = make_app(SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS=30)
    _ready(app)
    with app.app_context():
        heartbeat.connection().set(heartbeat.KEY, "1000.0")  # a heartbeat from 1970
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["failing"] == ["scheduler"]
    assert "last heartbeat" in r.get_json()["checks"]["scheduler"]["error"]


def test_redis_down_is_503_naming_redis(app, make_app):
    _ready(app)  # a fresh heartbeat in the real Redis, which this app cannot reach
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    r = down.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert "redis" in body["failing"] and "database" not in body["failing"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["migrations"] == {"status": "ok"}


def test_database_down_is_503_naming_it(app, make_app, tmp_path):
    _ready(app)
    down = make_app(DATABASE_URL="sqlite:///" + str(tmp_path / "no" / "such" / "dir.sqlite3"))
    r = down.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["failing"] == ["database", "migrations"]
    assert body["checks"]["migrations"]["error"] == "cannot check without database"
    assert body["checks"]["redis"] == {"status": "ok"}


@pytest.mark.parametrize("version", [None, "0000aaaa0000"])
def test_migrations_not_at_head_is_503(app, make_app, tmp_path, version):
    _ready(app)
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    if version:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (version,))
        conn.commit()
    conn.close()
    behind = make_app(DATABASE_URL=f"sqlite:///{path}")
    r = behind.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["failing"] == ["migrations"]
    assert "revtain db upgrade" in body["checks"]["migrations"]["error"]
    if version:
        assert version in body["checks"]["migrations"]["error"]


def test_production_names_the_part_but_not_the_internals(app, make_app):
    _ready(app)
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", ENV="production")
    r = down.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["redis"]["error"] == "unavailable (see the log)"
    assert "127.0.0.1" not in r.get_data(as_text=True)
