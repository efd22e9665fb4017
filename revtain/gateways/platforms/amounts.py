"""Billing platforms that speak in decimal major units (Recurly, Zuora, ReCharge): their amounts as
the currency's smallest unit, exactly, and back. Never rounded: an amount finer than the currency's
smallest unit is an error, not a cent lost or gained."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ...currencies import exponent


def minor_units(amount: Any, currency: str, platform: str) -> int:
    """``amount`` in major units (a JSON number or a decimal string) as the smallest unit:
    49.99 USD → 4999, 5000 JPY → 5000, 12.345 KWD → 12345; None → 0. ``ValueError`` (naming
    ``platform``) for an amount finer than the currency's smallest unit or not a number at all."""
    if amount is None:
        return 0
    if isinstance(amount, bool) or not isinstance(amount, int | float | str | Decimal):
        raise ValueError(f"{platform} sent an amount that is not a number: {amount!r}")
    try:
        # repr() of a float is the shortest decimal that reads back as it: the JSON literal.
        value = Decimal(repr(amount) if isinstance(amount, float) else str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"{platform} sent an amount that is not a number: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"{platform} sent an amount that is not a number: {amount!r}")
    scaled = value.scaleb(exponent(currency.upper()))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{platform}'s amount {value} {currency} is finer than the currency's smallest unit")
    return int(scaled)


def major_units(amount: int, currency: str) -> Decimal:
    """The smallest unit back as the exact decimal a platform's API takes: 4999 USD → 49.99."""
    return Decimal(int(amount)).scaleb(-exponent(currency.upper()))
