"""A client's alert settings: which channels, who receives them, the thresholds, Twilio's credentials.

Set at onboarding, with ``revtain alerts set`` and in the dashboard (admins); every face hands the
values to ``validated`` and ``save``, so the rules are the same everywhere. Twilio's auth token is
stored only encrypted and never shown again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..clock import now as clock_now
from ..crypto import decrypt, encrypt
from ..currencies import ISO_4217, exponent
from ..extensions import db
from ..models import AlertSettings, Client
from ..models.alert import CHANNELS, EMAIL, SMS, WEBHOOK

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
AUTH_TOKEN = re.compile(r"^[0-9a-zA-Z]{32}$")
MAX_RECIPIENTS = 10


class AlertSettingsError(ValueError):
    """Input a person must correct; the message says what and how."""


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str
    sender: str  # a phone number (E.164) or a Messaging Service SID (MG…)

    def as_json(self) -> str:
        return json.dumps(
            {"account_sid": self.account_sid, "auth_token": self.auth_token, "from": self.sender}
        )


@dataclass(frozen=True)
class Settings:
    channels: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    thresholds: dict[str, int] = field(default_factory=dict)
    twilio: TwilioCredentials | None = None  # on ``load``: None unless SMS credentials are stored


# -- parsing what people type ---------------------------------------------------------------------


def _items(values: str | list[str] | tuple[str, ...] | None, separators: str = r"[\s,;]+") -> list[str]:
    """Comma, semicolon, space or newline separated, or already a list; empty items dropped."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [item.strip() for value in values for item in re.split(separators, value) if item.strip()]


def parse_channels(values) -> tuple[str, ...]:
    chosen = {item.upper() for item in _items(values)} - {"NONE"}
    unknown = chosen - set(CHANNELS)
    if unknown:
        raise AlertSettingsError(
            f"notification channels are {', '.join(CHANNELS)} (got {', '.join(sorted(unknown))})"
        )
    return tuple(c for c in CHANNELS if c in chosen)


def parse_emails(values) -> tuple[str, ...]:
    emails = list(dict.fromkeys(item.strip() for item in _items(values)))
    bad = [e for e in emails if not EMAIL_ADDRESS.match(e) or len(e) > 320]
    if bad:
        raise AlertSettingsError(f"not an email address: {bad[0]!r}")
    if len(emails) > MAX_RECIPIENTS:
        raise AlertSettingsError(f"at most {MAX_RECIPIENTS} alert email addresses")
    return tuple(emails)


def parse_phones(values) -> tuple[str, ...]:
    # One per line or comma separated; spaces, dashes, dots and brackets inside a number are ignored.
    phones = list(dict.fromkeys(re.sub(r"[\s\-().]", "", item) for item in _items(values, r"[,;\n]+")))
    bad = [p for p in phones if not E164.match(p)]
    if bad:
        raise AlertSettingsError(
            f"phone numbers must be in international format, like +14155550123 (got {bad[0]!r})"
        )
    if len(phones) > MAX_RECIPIENTS:
        raise AlertSettingsError(f"at most {MAX_RECIPIENTS} alert phone numbers")
    return tuple(phones)


def parse_threshold(text: str) -> tuple[str, int]:
    """``USD:25.00`` (or ``USD 25``, ``25.00 USD``) -> ``("USD", 2500)``, in the currency's smallest unit."""
    parts = [p for p in re.split(r"[\s:=]+", text.strip()) if p]
    if len(parts) == 2 and parts[0][:1].isdigit():
        parts.reverse()
    if len(parts) != 2:
        raise AlertSettingsError(f"a threshold looks like USD:25.00 (got {text!r})")
    currency, amount = parts[0].upper(), parts[1]
    if currency not in ISO_4217:
        raise AlertSettingsError(f"unknown currency {currency!r} in threshold {text!r}")
    digits = exponent(currency)
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise AlertSettingsError(f"not an amount: {amount!r} in threshold {text!r}") from None
    minor = value * 10**digits
    if not value.is_finite() or value < 0 or minor != minor.to_integral_value() or minor > 10**12:
        raise AlertSettingsError(
            f"{currency} amounts have {digits} decimal places at most and cannot be negative (got {amount!r})"
        )
    return currency, int(minor)


