"""Revtain's retry decisions vs fixed schedules on a simulated population of failed payments.

    .venv/bin/python bench/recovery_simulation.py                 # both models, 20,000 payments
    .venv/bin/python bench/recovery_simulation.py --model harsh --n 5000 --seed 3

The population and the issuer model are in ``bench/recovery_population.py`` and
``bench/data/issuer_models.json``. Revtain's policy runs the engine's real decision code, the same
functions the app calls (no Flask): the decline catalogue (``engine.declines.classify``), the
card-network rules (``engine.network_rules.verdict``) and the planner
(``engine.retry_plan.next_attempt``) with the defaults of ``revtain/config.py``. Every attempt of
every policy is checked against the network rules by the same referee before it is made; an attempt
the rules forbid is counted as a violation (and still made: that is what the schedule would do).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recovery_population import Issuer, Payment, load_models, population

from revtain.config import DEFAULTS
from revtain.engine import customer_clock, retry_plan
from revtain.engine.declines import classify
from revtain.engine.judgement import judge
from revtain.engine.network_rules import NetworkLimits, PastAttempt, never_reason, verdict

EXECUTE_DELAY = timedelta(minutes=1)  # the merchant calls execute just after its own attempt failed
LIMITS = NetworkLimits.from_dict(DEFAULTS["NETWORK_LIMITS"])
SMALLEST_BUDGET = min(budget[1] for budget in LIMITS.budgets("unknown"))

# A policy yields the moments of its attempts; after each it is told whether it was approved.
Policy = Callable[[Payment, Issuer], Iterator[datetime]]


@dataclass
class Outcome:
    recovered: bool = False
    attempts: int = 0
    violations: int = 0
    days: float | None = None


def original_attempt(payment: Payment, signals: bool) -> PastAttempt:
    return PastAttempt(
        at=payment.failed_at, outcome="declined", decline_code=payment.code,
        network_code=payment.network_code if signals else None,
        advice_code=payment.advice_code if signals else None,
    )


def repeat(original: PastAttempt, at: datetime) -> PastAttempt:
    """A later decline with the original's codes (the catalogue code is the original's: judged once)."""
    return PastAttempt(at=at, outcome="declined", network_code=original.network_code,
                       advice_code=original.advice_code)


def run(payment: Payment, issuer: Issuer, schedule: Iterator[datetime]) -> Outcome:
    """Make the attempts ``schedule`` asks for until one is approved or the customer is gone."""
    out = Outcome()
    # The referee knows every signal. Every decline of a payment repeats the original's codes, so
    # a never-again code is judged once and the later attempts count only for the budgets.
    never = never_reason(original_attempt(payment, signals=True), LIMITS) is not None
    history = [PastAttempt(at=payment.failed_at, outcome="declined", advice_code=payment.advice_code)]
    last = payment.failed_at
    floors = dict(LIMITS.advice_retry_after_hours)
    for at in schedule:
        if issuer.cancelled(payment, at):
            break
        # (speed) below the smallest budget and without an advice floor no rule can bind
        must_check = len(history) >= SMALLEST_BUDGET or payment.advice_code in floors
        if never or (must_check and not verdict(payment.network, history, at, LIMITS).allowed_now):
            out.violations += 1
        approved = issuer.approves(payment, at, out.attempts, last)
        out.attempts += 1
        last = at
        history.append(PastAttempt(at=at, outcome="approved" if approved else "declined",
                                   advice_code=None if approved else payment.advice_code))
        if approved:
            out.recovered = True
            out.days = (at - payment.failed_at).total_seconds() / 86400
            break
    return out


def fixed(offsets_days: list[float], honour_hard: bool) -> Policy:
    """Fixed offsets from the failure, at the failure's time of day. ``honour_hard``: skip the codes
    the issuer marks non-retryable (as Stripe does) and any never-again network signal."""
    def policy(payment: Payment, _issuer: Issuer) -> Iterator[datetime]:
        if honour_hard:
            first = verdict(payment.network, [original_attempt(payment, True)], payment.failed_at, LIMITS)
            if first.never or classify(payment.code).handling == "block":
                return
        for offset in offsets_days:
            yield payment.failed_at + timedelta(days=offset)
    return policy


def revtain(fields: str, merchant_zone: str) -> Policy:
    """What start -> settle -> schedule_next do, with the engine's pure functions: the first
    failure judged once (``engine.judgement.judge``), the network rules, the planner.

    ``fields``: "all" -- the merchant sends every field (network and advice codes, card network,
    customer timezone and country); "bin" -- the decline code and ``binPrefix``; "code" -- only
    ``originalDeclineCode`` (the client's timezone, an unknown network).
    """
    signals = fields == "all"  # networkDeclineCode, merchantAdviceCode

    def policy(payment: Payment, _issuer: Issuer) -> Iterator[datetime]:
        network = payment.network if fields != "code" else "unknown"  # cardNetwork or the BIN's
        first = original_attempt(payment, signals)
        decline = judge(payment.code, network_code=first.network_code, advice_code=first.advice_code,
                        network=network, limits=LIMITS)
        if not decline.retryable:  # a fraud block, or waiting for a new card
            return
        history = [first]
        now = payment.failed_at + EXECUTE_DELAY
        settings = settings_for(payment, fields, merchant_zone)
        if decline.handling == "attempt":  # charged at once by execute
            yield now
            history.append(repeat(history[0], now))
        scheduled = 0
        while True:
            rules = verdict(network, history, now, LIMITS)
            if rules.never:
                return
            # (speed) the first verdict judged the original's catalogue code; later ones need not
            history[0] = repeat(history[0], history[0].at)
            plan = retry_plan.next_attempt(
                failed_at=payment.failed_at, now=now, attempts_made=scheduled,
                category=decline.category, decline_code=decline.code, settings=settings,
                not_before=rules.not_before,
            )
            if plan is None:
                return
            now = plan.due_at
            scheduled += 1
            yield now
            history.append(repeat(history[0], now))
    return policy


def settings_for(payment: Payment, fields: str, merchant_zone: str) -> retry_plan.RetrySettings:
    """What schedule.retry_settings builds: the customer's clock from the fields the merchant sent."""
    if fields == "all":
        clock = customer_clock.resolve(payment.zone, payment.country, None, merchant_zone)
    elif fields == "bin":  # binPrefix only: the card's issuing country
        clock = customer_clock.resolve(None, None, payment.country, merchant_zone)
    else:
        clock = customer_clock.resolve(None, None, None, merchant_zone)
    return retry_plan.RetrySettings.from_config(CONFIG, clock)


CONFIG = dict(DEFAULTS)

FIXED: dict[str, Policy] = {
    "fixed stripe-like 8 in 14d": fixed([1, 2, 3, 5, 7, 9, 11, 14], honour_hard=True),
    "fixed 3-5-7 days": fixed([3, 5, 7], honour_hard=True),
    "fixed weekly x4": fixed([7, 14, 21, 28], honour_hard=True),
    "fixed daily x14": fixed([float(d) for d in range(1, 15)], honour_hard=True),
    "fixed daily x21": fixed([float(d) for d in range(1, 22)], honour_hard=True),
    "fixed aggressive 12h x14": fixed([0.5 * k for k in range(1, 15)], honour_hard=False),
}


BASELINES = ("fixed stripe-like 8 in 14d", "fixed daily x14")


def policies(merchant_zone: str) -> dict[str, Policy]:
    return {
        **FIXED,
        "revtain (decline code only)": revtain("code", merchant_zone),
        "revtain (code + binPrefix)": revtain("bin", merchant_zone),
        "revtain (every field)": revtain("all", merchant_zone),
    }


def simulate(model_name: str, models: dict, n: int, seed: int, only: str = "") -> list[dict]:
    pays = population(model_name, models, n, seed)
    issuer = Issuer(models["models"][model_name])
    total = sum(p.amount for p in pays)
    rows = []
    for name, policy in policies(models["population"]["merchant_timezone"]).items():
        if only and only not in name and name not in BASELINES:
            continue
        outcomes = [run(p, issuer, policy(p, issuer)) for p in pays]
        recovered = [o for o in outcomes if o.recovered]
        rows.append({
            "policy": name,
            "amount": sum(p.amount for p, o in zip(pays, outcomes, strict=True) if o.recovered),
            "share": sum(p.amount for p, o in zip(pays, outcomes, strict=True) if o.recovered) / total,
            "rate": len(recovered) / n,
            "attempts": sum(o.attempts for o in outcomes) / max(len(recovered), 1),
            "days": statistics.median(o.days for o in recovered) if recovered else float("nan"),
            "violations": sum(o.violations for o in outcomes),
            "fixed": name in FIXED,
        })
    return rows


def table(model_name: str, rows: list[dict], n: int) -> str:
    lawful = [r for r in rows if r["fixed"] and r["violations"] == 0]
    best = max(lawful, key=lambda r: r["amount"])
    lines = [
        f"model: {model_name}   payments: {n}   best lawful fixed schedule: {best['policy']}",
        f"{'policy':<30}{'recovered $':>13}{'of failed':>10}{'vs best':>9}{'rate':>8}"
        f"{'att/rec':>9}{'med days':>9}{'violations':>11}",
    ]
    for r in rows:
        lift = 100 * (r["amount"] / best["amount"] - 1)
        lines.append(
            f"{r['policy']:<30}{r['amount']:>13,.0f}{100 * r['share']:>9.1f}%{lift:>+8.1f}%"
            f"{100 * r['rate']:>7.1f}%{r['attempts']:>9.2f}{r['days']:>9.1f}{r['violations']:>11}"
            + ("  (breaks network rules)" if r["fixed"] and r["violations"] else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="issuer model(s) to run (default: all)")
    parser.add_argument("--n", type=int, default=20_000, help="failed payments (default 20,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="run only the policies whose name contains this "
                        "(and the Stripe-like and daily baselines)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                        help="override a RETRY_* setting of revtain/config.py, e.g. RETRY_WINDOW_DAYS=28")
    args = parser.parse_args(argv)
    for item in args.set:
        name, _, value = item.partition("=")
        CONFIG[name] = json.loads(value)
    models = load_models()
    names = args.model or list(models["models"])
    started = time.monotonic()
    # One process per model (the machine's cores); the settings overrides go along.
    with ProcessPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        tables = pool.map(_one_model, [(name, models, args.n, args.seed, args.only, CONFIG)
                                       for name in names])
        for text in tables:
            print(text + "\n")
    print(f"({time.monotonic() - started:.1f} s)")
    return 0


def _one_model(job: tuple) -> str:
    name, models, n, seed, only, config = job
    CONFIG.update(config)
    return table(name, simulate(name, models, n, seed, only), n)


if __name__ == "__main__":
    raise SystemExit(main())
