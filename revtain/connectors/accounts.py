"""Setting up a client's connector: the platform's credentials (checked, then stored only
encrypted), the hand-off setting, and what the merchant pastes into the platform."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..clock import now as clock_now
from ..crypto import decrypt, encrypt
from ..extensions import db
from ..gateways.platforms import for_platform
from ..models import Client, ConnectorAccount
from . import MODULES


class ConnectorSetupError(ValueError):
    """Input a person must correct; the message says what and how."""


@dataclass(frozen=True)
class Instructions:
    platform: str
    label: str
    url: str
    setup: str
    hand_off_by_setting: str | None = None  # what to switch off in the platform before the hand-off


def webhook_url(client_id: str, platform: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/api/connectors/{platform}/webhook/{client_id}"


def instructions(client_id: str, platform: str) -> Instructions:
    module = MODULES[platform]
    return Instructions(platform, module.LABEL, webhook_url(client_id, platform), module.SETUP,
                        hand_off_by_setting(platform))


def hand_off_by_setting(platform: str) -> str | None:
    """What the merchant must switch off in the platform before the hand-off, where the platform's
    own retries are a setting only they can change; None where Revtain stops them per invoice."""
    return getattr(MODULES[platform], "HAND_OFF_BY_SETTING", None)


def default_hand_off(platform: str) -> bool:
    """A new connector's hand-off: on where Revtain can stop the platform's retries itself, off
    where only the merchant can (until they have, both would retry the card)."""
    return not hand_off_by_setting(platform)


def get(client_id: str, platform: str) -> ConnectorAccount | None:
    return db.session.execute(
        select(ConnectorAccount).where(ConnectorAccount.client_id == client_id,
                                       ConnectorAccount.platform == platform)
    ).scalar_one_or_none()


def for_client(client_id: str) -> list[ConnectorAccount]:
    return list(db.session.execute(
        select(ConnectorAccount).where(ConnectorAccount.client_id == client_id)
        .order_by(ConnectorAccount.platform)
    ).scalars())


def credentials_of(account: ConnectorAccount) -> dict[str, str]:
    return json.loads(decrypt(account.credentials_encrypted))


def validated(platform: str, credentials: Mapping[str, Any]) -> str:
    """The credentials, checked by the platform's connector and client, as the JSON to encrypt
    (``ConnectorSetupError`` says what is wrong)."""
    module = MODULES.get(platform)
    if module is None:
        raise ConnectorSetupError(f"platform must be one of {', '.join(MODULES)}")
    try:
        plain = json.dumps(module.check_credentials(credentials))
        for_platform(platform, plain)  # the platform's client accepts them
    except ValueError as exc:
        raise ConnectorSetupError(str(exc)) from None
    return plain


def set_up(
    client: Client,
    platform: str,
    credentials: Mapping[str, Any],
    *,
    stop_platform_retries: bool | None = None,
    keep_blank_secrets: bool = False,
) -> ConnectorAccount:
    """Create or replace the client's connector for ``platform``. With ``keep_blank_secrets`` (the
    dashboard form, where secrets are write-only) a blank secret field keeps the stored value."""
    module = MODULES.get(platform)
    if module is None:
        raise ConnectorSetupError(f"platform must be one of {', '.join(MODULES)}")
    account = get(client.id, platform)
    given = dict(credentials)
    if keep_blank_secrets and account is not None:
        stored = credentials_of(account)
        for field in module.CREDENTIALS:
            if field.secret and not str(given.get(field.name) or "").strip():
                given[field.name] = stored.get(field.name, "")
    plain = validated(platform, given)
    now = clock_now()
    if account is None:
        account = ConnectorAccount(client_id=client.id, platform=platform, created_at=now,
                                   stop_platform_retries=default_hand_off(platform))
        db.session.add(account)
    account.credentials_encrypted = encrypt(plain)
    if stop_platform_retries is not None:
        account.stop_platform_retries = stop_platform_retries
    account.updated_at = now
    db.session.commit()
    return account


def set_hand_off(account: ConnectorAccount, stop_platform_retries: bool) -> ConnectorAccount:
    account.stop_platform_retries = stop_platform_retries
    account.updated_at = clock_now()
    db.session.commit()
    return account


def remove(account: ConnectorAccount) -> None:
    """Stop accepting this platform's webhooks (stored events and recoveries stay)."""
    db.session.delete(account)
    db.session.commit()
