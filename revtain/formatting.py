"""Money and dates for people, in their own language: one place, formatted by Babel (CLDR data).

The dashboard, the card-update pages, dunning emails and merchant alerts all format through here,
so "€49.00" in an email is "€49.00" on the page too (and "49,00 €" for a French customer).
Amounts are always integers in the currency's smallest unit, as the API takes them.
"""

from __future__ import annotations

from copy import copy
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_compact_currency, format_currency

from .currencies import exponent

# Languages the customer-facing pages and emails are written in; the first is the fallback.
SUPPORTED_LOCALES = ("en", "fr", "de", "es")
DEFAULT_LOCALE = SUPPORTED_LOCALES[0]


def major_units(minor_units: int, currency: str) -> Decimal:
    """``4900, "USD"`` -> ``Decimal("49.00")``; ``5000, "JPY"`` -> ``Decimal("5000")``."""
    return Decimal(int(minor_units)).scaleb(-exponent(currency.upper()))


def money(minor_units: int | None, currency: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """``4900, "EUR"`` -> ``"€49.00"`` (en) or ``"49,00 €"`` (fr); ``"-"`` when unknown."""
    if minor_units is None or not currency:
        return "-"
    code = currency.upper()
    where = _locale(locale)
    return _pattern(str(where), exponent(code)).apply(
        major_units(minor_units, code), where, currency=code, currency_digits=False
    )


@lru_cache(maxsize=256)
def _pattern(locale: str, digits: int) -> NumberPattern:
    """The locale's own currency pattern ("¤#,##0.00", "#,##0.00 ¤"...) with exactly ``digits``
    decimals (the currency's ISO 4217 exponent, not CLDR's)."""
    pattern = copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


def money_with_code(minor_units: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """``"$49.00 USD"``: the amount, then its code unless the formatted amount already shows it."""
    formatted = money(minor_units, currency, locale)
    code = currency.upper()
    return formatted if code in formatted else f"{formatted} {code}"


def short_money(minor_units: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """For a chart's axis: ``"$1.5K"``, ``"$12.5"``, ``"€0"``; no more digits than needed."""
    code = currency.upper()
    major = major_units(minor_units, code)
    where = known_locale(locale)
    if abs(major) >= 1000:
        return format_compact_currency(major, code, locale=where, fraction_digits=1)
    return format_currency(major, code, format="¤#,##0.##", locale=where, currency_digits=False)


def day(value: date | datetime, locale: str = DEFAULT_LOCALE, style: str = "medium") -> str:
    """``"Dec 3, 2026"`` (en), ``"3 déc. 2026"`` (fr)."""
    return format_date(value, format=style, locale=known_locale(locale))


def moment(
    value: datetime | None, zone: tzinfo | None = None, locale: str = DEFAULT_LOCALE,
    style: str = "medium",
) -> str:
    """A timestamp in ``zone`` (UTC when none), e.g. ``"Dec 3, 2026, 2:05:00 PM"``."""
    if value is None:
        return "-"
    return format_datetime(value, format=style, tzinfo=zone, locale=known_locale(locale))


def known_locale(tag: str | None) -> str:
    """The Babel locale for a tag such as ``fr-CA`` or ``de_DE``, or the default when unknown."""
    return str(_locale(tag))


@lru_cache(maxsize=256)
def _locale(tag: str | None) -> Locale:
    """Parsed once per tag: every amount and date on a page asks again."""
    if tag:
        try:
            return Locale.parse(tag.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            pass
    return Locale.parse(DEFAULT_LOCALE)


def supported_language(*preferences: str | None) -> str:
    """The first of ``preferences`` (e.g. ``customerLocale``, then the browser's) whose language
    our customer-facing pages and emails are written in; else English."""
    for tag in preferences:
        try:
            language = Locale.parse(tag.replace("-", "_")).language if tag else None
        except (UnknownLocaleError, ValueError, TypeError):
            continue
        if language in SUPPORTED_LOCALES:
            return language
    return DEFAULT_LOCALE
