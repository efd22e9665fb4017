"""Structured logs with structlog: JSON lines in production, readable lines in development.

Our own log calls and every library's (stdlib ``logging``) go through the same processors, so
each line carries the context bound for the request (``request_id``) or the job (``job_id``,
``recovery_id``, ...), and passes the redaction below: no secret, API key or card number is ever
written, whatever a caller put in a message.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars

from ..engine.card_networks import luhn_ok

_SECRET_KEY_NAMES = re.compile(
    r"secret|passw|api_?key|token|authori[sz]ation|cookie|card_?number|\bpan\b|cvc|cvv|private_key",
    re.IGNORECASE,
)
# Our key formats (revtain/credentials.py), gateways' (sk_live_…, rk_…, pk_… stay: publishable)
_KEYS = re.compile(r"\b(?:rev_(?!pk_)|whsec_|sk_(?:live|test)_|rk_(?:live|test)_)[A-Za-z0-9_\-+/=]{8,}")
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
REDACTED = "[redacted]"
_HANDLER_NAME = "revtain"


def scrub(text: str) -> str:
    """``text`` with API keys, webhook secrets and anything shaped like a card number masked."""
    text = _KEYS.sub(REDACTED, text)

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[card]" if luhn_ok(digits) else match.group()

    return _DIGIT_RUN.sub(card, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _SECRET_KEY_NAMES.search(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(logger, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: runs last before rendering, after exceptions became text."""
    return _clean(event_dict)


def _shared() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(as_json: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    final = [structlog.processors.format_exc_info] if as_json else []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, redact, renderer],
    )


def setup_structlog() -> None:
    """structlog hands its events to stdlib ``logging``, whose handlers render them (idempotent)."""
    structlog.configure(
        # a line below the logger's level costs one level check, not the whole chain
        processors=[structlog.stdlib.filter_by_level, *_shared(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure(process: str, as_json: bool, level: str = "INFO") -> None:
    """Send every log line of this process to stderr through structlog (idempotent)."""
    setup_structlog()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(as_json))
    root.addHandler(handler)
    root.setLevel(level.upper())
    bind_contextvars(process=process)


def configure_for(app, process: str) -> None:
    """``configure`` from the app's settings: LOG_FORMAT (json, console; default by ENV), LOG_LEVEL."""
    from ..config import is_production

    chosen = app.config.get("LOG_FORMAT") or ("json" if is_production(app) else "console")
    configure(process, as_json=chosen == "json", level=app.config.get("LOG_LEVEL") or "INFO")


@contextmanager
def bound(**context: Any) -> Iterator[None]:
    """Add ``context`` to every log line written inside the block."""
    with bound_contextvars(**context):
        yield


def get(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
