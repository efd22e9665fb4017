"""``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

``/readyz`` checks each dependency and answers 503 naming the ones that fail, so a load balancer
or an operator sees at a glance whether the database, Redis, the schema or the scheduler is wrong.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..config import is_production
from ..extensions import db
from ..redis_conn import connection
from . import heartbeat

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@functools.cache
def _script_heads(directory: str) -> frozenset[str]:
    return frozenset(ScriptDirectory(directory).get_heads())


def _database() -> str | None:
    db.session.execute(text("SELECT 1"))
    return None


def _migrations() -> str | None:
    from .. import MIGRATIONS

    current = frozenset(MigrationContext.configure(db.session.connection()).get_current_heads())
    wanted = _script_heads(MIGRATIONS)
    if current == wanted:
        return None
    if not current:
        return "the database has no schema; run: revtain db upgrade"
    return (f"the database is at {', '.join(sorted(current))}, the code expects "
            f"{', '.join(sorted(wanted))}; run: revtain db upgrade")


def _redis() -> str | None:
    connection().ping()
    return None


def _scheduler() -> str | None:
    age = heartbeat.age_seconds()
    limit = float(current_app.config["SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS"])
    if age is None:
        return "no scheduler heartbeat; is `revtain scheduler` running?"
    if age > limit:
        return f"the scheduler's last heartbeat was {age:.0f} s ago (more than {limit:.0f} s)"
    return None


# Order matters: without the database the migrations cannot be read, without Redis no heartbeat.
CHECKS: dict[str, tuple[Callable[[], str | None], tuple[str, ...]]] = {
    "database": (_database, ()),
    "redis": (_redis, ()),
    "migrations": (_migrations, ("database",)),
    "scheduler": (_scheduler, ("redis",)),
}


def _describe(exc: Exception) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:300]


def readiness() -> dict[str, dict[str, str]]:
    """Each check's result: ``{"status": "ok"}`` or ``{"status": "failing", "error": ...}``."""
    results: dict[str, dict[str, str]] = {}
    for name, (check, needs) in CHECKS.items():
        blocked = [n for n in needs if results[n]["status"] != "ok"]
        if blocked:
            results[name] = {"status": "failing", "error": f"cannot check without {', '.join(blocked)}"}
            continue
        try:
            problem = check()
        except Exception as exc:  # any failure of a dependency is the answer, never a 500
            if name == "database":
                db.session.rollback()
            log.warning("readiness: %s failing: %s", name, _describe(exc))
            # The exception's text names internal hosts: shown in development, logged in production.
            problem = "unavailable (see the log)" if is_production(current_app) else _describe(exc)
        results[name] = {"status": "ok"} if problem is None else {"status": "failing", "error": problem}
    return results


@bp.get("/healthz")
def healthz():
    return {"ok": True}


@bp.get("/readyz")
def readyz():
    checks = readiness()
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    body = {"ok": not failing, "failing": failing, "checks": checks}
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response
