"""Configuration layering, production safety and migrations that match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from revtain import create_app
from revtain.crypto import ConfigurationError, decrypt, encrypt
from revtain.extensions import db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_the_migrations_have_one_head():
    """``revtain db upgrade`` (the README's production command) upgrades to "head": branches from
    parallel work must be merged before they land."""
    from alembic.script import ScriptDirectory

    from revtain import MIGRATIONS

    script = ScriptDirectory(MIGRATIONS)
    assert len(script.get_heads()) == 1, script.get_heads()


def test_production_refuses_to_start_without_an_encryption_key(base_config):
    config = {**base_config, "ENV": "production", "ENCRYPTION_KEY": None}
    with pytest.raises(ConfigurationError, match="REVTAIN_ENCRYPTION_KEY is required"):
        create_app(config)


def test_production_needs_a_secret_key_and_redis(base_config):
    with pytest.raises(ConfigurationError, match="REVTAIN_SECRET_KEY"):
        create_app({**base_config, "ENV": "production", "SECRET_KEY": None})
    with pytest.raises(ConfigurationError, match="REVTAIN_REDIS_URL"):
        create_app({**base_config, "ENV": "production", "REDIS_URL": None})


def test_production_has_no_dev_inbox(make_app):
    app = make_app(ENV="production")
    assert app.test_client().get("/dev/webhook-inbox").status_code == 404


def test_a_bad_encryption_key_is_a_readable_error(base_config):
    with pytest.raises(ConfigurationError, match="32 bytes"):
        create_app({**base_config, "ENCRYPTION_KEY": "c2hvcnQ="})


def test_environment_variables_override_defaults(base_config, monkeypatch):
    monkeypatch.setenv("REVTAIN_WEBHOOK_SCHEDULE", "[0, 5, 60]")
    monkeypatch.setenv("REVTAIN_WEBHOOK_TIMEOUT", "3.5")
    monkeypatch.setenv("REVTAIN_PUBLIC_BASE_URL", "https://api.example.com")
    app = create_app({k: v for k, v in base_config.items() if k != "PUBLIC_BASE_URL"})
    assert app.config["WEBHOOK_SCHEDULE"] == [0, 5, 60]
    assert app.config["WEBHOOK_TIMEOUT"] == 3.5
    assert app.config["PUBLIC_BASE_URL"] == "https://api.example.com"


def test_instance_config_file_is_read(tmp_path, base_config):
    (tmp_path / "config.py").write_text("BRAND = 'from instance'\nVELOCITY_WINDOW_SECONDS = 60\n")
    app = create_app({**base_config, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["VELOCITY_WINDOW_SECONDS"] == 60


def test_encryption_round_trip_is_authenticated(app):
    with app.app_context():
        sealed = encrypt("whsec_abc")
        assert sealed.startswith("v1:") and "whsec_abc" not in sealed
        assert decrypt(sealed) == "whsec_abc"
        assert encrypt("whsec_abc") != sealed  # a fresh nonce every time
        tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
        with pytest.raises(Exception):  # noqa: B017  (cryptography's InvalidTag)
            decrypt(tampered)


def _boot(instance: str, redis_url: str, barrier, results) -> None:
    import os

    os.environ["REVTAIN_INSTANCE_PATH"] = instance
    os.environ["REVTAIN_REDIS_URL"] = redis_url
    barrier.wait()
    try:
        app = create_app()
        with open(os.path.join(instance, "encryption.key")) as fh:
            results.put((app.config["SECRET_KEY"], fh.read()))
    except Exception as exc:  # reported, not raised: the parent asserts
        results.put(repr(exc))


def test_processes_starting_together_share_one_set_of_dev_keys(tmp_path, redis_url):
    """gunicorn workers, a worker and the scheduler may all start at once on a new install."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_boot, args=(str(tmp_path), redis_url, barrier, results))
             for _ in range(6)]
    for p in procs:
        p.start()
    try:  # a deadlock guard, not a speed check: six interpreters importing Flask on a busy machine
        answers = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(isinstance(a, tuple) for a in answers), answers
    assert len(set(answers)) == 1
    secret_key, encryption_key = answers[0]
    assert secret_key and len(encryption_key.strip()) == 44
