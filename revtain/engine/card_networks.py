"""Which card network a card belongs to, from the leading digits of its number (the BIN / IIN)."""

from __future__ import annotations

from typing import Literal

Network = Literal["visa", "mastercard", "amex", "discover", "jcb", "unknown"]
NETWORKS: tuple[Network, ...] = ("visa", "mastercard", "amex", "discover", "jcb", "unknown")


def _starts_in(digits: str, low: int, high: int) -> bool:
    """The first len(str(low)) digits lie in [low, high] (both bounds have the same length)."""
    width = len(str(low))
    return len(digits) >= width and low <= int(digits[:width]) <= high


def network_for_bin(bin_prefix: str | None) -> Network:
    """The network of a card from its BIN (any number of leading digits; spaces and dashes ignored).

    A prefix too short to decide (e.g. "2" or "35") or not made of digits is ``"unknown"``, which the
    network rules treat conservatively.
    """
    if not bin_prefix:
        return "unknown"
    digits = bin_prefix.strip().replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        return "unknown"
    if digits.startswith("4"):
        return "visa"
    if _starts_in(digits, 51, 55) or _starts_in(digits, 2221, 2720):
        return "mastercard"
    if digits.startswith(("34", "37")):
        return "amex"
    if digits.startswith(("6011", "65")) or _starts_in(digits, 644, 649):
        return "discover"
    if _starts_in(digits, 3528, 3589):
        return "jcb"
    return "unknown"


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit holds: a plausible card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0
