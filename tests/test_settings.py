"""The typed settings (``revtain/settings.py``): every key of ``config.DEFAULTS`` has a field, the layers
keep their order, a bad value stops the app and the CLI with a readable message that names the setting,
and ``docs/configuration.md`` is what the code says."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from revtain import create_app
from revtain.config import DEFAULTS, ConfigurationError
from revtain.settings import Settings
from revtain.settings_reference import comments, description, render

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_has_a_typed_field_and_every_field_a_default():
    """A key appended to config.DEFAULTS without a field in Settings (or the reverse) fails here."""
    assert set(DEFAULTS) - set(Settings.model_fields) == set(), "keys in config.DEFAULTS without a type"
    assert set(Settings.model_fields) - set(DEFAULTS) == set(), "typed settings without a default"
    for name, field in Settings.model_fields.items():
        assert field.is_required(), f"{name}: its default belongs in config.DEFAULTS only"
        assert field.annotation is not typing.Any, name


def test_the_defaults_are_valid_and_keep_their_types():
    settings = Settings.model_validate(DEFAULTS)
    for key, default in DEFAULTS.items():
        value = getattr(settings, key)
        assert value == default and type(value) is type(default), key


def test_every_setting_is_described():
    found = comments()
    undescribed = [key for key in DEFAULTS if not description(key, found)]
    assert undescribed == [], "add a comment above the key in config.py, or a description in settings.py"


def test_the_configuration_reference_is_current():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/configuration.md is stale: run python scripts/config_reference.py"
    for key in DEFAULTS:
        assert f"## `{key}`" in committed and f"`REVTAIN_{key}`" in committed


def test_the_layers_keep_their_order(base_config, tmp_path, monkeypatch):
    """Defaults, then instance/config.py, then REVTAIN_* variables, then the factory's mapping."""
    (tmp_path / "config.py").write_text('MAIL_SMTP_PORT = 2525\nMAIL_SMTP_HOST = "smtp.instance.test"\n'
                                        'RETRY_LOCAL_HOUR = 7\nSESSION_COOKIE_NAME = "rv"\n')
    monkeypatch.setenv("REVTAIN_MAIL_SMTP_PORT", "1025")
    monkeypatch.setenv("REVTAIN_RETRY_LOCAL_HOUR", "8")
    monkeypatch.setenv("REVTAIN_NETWORK_LIMITS", '{"visa_max_attempts": 12}')
    monkeypatch.setenv("REVTAIN_SOMETHING_ELSE", "[1, 2]")  # not a setting: passed through as before
    app = create_app({**base_config, "INSTANCE_PATH": str(tmp_path), "RETRY_LOCAL_HOUR": 9})
    assert app.config["MAIL_SMTP_HOST"] == "smtp.instance.test"  # instance file
    assert app.config["MAIL_SMTP_PORT"] == 1025  # the environment over the instance file, as an int
    assert app.config["RETRY_LOCAL_HOUR"] == 9  # the factory's mapping over everything
    assert app.config["NETWORK_LIMITS"] == {"visa_max_attempts": 12}
    assert app.config["SESSION_COOKIE_NAME"] == "rv" and app.config["SOMETHING_ELSE"] == [1, 2]
    assert app.config["MAIL_SMTP_TLS"] == "starttls"  # the default


@pytest.mark.parametrize(
    ("where", "value", "named", "problem"),
    [
        ("env", "abc", "REVTAIN_MAIL_SMTP_PORT (environment variable)", "valid integer"),
        ("env", "70000", "REVTAIN_MAIL_SMTP_PORT (environment variable)", "less than or equal to 65535"),
        ("instance", "'25 or so'", "MAIL_SMTP_PORT (instance/config.py)", "valid integer"),
        ("given", "0", "MAIL_SMTP_PORT (given to create_app)", "greater than or equal to 1"),
    ],
)
def test_the_web_app_refuses_a_bad_value_and_names_it(base_config, tmp_path, monkeypatch, where, value, named,
                                                       problem):
    config = {**base_config, "INSTANCE_PATH": str(tmp_path)}
    if where == "env":
        monkeypatch.setenv("REVTAIN_MAIL_SMTP_PORT", value)
    elif where == "instance":
        (tmp_path / "config.py").write_text(f"MAIL_SMTP_PORT = {value}\n")
    else:
        config["MAIL_SMTP_PORT"] = int(value)
    with pytest.raises(ConfigurationError) as raised:
        create_app(config)
    message = str(raised.value)
    assert message.startswith("Revtain cannot start: 1 setting is not valid.\n")
    assert f"  {named}: " in message and problem in message
    assert "docs/configuration.md" in message


def test_every_bad_value_is_listed_in_one_message(base_config, monkeypatch):
    monkeypatch.setenv("REVTAIN_EXECUTE_RATE_LIMIT", "lots")
    monkeypatch.setenv("REVTAIN_WEBHOOK_SCHEDULE", "[0, 2,")
    monkeypatch.setenv("REVTAIN_MAIL_SMTP_TLS", "tls")
    monkeypatch.setenv("REVTAIN_PUBLIC_BASE_URL", "revtain.example.com")
    with pytest.raises(ConfigurationError) as raised:
        create_app({**{k: v for k, v in base_config.items() if k != "PUBLIC_BASE_URL"}, "ENV": "staging",
                    "NETWORK_LIMITS": {"visa_max_tries": 3}})
    message = str(raised.value)
    assert "6 settings are not valid" in message
    for line in [
        "REVTAIN_EXECUTE_RATE_LIMIT (environment variable): must be a rate limit such as \"60 per minute\"",
        "REVTAIN_WEBHOOK_SCHEDULE (environment variable): must be JSON: a list such as [0, 60]",
        "REVTAIN_MAIL_SMTP_TLS (environment variable): input should be 'starttls', 'ssl' or 'none'",
        "REVTAIN_PUBLIC_BASE_URL (environment variable): must be a URL starting with http:// or https://",
        "ENV (given to create_app): input should be 'development' or 'production'",
        "NETWORK_LIMITS (given to create_app): unknown network limit(s): visa_max_tries",
    ]:
        assert line in message, message


def test_a_secret_is_never_shown_in_the_message(base_config, monkeypatch):
    secret = "redis-password-do-not-show"
    monkeypatch.setenv("REVTAIN_REDIS_URL", f"http://user:{secret}@cache.internal:6379/0")
    with pytest.raises(ConfigurationError) as raised:
        create_app({k: v for k, v in base_config.items() if k != "REDIS_URL"})
    message = str(raised.value)
    assert "REVTAIN_REDIS_URL (environment variable): must be a URL starting with redis://" in message
    assert secret not in str(raised.value)


def test_the_cli_refuses_a_bad_value_in_plain_words(base_config, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVTAIN_")}
    env.update({
        "REVTAIN_INSTANCE_PATH": str(tmp_path),
        "REVTAIN_DATABASE_URL": base_config["DATABASE_URL"],
        "REVTAIN_REDIS_URL": base_config["REDIS_URL"],
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "soon",
    })
    done = subprocess.run([sys.executable, "-m", "revtain", "clients"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert ("REVTAIN_SCHEDULER_INTERVAL_SECONDS (environment variable): input should be a valid number"
            in output), output
    assert "Traceback" not in output and 'File "' not in output, output
