"""The "confirm this payment" pages (3-D Secure) behind a card-update link: an introduction with
the amount, then the gateway's own challenge; on success a receipt. The Revtain Test Gateway's
challenge is a test issuer page served here (no script needed); a customer who would rather use
another card has the card form one link away.
"""

from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _

from ..clock import now as clock_now
from ..models import CardUpdateLink, Client, Recovery
from . import authentication, links
from .render import csrf_ok, csrf_token, due, page, today_text

STEPS = ("start", "challenge", "cancel")


def _intro(client: Client, link: CardUpdateLink, recovery: Recovery, token: str, status: int = 200,
           error: str | None = None):
    return page("confirm.html", status, client, recovery=recovery, step="intro", error=error,
                csrf=csrf_token(link.id), due=due(recovery, unpaid_only=False),
                action=url_for("cardupdate.confirm_payment", token=token),
                card_url=url_for("cardupdate.card_update_page", token=token, card=1))


def _challenge(client: Client, link: CardUpdateLink, recovery: Recovery, token: str, status: int = 200,
               code: str = "", error: str | None = None):
    return page("confirm.html", status, client, recovery=recovery, step="challenge", error=error,
                code=code, csrf=csrf_token(link.id), due=due(recovery, unpaid_only=False),
                action=url_for("cardupdate.confirm_payment", token=token))


def confirm_view(client: Client, link: CardUpdateLink, recovery: Recovery, token: str):
    """GET: the introduction. POST ``step``: ``start`` opens the test bank's challenge,
    ``challenge`` checks its code (the payment is settled when it passes), ``cancel`` goes back."""
    if request.method == "GET":
        return _intro(client, link, recovery, token)
    step = request.form.get("step", "")
    if not csrf_ok(link):
        return _intro(client, link, recovery, token, 400,
                      _("This form has expired. Please reload the page."))
    if step not in STEPS:
        return _intro(client, link, recovery, token, 400, _("Please start the confirmation again."))
    if step == "start":
        return _challenge(client, link, recovery, token)
    if step == "cancel":
        return _intro(client, link, recovery, token, 200,
                      _("You cancelled the confirmation, so your payment hasn't been made."))
    code = request.form.get("code", "")[:32]
    if not authentication.test_challenge_passed(code):
        message = (_("Enter the code from your bank.") if not code.strip()
                   else _("That code isn't right. Please check it and try again."))
        return _challenge(client, link, recovery, token, 400, code=code, error=message)
    transaction = authentication.test_transaction_id(link)
    try:
        authentication.confirmed(client, link, recovery, "test", transaction)
    except links.LinkUnusable:
        return page("gone.html", 410, client, recovery=recovery, reason="used")
    return page("done.html", 200, client, recovery=recovery, kind="recovered", brand_name=None,
                last4=None, paid=due(recovery, unpaid_only=False), reference=transaction,
                date=today_text(clock_now()))
