"""Translations for what customers read (Flask-Babel): the card-update pages, and emails later.

Only a customer-facing view chooses a language (``use_language``); everything else, the dashboard
and Flask-WTF's messages included, stays in English. The catalogues are ``revtain/translations/<lang>/
LC_MESSAGES/messages.po`` with their compiled ``.mo`` committed beside them, so a fresh checkout
needs no build step; ``tests/test_i18n.py`` fails when a ``.mo`` is older than its ``.po``.
To change a text: ``scripts/translations`` (extract, update, then compile).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, refresh

from .formatting import DEFAULT_LOCALE, SUPPORTED_LOCALES, supported_language

TRANSLATIONS = Path(__file__).with_name("translations")
babel = Babel()

__all__ = ["SUPPORTED_LOCALES", "force_locale", "get_locale", "init_app", "language", "use_language"]


def _selected() -> str:
    return g.get("customer_language") or DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_selected, default_locale=DEFAULT_LOCALE,
                   default_translation_directories=str(TRANSLATIONS))


def browser_languages() -> list[str]:
    """The request's Accept-Language tags, most preferred first."""
    return [tag for tag, _quality in request.accept_languages] if has_request_context() else []


def use_language(*preferences: str | None) -> str:
    """Translate this request's pages into the first supported of ``preferences`` (e.g. the
    recovery's ``customerLocale``), else of the browser's languages, else English."""
    chosen = supported_language(*preferences, *browser_languages())
    g.customer_language = chosen
    refresh()
    return chosen


def language() -> str:
    """The language this request's pages are in (``use_language``), English by default."""
    return str(get_locale() or DEFAULT_LOCALE)
