"""What a card's leading digits (its BIN / IIN) say: network, type, issuer and issuing country.

The table is ``data/bins.sqlite3``, derived from the MIT-licensed bin-cc data (PyPI
``creditcard-identifier``) by ``scripts/build_bin_data.py``; its ``meta`` table records the source,
version, licence and checksum (see ``data/BINS.md``). It holds 6-digit BINs. A longer prefix is looked
up by its first six digits; a shorter one (4 or 5 digits) answers only what every known BIN under it
agrees on, so ``"4242"`` is a Visa card but its issuer stays unknown.

The card network for card-network rules comes from the networks' published IIN ranges
(:func:`card_networks.network_for_bin`) first; the table only fills in what the ranges cannot tell.
Read-only and deterministic: the same prefix always gives the same answer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .card_networks import Network, network_for_bin

DATA_FILE = Path(__file__).with_name("data") / "bins.sqlite3"

CARD_TYPES = ("credit", "debit", "prepaid", "unknown")

# Schemes of the data set that are processed on one of the networks the rules know.
_SCHEME_NETWORK: dict[str, Network] = {
    "visa": "visa",
    "visa-electron": "visa",
    "mastercard": "mastercard",
    "maestro": "mastercard",
    "maestro-uk": "mastercard",
    "amex": "amex",
    "discover": "discover",
    "diners": "discover",
    "jcb": "jcb",
}


@dataclass(frozen=True, slots=True)
class BinInfo:
    prefix: str
    card_network: Network  # visa | mastercard | amex | discover | jcb | unknown
    card_type: str  # credit | debit | prepaid | unknown
    issuer_name: str | None
    issuer_country: str | None  # ISO 3166-1 alpha-2
    scheme: str | None = None  # the data set's brand (e.g. "unionpay", "elo"), when known


def normalise_card_type(raw: str | None) -> str:
    """The data set's types (CREDIT, debit, CHARGE CARD, PREPAID, ...) as one of ``CARD_TYPES``."""
    value = (raw or "").strip().lower()
    if value in ("credit", "charge card", "charge"):
        return "credit"
    if value in ("debit", "prepaid"):
        return value
    return "unknown"


def _digits(prefix: str) -> str:
    text = (prefix or "").strip()
    if not (4 <= len(text) <= 8 and text.isascii() and text.isdigit()):
        raise ValueError("prefix must be 4 to 8 digits")
    return text


_local = threading.local()


def _connection() -> sqlite3.Connection:
    """One read-only connection per thread and process (never shared across threads or a fork)."""
    conn, pid = getattr(_local, "conn", None), getattr(_local, "pid", None)
    if conn is None or pid != os.getpid():
        conn = sqlite3.connect(f"{DATA_FILE.as_uri()}?mode=ro&immutable=1", uri=True)
        _local.conn, _local.pid = conn, os.getpid()
    return conn


def _rows(low: int, high: int) -> list[tuple[str, str, str | None, str | None]]:
    return (
        _connection()
        .execute(
            "SELECT k.scheme, k.card_type, k.issuer, k.country FROM bins b JOIN kinds k ON k.id = b.kind "
            "WHERE b.bin BETWEEN ? AND ? GROUP BY b.kind",
            (low, high),
        )
        .fetchall()
    )


def _agreed(values: set) -> object | None:
    return next(iter(values)) if len(values) == 1 else None


@lru_cache(maxsize=4096)
def lookup(prefix: str) -> BinInfo:
    """What is known of the cards whose numbers start with ``prefix`` (4 to 8 digits, else ValueError)."""
    digits = _digits(prefix)
    six = digits[:6]
    low = int(six.ljust(6, "0"))
    high = int(six.ljust(6, "9"))
    rows = _rows(low, high)
    scheme = _agreed({row[0] for row in rows})
    network = network_for_bin(digits)
    if network == "unknown" and isinstance(scheme, str):
        network = _SCHEME_NETWORK.get(scheme, "unknown")
    card_type = _agreed({row[1] for row in rows}) or "unknown"
    return BinInfo(
        prefix=digits,
        card_network=network,
        card_type=str(card_type),
        issuer_name=_agreed({row[2] for row in rows}) if rows else None,  # type: ignore[arg-type]
        issuer_country=_agreed({row[3] for row in rows}) if rows else None,  # type: ignore[arg-type]
        scheme=scheme if isinstance(scheme, str) else None,
    )


def issuing_country(bin_prefix: str | None) -> str | None:
    """The card's issuing country (ISO alpha-2) from its BIN, or None when unknown or not a BIN."""
    if not bin_prefix:
        return None
    try:
        return lookup(bin_prefix[:8]).issuer_country
    except ValueError:
        return None


def source() -> dict[str, str]:
    """Where the table comes from: source, package, version, licence, sha256, built_at, bins."""
    return dict(_connection().execute("SELECT key, value FROM meta").fetchall())
