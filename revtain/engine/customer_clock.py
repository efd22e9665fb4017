"""The customer's clock: which timezone and calendar a recovery's retries follow, and its paydays.

Retries are timed on the customer's clock, not the merchant's. The timezone is, in order:

1. ``customerTimezone`` as the merchant sent it (an IANA name);
2. the main timezone of ``customerCountry``, else of the card's issuing country (what the gateway
   reported, or the BIN's country);
3. the client's own ``timezone``.

The calendar (business days, public holidays) is the customer's country, else the card's, else the
country of the timezone. Public holidays come from the ``holidays`` library. A payday is a business
day: one that falls on a weekend or a public holiday is paid on the business day before, and the
month's payday is its last business day. Pure: no Flask, no I/O beyond the libraries' data.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from zoneinfo import available_timezones

from babel.core import get_global

FRIDAY = 4
# Countries spanning several zones: the zone where most of the population lives (CLDR lists
# them in no useful order). Every other country uses CLDR's first zone for the territory.
MAIN_ZONES: dict[str, str] = {
    "US": "America/New_York", "CA": "America/Toronto", "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo", "RU": "Europe/Moscow", "MX": "America/Mexico_City",
    "ID": "Asia/Jakarta", "KZ": "Asia/Almaty", "AR": "America/Argentina/Buenos_Aires",
    "CN": "Asia/Shanghai", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "CL": "America/Santiago",
    "NZ": "Pacific/Auckland", "DE": "Europe/Berlin", "EC": "America/Guayaquil",
    "MN": "Asia/Ulaanbaatar", "UA": "Europe/Kyiv", "MY": "Asia/Kuala_Lumpur",
}


@dataclass(frozen=True)
class CustomerClock:
    timezone: str  # IANA name
    country: str | None  # ISO 3166-1 alpha-2 of the calendar, None when unknown
    source: str  # customer_timezone | customer_country | card_country | client_timezone


def valid_timezone(name: str | None) -> bool:
    """An IANA zone name that zoneinfo knows (case-sensitive, as IANA names are)."""
    return bool(name) and name in _zones()


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_country(code: str | None) -> bool:
    """An ISO 3166-1 alpha-2 code that CLDR knows as a territory with a timezone."""
    return bool(code) and len(code) == 2 and code.upper() in _territory_zones()


@cache
def _territory_zones() -> dict[str, tuple[str, ...]]:
    """Real countries only: CLDR's "ZZ" (unknown region) and its Etc/ zones are left out."""
    return {
        k: tuple(z for z in v if not z.startswith("Etc/"))
        for k, v in get_global("territory_zones").items()
        if len(k) == 2 and k != "ZZ" and any(not z.startswith("Etc/") for z in v)
    }


def country_zone(country: str | None) -> str | None:
    """The main timezone of a country, None when unknown."""
    if not country:
        return None
    country = country.upper()
    zone = MAIN_ZONES.get(country) or next(iter(_territory_zones().get(country, ())), None)
    return zone if zone and valid_timezone(zone) else None


def zone_country(zone: str) -> str | None:
    """The country of a timezone (CLDR), None for zones like UTC."""
    return get_global("zone_territories").get(zone)


def resolve(
    customer_timezone: str | None,
    customer_country: str | None,
    card_country: str | None,
    client_timezone: str,
) -> CustomerClock:
    """Whose clock and calendar to use (see the module docstring). Invalid values are skipped.

    With ``customerTimezone`` the calendar is ``customerCountry``, else the zone's own country (where
    the customer lives says more about their paydays than where their card was issued)."""
    told = customer_country.upper() if valid_country(customer_country) else None
    card = card_country.upper() if valid_country(card_country) else None
    if valid_timezone(customer_timezone):
        country = told or zone_country(customer_timezone) or card
        return CustomerClock(customer_timezone, country, "customer_timezone")
    country = told or card
    for value, source in ((customer_country, "customer_country"), (card_country, "card_country")):
        zone = country_zone(value) if valid_country(value) else None
        if zone:
            return CustomerClock(zone, country, source)
    return CustomerClock(client_timezone, zone_country(client_timezone), "client_timezone")


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    import holidays  # imported on first use: it takes half a second, which every process need not pay

    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the library has no calendar for: weekends only
        return frozenset()


def is_business_day(day: date, country: str | None) -> bool:
    return day.weekday() < 5 and not (country and day in _holidays(country.upper(), day.year))


def business_day_on_or_before(day: date, country: str | None) -> date:
    while not is_business_day(day, country):
        day -= timedelta(days=1)
    return day


def _paid_on(nominal: date, country: str | None) -> date:
    return business_day_on_or_before(nominal, country)


def payday_reason(day: date, country: str | None, billing_cycle_day: int | None = None) -> str | None:
    """Which payday ``day`` is on the customer's calendar, most specific first; None when none.

    Nominal paydays: the client's billing-cycle day (clamped to the month), the last day of the
    month, the 15th, the 1st and every Friday; each is paid on the business day on or before it.
    """
    if not is_business_day(day, country):
        return None
    last = calendar.monthrange(day.year, day.month)[1]
    month_day = lambda n: date(day.year, day.month, min(n, last))  # noqa: E731
    if billing_cycle_day is not None and day == _paid_on(month_day(billing_cycle_day), country):
        return "billing_cycle_day"
    if day == _paid_on(month_day(last), country):
        return "month_end"
    if day == _paid_on(month_day(15), country):
        return "mid_month"
    if day.day == 1:
        return "month_start"
    friday = day + timedelta(days=(FRIDAY - day.weekday()) % 7)
    if day == _paid_on(friday, country):
        return "payday_friday"
    return None