def parse_thresholds(values) -> dict[str, int]:
    if isinstance(values, str):
        values = re.split(r"[,;\n]+", values)
    thresholds: dict[str, int] = {}
    for text in values or ():
        if text.strip():
            currency, minor = parse_threshold(text)
            thresholds[currency] = minor
    return thresholds


def format_threshold(currency: str, minor: int) -> str:
    digits = exponent(currency)
    return f"{currency}:{minor / 10**digits:.{digits}f}"


def parse_twilio(
    account_sid: str | None, auth_token: str | None, sender: str | None
) -> TwilioCredentials | None:
    """All three or none (None: keep what is stored)."""
    given = [v.strip() if v else "" for v in (account_sid, auth_token, sender)]
    if not any(given):
        return None
    sid, token, sender_ = given
    if not all(given):
        raise AlertSettingsError(
            "Twilio needs the account SID, the auth token and the sender (From) together"
        )
    if not ACCOUNT_SID.match(sid):
        raise AlertSettingsError(
            "the Twilio account SID starts with AC followed by 32 hexadecimal characters"
        )
    if not AUTH_TOKEN.match(token):
        raise AlertSettingsError(
            "the Twilio auth token is 32 letters and digits (Twilio Console, Account Info)"
        )
    if not (E164.match(sender_) or MESSAGING_SERVICE_SID.match(sender_)):
        raise AlertSettingsError(
            "the Twilio sender is a phone number of the account, like +14155550123, or a Messaging Service "
            "SID (MG…)"
        )
    return TwilioCredentials(sid, token, sender_)


# -- the rules, and the row --------------------------------------------------------------------------


def validated(settings: Settings, *, webhook_url: str | None, twilio_stored: bool) -> Settings:
    """What each chosen channel needs. ``twilio_stored``: credentials are already on file."""
    if EMAIL in settings.channels and not settings.emails:
        raise AlertSettingsError("EMAIL alerts need at least one alert email address")
    if SMS in settings.channels:
        if not settings.phones:
            raise AlertSettingsError("SMS alerts need at least one phone number")
        if settings.twilio is None and not twilio_stored:
            raise AlertSettingsError(
                "SMS alerts are sent through your Twilio account: give its account SID, auth token and sender"
            )
    if WEBHOOK in settings.channels and not webhook_url:
        raise AlertSettingsError("WEBHOOK alerts go to your webhook URL: set one first")
    return settings


def _row(client_id: str) -> AlertSettings | None:
    return db.session.get(AlertSettings, client_id)


def save(client: Client, settings: Settings) -> AlertSettings:
    """Check ``settings`` against the client and store them (commits)."""
    row = _row(client.id)
    validated(
        settings, webhook_url=client.webhook_url, twilio_stored=bool(row and row.twilio_credentials_encrypted)
    )
    if row is None:
        row = AlertSettings(client_id=client.id)
        db.session.add(row)
    row.channels = list(settings.channels)
    row.emails = list(settings.emails)
    row.phones = list(settings.phones)
    row.thresholds = dict(settings.thresholds)
    if settings.twilio is not None:
        row.twilio_credentials_encrypted = encrypt(settings.twilio.as_json())
    row.updated_at = clock_now()
    db.session.commit()
    return row


def load(client_id: str) -> Settings:
    row = _row(client_id)
    if row is None:
        return Settings()
    return Settings(
        tuple(row.channels or ()),
        tuple(row.emails or ()),
        tuple(row.phones or ()),
        dict(row.thresholds or {}),
        twilio_credentials(row),
    )


def twilio_credentials(row: AlertSettings | None) -> TwilioCredentials | None:
    if row is None or not row.twilio_credentials_encrypted:
        return None
    stored = json.loads(decrypt(row.twilio_credentials_encrypted))
    return TwilioCredentials(stored["account_sid"], stored["auth_token"], stored["from"])


def masked_sid(settings: Settings) -> str | None:
    """Enough of the account SID to recognise it; the auth token is never shown."""
    return (
        f"{settings.twilio.account_sid[:6]}…{settings.twilio.account_sid[-4:]}" if settings.twilio else None
    )
