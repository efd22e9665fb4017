"""What a customer types into the test gateway's card form, read the way people type it.

An expiry comes as ``01/30``, ``0130``, ``1/30``, ``01 / 2030`` or ``01-30`` (browsers' autofill
for ``cc-exp`` gives several of these); each field's problem is told in the customer's language,
next to that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from ..gateways.test import CardRejected

FIELDS = ("number", "expiry", "cvc")
_SEPARATED = re.compile(r"(\d{1,2})\s*[/\-.]\s*(\d{2}|\d{4})")
_RUN = re.compile(r"(\d{2})(\d{2}|\d{4})")


def split_expiry(text: str) -> tuple[str, str] | None:
    """``"01 / 2030"`` -> ``("01", "2030")``; None when it is no month and year."""
    text = (text or "").strip()
    found = _SEPARATED.fullmatch(text) or _RUN.fullmatch(re.sub(r"\s+", "", text))
    if not found or not text.isascii():
        return None
    return found.group(1).zfill(2), found.group(2)


def normal_expiry(text: str) -> str:
    """``"MM/YY"`` or ``"MM/YYYY"`` for the gateway; raises ``CardRejected`` (expiry) when unreadable."""
    parts = split_expiry(text)
    if parts is None:
        raise CardRejected("Enter the expiry date as MM/YY.", "expiry", "unreadable")
    return "/".join(parts)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def missing(number: str, expiry: str, cvc: str) -> list[FieldError]:
    """Every empty field, so the customer sees them all at once."""
    empty = {"number": _("Enter your card number."), "expiry": _("Enter the expiry date (MM/YY)."),
             "cvc": _("Enter the security code from the card.")}
    given = {"number": number, "expiry": expiry, "cvc": cvc}
    return [FieldError(name, empty[name]) for name in FIELDS if not given[name].strip()]


def field_error(exc: CardRejected) -> FieldError:
    """The gateway's refusal, in the customer's language, on the field to correct."""
    if exc.field == "number":
        message = (_("This is a test checkout: please use one of the test cards.")
                   if exc.reason == "not_a_test_card"
                   else _("That card number doesn't look right. Please check it."))
    elif exc.field == "expiry":
        message = (_("This card has expired.") if exc.reason == "expired"
                   else _("Enter the expiry date as MM/YY."))
    else:
        message = _("Enter the security code from the card.")
    return FieldError(exc.field if exc.field in FIELDS else "number", message)
