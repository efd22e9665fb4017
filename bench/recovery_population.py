"""The simulated world of ``recovery_simulation.py``: failed payments and how issuers answer retries.

Everything numeric comes from ``bench/data/issuer_models.json`` (sources cited there). The
population is drawn once per seed and shared by every policy (paired comparison): the same
customers, the same paydays and the same random draw for a payment's k-th attempt, so policies
differ only in when (and whether) they retry.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

DATA = Path(__file__).resolve().parent / "data" / "issuer_models.json"
PAYDAY_HOUR = 6  # deposits are assumed available from 06:00 local on payday
MAX_ATTEMPTS_DRAWN = 48


def load_models(path: Path = DATA) -> dict:
    return json.loads(path.read_text())


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    keys = list(shares)
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def business_on_or_before(day: date, country: str) -> date:
    while not is_business_day(day, country):
        day -= timedelta(days=1)
    return day


def _month_days(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _monthly_payday(year: int, month: int, rule: str, country: str) -> date:
    last = _month_days(year, month)
    if rule == "last_business":
        return business_on_or_before(date(year, month, last), country)
    if rule == "5th_business":
        day, seen = date(year, month, 1), 0
        while True:
            if is_business_day(day, country):
                seen += 1
                if seen == 5:
                    return day
            day += timedelta(days=1)
    return business_on_or_before(date(year, month, min(int(rule), last)), country)


def paydays(country: str, pay: str, monthly_rule: str, phase: int, start: date, end: date) -> frozenset[date]:
    """The customer's true paydays in [start, end], moved before weekends and public holidays."""
    days: set[date] = set()
    if pay in ("weekly", "biweekly"):
        day = start - timedelta(days=(start.weekday() - 4) % 7)  # a Friday on or before start
        step = 7 if pay == "weekly" else 14
        day += timedelta(days=7 * phase if pay == "biweekly" else 0)
        while day <= end:
            days.add(business_on_or_before(day, country))
            day += timedelta(days=step)
    else:
        year, month = start.year, start.month
        while date(year, month, 1) <= end:
            if pay == "semimonthly":
                days.add(business_on_or_before(date(year, month, 15), country))
                days.add(_monthly_payday(year, month, "last_business", country))
            else:
                days.add(_monthly_payday(year, month, monthly_rule, country))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return frozenset(d for d in days if start <= d <= end)


@dataclass
class Payment:
    pid: int
    failed_at: datetime  # UTC
    amount: float
    network: str
    bin_prefix: str
    country: str
    zone: str
    pay: str
    paydays: frozenset[date]
    code: str
    kind: str
    network_code: str | None
    advice_code: str | None
    dead: bool
    funds_like: bool
    cancel_after_days: float
    draws: list[float] = field(repr=False, default_factory=list)


def population(model_name: str, models: dict, n: int, seed: int) -> list[Payment]:
    pop, model = models["population"], models["models"][model_name]
    rng = random.Random(f"{seed}:{model_name}")
    start = date.fromisoformat(pop["start"])
    countries = pop["countries"]
    declines = model["declines"]
    amount = pop["amount"]
    out: list[Payment] = []
    for pid in range(n):
        failed_at = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(
            seconds=rng.uniform(0, pop["days"] * 86400)
        )
        place = rng.choices(countries, weights=[c["share"] for c in countries])[0]
        zone = _pick(rng, place["zones"])
        pay = _pick(rng, place["pay"])
        rule = _pick(rng, place["monthly_day"])
        local_start = failed_at.astimezone(ZoneInfo(zone)).date()
        days = paydays(place["country"], pay, rule, rng.randrange(2), local_start - timedelta(days=1),
                       local_start + timedelta(days=70))
        network = _pick(rng, pop["networks"])
        decline = rng.choices(declines, weights=[d["share"] for d in declines])[0]
        kind_params = model["kinds"][decline["kind"]]
        value = math.exp(rng.gauss(math.log(amount["median"]), amount["sigma"]))
        out.append(Payment(
            pid=pid, failed_at=failed_at,
            amount=round(min(max(value, amount["min"]), amount["max"]), 2),
            network=network, bin_prefix=pop["bins"][network], country=place["country"], zone=zone,
            pay=pay, paydays=days, code=decline["code"], kind=decline["kind"],
            network_code=decline.get("network_code"),
            # Merchant Advice Codes are a Mastercard signal; other networks send only a response code.
            advice_code=decline.get("advice_code") if network == "mastercard" else None,
            dead=rng.random() < kind_params["dead"],
            funds_like=rng.random() < kind_params.get("funds_like", 0.0),
            cancel_after_days=rng.expovariate(model["cancel_hazard_per_day"]),
            draws=[rng.random() for _ in range(MAX_ATTEMPTS_DRAWN)],
        ))
    return out


class Issuer:
    """Approval probability of an attempt, from the model's parameters."""

    def __init__(self, model: dict) -> None:
        self.model = model

    def _funds(self, payment: Payment, local: datetime, params: dict) -> float:
        """Low until a payday after the failure, then high, decaying as the money is spent."""
        today = local.date() if local.hour >= PAYDAY_HOUR else local.date() - timedelta(days=1)
        failed_local = payment.failed_at.astimezone(ZoneInfo(payment.zone)).date()
        recent = [d for d in payment.paydays if failed_local < d <= today]
        if not recent:
            return params["floor"]
        since = (today - max(recent)).days
        return params["floor"] + params["payday_boost"] * math.exp(-since / params["payday_tau_days"])

    def probability(self, payment: Payment, at: datetime, declines_before: int,
                    last_attempt_at: datetime) -> float:
        if payment.dead:
            return 0.0
        model = self.model
        params = model["kinds"][payment.kind]
        local = at.astimezone(ZoneInfo(payment.zone))
        if payment.kind == "funds":
            p = self._funds(payment, local, params)
        elif payment.kind == "generic" and payment.funds_like:
            p = self._funds(payment, local, model["kinds"]["funds"])
        else:
            p = params["p"]
        p *= model["hour_factor"][local.hour] * model["weekday_factor"][local.weekday()]
        p *= model["fatigue_per_decline"] ** declines_before
        issuer_decline = payment.kind not in ("technical", "temporary")
        if issuer_decline and at - last_attempt_at < timedelta(hours=model["short_gap_hours"]):
            p *= model["short_gap_factor"]
        return min(p, model["max_probability"])

    def approves(self, payment: Payment, at: datetime, attempt_index: int, last_attempt_at: datetime) -> bool:
        """``attempt_index`` counts retries (0 = first retry); the original failure is one decline."""
        p = self.probability(payment, at, attempt_index + 1, last_attempt_at)
        return payment.draws[min(attempt_index, MAX_ATTEMPTS_DRAWN - 1)] < p

    def cancelled(self, payment: Payment, at: datetime) -> bool:
        return at - payment.failed_at > timedelta(days=payment.cancel_after_days)
