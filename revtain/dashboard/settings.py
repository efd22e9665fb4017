"""Settings: webhook URL, key rotation, general settings, the card-update domain and branding.

Admins see and change everything; marketing sees and changes the branding only. Each section is
its own form posted to its own URL; a bad value re-renders the page with that form's errors.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..cardupdate.domains import DomainCheckFailed, verify
from ..cardupdate.links import public_host
from ..extensions import db
from ..models import ApiKey, Client
from ..onboarding import OnboardingError, connector_urls, rotate_keys, validate_webhook_url
from ..recovery.pre_retry import PreRetryCheckError
from ..recovery.pre_retry import configure as configure_pre_retry_check
from ..recovery.proof_mode import ProofModeError
from ..recovery.proof_mode import configure as configure_proof_mode
from . import bp, current_client
from .auth import can, requires
from .forms import (
    BrandingForm,
    DomainCheckForm,
    DomainForm,
    GeneralSettingsForm,
    PreRetryCheckForm,
    ProofModeForm,
    RotateKeysForm,
    WebhookUrlForm,
)

FORMS = {
    "webhook": WebhookUrlForm,
    "rotate": RotateKeysForm,
    "general": GeneralSettingsForm,
    "proof": ProofModeForm,
    "precheck": PreRetryCheckForm,
    "domain": DomainForm,
    "check": DomainCheckForm,
    "branding": BrandingForm,
}


def _defaults(client: Client) -> dict[str, dict]:
    return {
        "webhook": {"url": client.webhook_url},
        "general": {"billing_cycle_day": client.billing_cycle_day, "timezone": client.timezone,
                    "dunning_enabled": client.dunning_enabled, "dunning_channel": client.dunning_channel},
        "proof": {"enabled": client.proof_mode_enabled, "share": client.proof_mode_share},
        "precheck": {"url": client.pre_retry_check_url, "timeout": client.pre_retry_check_timeout},
        "domain": {"domain": client.card_update_domain},
        "branding": {"brand_name": client.brand_name, "brand_logo_url": client.brand_logo_url,
                     "brand_primary_color": client.brand_primary_color,
                     "brand_support_email": client.brand_support_email,
                     "brand_support_url": client.brand_support_url},
    }


def _page(client: Client, submitted: tuple[str, FlaskForm] | None = None, status: int = 200, **context):
    defaults = _defaults(client)
    forms = {
        name: cls(formdata=None, prefix=name, data=defaults.get(name, {})) for name, cls in FORMS.items()
    }
    if submitted:
        forms[submitted[0]] = submitted[1]
    keys = []
    if can("keys"):
        keys = list(db.session.execute(
            select(ApiKey)
            .where(ApiKey.client_id == client.id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.id)
        ).scalars())
    return render_template(
        "dashboard/settings.html", forms=forms, keys=keys, public_host=public_host(),
        connector_urls=connector_urls(client.id) if can("settings") else {}, **context,
    ), status


def _submitted(name: str) -> FlaskForm:
    return FORMS[name](prefix=name)


@bp.get("/settings")
@requires("settings", "branding")
def settings():
    return _page(current_client())


@bp.post("/settings/webhook")
@requires("settings")
def save_webhook_url():
    client = current_client()
    form = _submitted("webhook")
    if form.validate_on_submit():
        try:
            client.webhook_url = validate_webhook_url(form.url.data or None)
        except OnboardingError as exc:
            message = str(exc)  # not .capitalize(): it would lower-case "URL" and names
            form.url.errors.append(message[:1].upper() + message[1:] + ".")
        else:
            db.session.commit()
            flash("Webhook URL saved." if client.webhook_url
                  else "Webhook URL removed: no webhooks are sent.", "success")
            return redirect(url_for("dashboard.settings"))
    return _page(client, ("webhook", form), 400)


@bp.post("/settings/keys/rotate")
@requires("keys")
def rotate():
    client = current_client()
    form = _submitted("rotate")
    if not form.validate_on_submit():
        return _page(client, ("rotate", form), 400)
    issued = rotate_keys(client.id)
    # Shown in this response only: never stored, never put in the session or a redirect.
    return _page(client, issued=issued)


@bp.post("/settings/general")
@requires("settings")
def save_general():
    client = current_client()
    form = _submitted("general")
    if not form.validate_on_submit():
        return _page(client, ("general", form), 400)
    client.billing_cycle_day = form.billing_cycle_day.data
    client.timezone = form.timezone.data
    client.dunning_enabled = bool(form.dunning_enabled.data)
    client.dunning_channel = form.dunning_channel.data
    db.session.commit()
    flash("Settings saved.", "success")
    return redirect(url_for("dashboard.settings"))


@bp.post("/settings/proof-mode")
@requires("settings")
def save_proof_mode():
    client = current_client()
    form = _submitted("proof")
    if form.validate_on_submit():
        try:
            configure_proof_mode(client, enabled=bool(form.enabled.data), share=form.share.data)
        except ProofModeError as exc:
            form.share.errors.append(str(exc).capitalize() + ".")
        else:
            db.session.commit()
            flash(f"Proof Mode is on: {client.proof_mode_share} % of customers are held out." if
                  client.proof_mode_enabled else "Proof Mode is off.", "success")
            return redirect(url_for("dashboard.settings"))
    return _page(client, ("proof", form), 400)


@bp.post("/settings/pre-retry-check")
@requires("settings")
def save_pre_retry_check():
    client = current_client()
    form = _submitted("precheck")
    if form.validate_on_submit():
        try:
            configure_pre_retry_check(client, url=form.url.data or None, timeout=form.timeout.data)
        except PreRetryCheckError as exc:
            message = str(exc)
            field = form.timeout if "timeout" in message else form.url
            field.errors.append(message[:1].upper() + message[1:] + ".")
        else:
            db.session.commit()
            flash("Pre-retry check saved: Revtain asks before each scheduled retry."
                  if client.pre_retry_check_url
                  else "Pre-retry check off: scheduled retries go ahead without asking.", "success")
            return redirect(url_for("dashboard.settings"))
    return _page(client, ("precheck", form), 400)


@bp.post("/settings/domain")
@requires("settings")
def save_domain():
    client = current_client()
    form = _submitted("domain")
    if form.validate_on_submit():
        domain = form.domain.data or None
        taken = domain and db.session.execute(
            select(Client.id).where(Client.card_update_domain == domain, Client.id != client.id)
        ).first()
        if taken:
            form.domain.errors.append(f"{domain} is already used by another account.")
        elif domain == public_host():
            form.domain.errors.append("Use a host name on your own domain, not Revtain's.")
        else:
            if domain != client.card_update_domain:
                client.card_update_domain = domain
                client.card_update_domain_verified_at = None  # a new domain must be checked again
            db.session.commit()
            flash(f"Domain saved. Add the CNAME record, then press Check: {domain} CNAME {public_host()}"
                  if domain else "Card-update domain removed: links use Revtain's own host.", "success")
            return redirect(url_for("dashboard.settings"))
    return _page(client, ("domain", form), 400)


@bp.post("/settings/domain/check")
@requires("settings")
def check_domain():
    client = current_client()
    form = _submitted("check")
    if not form.validate_on_submit():
        abort(400)
    try:
        verify(client)
    except DomainCheckFailed as exc:
        return _page(client, status=400, domain_error=str(exc))
    flash(f"{client.card_update_domain} is verified; card-update links now use it.", "success")
    return redirect(url_for("dashboard.settings"))


@bp.post("/settings/branding")
@requires("branding")
def save_branding():
    client = current_client()
    form = _submitted("branding")
    if not form.validate_on_submit():
        return _page(client, ("branding", form), 400)
    client.brand_name = form.brand_name.data or None
    client.brand_logo_url = form.brand_logo_url.data or None
    client.brand_primary_color = (form.brand_primary_color.data or "").lower() or None
    client.brand_support_email = form.brand_support_email.data or None
    client.brand_support_url = form.brand_support_url.data or None
    db.session.commit()
    flash("Branding saved.", "success")
    return redirect(url_for("dashboard.settings"))
