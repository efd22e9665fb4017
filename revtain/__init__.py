"""Revtain: recovery of failed subscription payments, as one Flask app and a pool of RQ workers.

Nothing heavy is imported here: ``revtain --help`` imports this package and must answer at once.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def _secret_key(app: Flask) -> None:
    from . import config, crypto

    if app.config.get("SECRET_KEY"):
        return
    if config.is_production(app):
        raise crypto.ConfigurationError("REVTAIN_SECRET_KEY is required in production")
    app.config["SECRET_KEY"] = crypto.instance_secret(
        app, "secret_key", lambda: secrets.token_urlsafe(48)
    )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from flask import Flask

    from . import clock, config, crypto, http_hardening, i18n, outbound, redis_conn
    from .extensions import db, limiter, login_manager, migrate

    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "REVTAIN_INSTANCE_PATH"
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    config.load(app, test_config)
    _secret_key(app)
    app.json.sort_keys = False  # documented key order matters to clients
    app.json.ensure_ascii = False
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    clock.init_app(app)
    crypto.init_app(app)
    outbound.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    redis_conn.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = redis_conn.limiter_storage_uri(redis_conn.redis_url(app))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)  # 2 Redis round trips a request
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    # Dashboard sessions: HttpOnly, SameSite=Lax, and Secure in production.
    # (Flask's own defaults are already in the config, so these are set, not setdefault'ed.)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_SECURE"] = (
        bool(app.config.get("SESSION_COOKIE_SECURE")) or config.is_production(app)
    )
    login_manager.init_app(app)

    from . import models  # noqa: F401  (tables known to SQLAlchemy and Alembic)
    from .api import bp as api_bp
    from .api import errors as api_errors

    api_errors.init_app(app)
    http_hardening.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api_bp)
    from .api.paywall import snippet_bp

    app.register_blueprint(snippet_bp)
    from .cardupdate import bp as cardupdate_bp

    app.register_blueprint(cardupdate_bp)
    from .dunning.public import bp as dunning_public_bp

    app.register_blueprint(dunning_public_bp)
    from .dashboard import bp as dashboard_bp

    app.register_blueprint(dashboard_bp)
    from .docs_page import bp as docs_bp

    app.register_blueprint(docs_bp)
    if not config.is_production(app):
        from .devinbox import bp as devinbox_bp

        app.register_blueprint(devinbox_bp)

    from . import cli

    cli.init_app(app)

    from . import observability

    observability.init_app(app)

    @app.get("/")
    def root():
        from flask import redirect, url_for

        return redirect(url_for("dashboard.index"))

    return app
