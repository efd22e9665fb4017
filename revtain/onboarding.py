"""Onboarding a merchant and rotating its credentials (contract 11, Decision 7).

Credentials are returned once, to be shown once: the secret key is stored only as a hash and
the webhook secret only encrypted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from sqlalchemy import select, update

from . import credentials, outbound
from .brand_colors import brand_color_problem
from .clock import now as clock_now
from .crypto import encrypt
from .dunning.sequences import install_default_templates
from .extensions import db
from .gateways import for_name
from .gateways.platforms import PLATFORMS
from .models import ApiKey, Client
from .models.client import GATEWAYS
from .recovery.pre_retry import PreRetryCheckError
from .recovery.pre_retry import configure as configure_pre_retry_check
from .recovery.proof_mode import ProofModeError
from .recovery.proof_mode import configure as configure_proof_mode

CONNECTOR_PLATFORMS = PLATFORMS
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class OnboardingError(ValueError):
    """Input a person must correct; the message says what and how."""


@dataclass(frozen=True)
class IssuedCredentials:
    client_id: str
    api_key: str
    publishable_key: str | None
    webhook_signing_secret: str

    def as_json(self) -> dict:
        return {
            "clientId": self.client_id,
            "apiKey": self.api_key,
            "publishableKey": self.publishable_key,
            "webhookSigningSecret": self.webhook_signing_secret,
            "connectorWebhookUrls": connector_urls(self.client_id),
        }


def connector_urls(client_id: str) -> dict[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {p: f"{base}/api/connectors/{p}/webhook/{client_id}" for p in CONNECTOR_PLATFORMS}


def validate_webhook_url(url: str | None) -> str | None:
    """The URL to save, or ``OnboardingError``: https, and a public destination (``outbound``)."""
    if not url:
        return None
    try:
        return outbound.check_url(url, allow_private=outbound.private_allowed(),
                                  allow_http=current_app.config["WEBHOOK_ALLOW_HTTP"])
    except outbound.Refused as exc:
        raise OnboardingError(f"webhook URL {exc.reason}") from None


def _validate(
    name: str, gateway: str, billing_cycle_day: int | None, timezone: str,
    card_update_domain: str | None, brand_primary_color: str | None,
) -> None:
    if not name.strip():
        raise OnboardingError("name must not be empty")
    if gateway not in GATEWAYS:
        raise OnboardingError(f"gateway must be one of {', '.join(GATEWAYS)}")
    if billing_cycle_day is not None and not 1 <= billing_cycle_day <= 31:
        raise OnboardingError("billing cycle day must be between 1 and 31")
    try:
        if timezone not in available_timezones():
            raise ZoneInfoNotFoundError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OnboardingError(f"unknown IANA timezone {timezone!r} (e.g. Europe/Paris)") from exc
    if card_update_domain and not _HOSTNAME.match(card_update_domain):
        raise OnboardingError("card update domain must be a host name like pay.example.com")
    if brand_primary_color and not _COLOR.match(brand_primary_color):
        raise OnboardingError("brand primary color must look like #4f46e5")
    problem = brand_color_problem(brand_primary_color) if brand_primary_color else None
    if problem:
        raise OnboardingError(problem)


def sealed_credentials(gateway: str, credentials: dict | None) -> str | None:
    """Check a gateway's credentials by building its adapter, then encrypt them (never stored in
    clear). The test gateway takes none."""
    if gateway == "test":
        if credentials:
            raise OnboardingError("the test gateway takes no credentials")
        return None
    if not credentials:
        raise OnboardingError(f"the {gateway} gateway needs its credentials (see revtain onboard --help)")
    plain = json.dumps(credentials)
    try:
        for_name(gateway, plain)
    except (ValueError, LookupError) as exc:
        raise OnboardingError(f"{gateway} credentials: {exc}") from None
    return encrypt(plain)


def _backups(primary: str, backups: list[tuple[str, dict | None]]) -> list[dict]:
    if len(backups) > 2:
        raise OnboardingError("at most 2 backup gateways")
    sealed = []
    for name, secrets in backups:
        if name not in GATEWAYS or name == "test":
            raise OnboardingError(f"backup gateway must be stripe or braintree (got {name!r})")
        sealed.append({"gateway": name, "credentials": sealed_credentials(name, secrets)})
    return sealed


def _add_keys(client: Client, now) -> tuple[str, str]:
    secret, publishable = credentials.new_secret_key(), credentials.new_publishable_key()
    for kind, key in (("secret", secret), ("publishable", publishable)):
        db.session.add(
            ApiKey(
                client_id=client.id,
                kind=kind,
                key_hash=credentials.hash_key(key),
                prefix=credentials.display_prefix(key),
                created_at=now,
            )
        )
    return secret, publishable


def onboard(
    *,
    name: str,
    webhook_url: str | None,
    gateway: str = "test",
    gateway_credentials: dict | None = None,
    backup_gateways: list[tuple[str, dict | None]] | None = None,
    billing_cycle_day: int | None = None,
    timezone: str = "UTC",
    dunning_enabled: bool = True,
    card_update_domain: str | None = None,
    brand_name: str | None = None,
    brand_logo_url: str | None = None,
    brand_primary_color: str | None = None,
    proof_mode_share: int | None = None,
    pre_retry_check_url: str | None = None,
) -> IssuedCredentials:
    card_update_domain = card_update_domain.lower().strip() if card_update_domain else None
    _validate(name, gateway, billing_cycle_day, timezone, card_update_domain, brand_primary_color)
    webhook_url = validate_webhook_url(webhook_url)
    sealed = sealed_credentials(gateway, gateway_credentials)
    backups = _backups(gateway, backup_gateways or [])
    if card_update_domain and db.session.execute(
        select(Client.id).where(Client.card_update_domain == card_update_domain)
    ).first():
        raise OnboardingError(f"card update domain {card_update_domain} belongs to another client")

    now = clock_now()
    webhook_secret = credentials.new_webhook_secret()
    client = Client(
        name=name.strip(),
        webhook_url=webhook_url,
        webhook_secret_encrypted=encrypt(webhook_secret),
        gateway=gateway,
        gateway_credentials_encrypted=sealed,
        backup_gateways=backups,
        billing_cycle_day=billing_cycle_day,
        timezone=timezone,
        dunning_enabled=dunning_enabled,
        dunning_channel="email",
        card_update_domain=card_update_domain,
        brand_name=brand_name,
        brand_logo_url=brand_logo_url,
        brand_primary_color=brand_primary_color,
        created_at=now,
    )
    if proof_mode_share is not None:  # Proof Mode on from the first failed payment
        try:
            configure_proof_mode(client, enabled=True, share=proof_mode_share)
        except ProofModeError as exc:
            raise OnboardingError(str(exc)) from None
    try:
        configure_pre_retry_check(client, url=pre_retry_check_url)
    except PreRetryCheckError as exc:
        raise OnboardingError(str(exc)) from None
    db.session.add(client)
    db.session.flush()
    secret, publishable = _add_keys(client, now)
    db.session.commit()
    install_default_templates(client, now)  # to copy and edit; nothing is sent until published
    return IssuedCredentials(client.id, secret, publishable, webhook_secret)


def rotate_keys(client_id: str) -> IssuedCredentials:
    """A new secret key, publishable key and webhook secret; the old keys stop working at once
    (in web processes that cached them, within ``API_KEY_CACHE_SECONDS``)."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise OnboardingError(f"no client with id {client_id}")
    now = clock_now()
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.client_id == client.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    webhook_secret = credentials.new_webhook_secret()
    client.webhook_secret_encrypted = encrypt(webhook_secret)
    secret, publishable = _add_keys(client, now)
    db.session.commit()
    return IssuedCredentials(client.id, secret, publishable, webhook_secret)
