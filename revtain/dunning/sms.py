"""SMS dunning steps: the step's template subject and the customer's card-update link, sent through
Twilio's official library with the merchant's own Twilio account (the one set up for its alerts,
``revtain.alerts.settings``). Only for a client that opted in and a customer with a phone number
(``customerPhone``, E.164). The link's token is in the text message only, never logged or stored.
"""

from __future__ import annotations

import logging

from ..alerts import settings as alert_settings
from ..alerts.sms import SmsError, send_sms
from ..cardupdate import links
from ..clock import now as clock_now
from ..models import Client, Recovery
from ..models.dunning import FAILED, SENT, Message
from .templates import TemplateError, customer_locale, localized, render_sms, variables_for

log = logging.getLogger(__name__)

NO_TWILIO = "no Twilio account: add one in the alert settings to send text messages"


def send_dunning_sms(message: Message, client: Client, recovery: Recovery, version) -> str:
    from .sending import _finish, not_sent

    credentials = alert_settings.load(client.id).twilio
    if credentials is None:
        _finish(message.id, status=FAILED, send_at=None, error=NO_TWILIO)
        return "failed"
    link, token = links.generate(client, recovery.payment_method_token)  # commits the link
    try:
        subject = localized(version.subject, version.html, version.text, customer_locale(recovery))[0]
        body = render_sms(subject, variables_for(client, recovery, links.link_url(client, token), ""))
    except TemplateError as exc:
        _finish(message.id, status=FAILED, send_at=None, error=str(exc)[:500])
        return "failed"
    tries = message.tries + 1
    message_id = message.id
    _finish(message_id, tries=tries, subject=body.rsplit(" ", 1)[0], card_update_link_id=link.id)
    try:
        sid = send_sms(credentials, message.to_address, body)
    except SmsError as exc:
        return not_sent(message_id, tries, exc, exc.transient)
    finally:
        del token, body
    _finish(message_id, status=SENT, sent_at=clock_now(), send_at=None, error=None, provider_ref=sid)
    log.info("dunning text message %s for recovery %s sent", message_id, recovery.id)
    return "sent"
