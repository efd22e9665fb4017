"""The one clock. Services ask it for ``now``; tests freeze or move it.

``FROZEN_NOW`` in the config (an ISO-8601 string) freezes it for a whole app, which lets tests
move time for a web server, a worker and the scheduler alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context


class Clock:
    def __init__(self, frozen: datetime | None = None) -> None:
        self._frozen = frozen

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def freeze(self, at: datetime) -> None:
        self._frozen = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._frozen = self.now() + delta

    def unfreeze(self) -> None:
        self._frozen = None


def init_app(app) -> None:
    frozen = app.config.get("FROZEN_NOW")
    app.extensions["revtain.clock"] = Clock(
        datetime.fromisoformat(frozen).astimezone(UTC) if frozen else None
    )


def clock() -> Clock:
    return current_app.extensions["revtain.clock"] if has_app_context() else Clock()


def now() -> datetime:
    return clock().now()


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a ``Z``, as the docs' examples show."""
    if ts is None:
        return None
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
