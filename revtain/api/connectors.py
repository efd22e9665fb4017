"""``POST /api/connectors/{platform}/webhook/{clientId}`` (contract 3.13, 5; Decision 11).

Authenticated the way each platform signs, never with ``X-API-KEY``. The event is stored and
answered at once; a job does the work. Answers: 200 ``{"received": true}`` (plus ``"duplicate":
true`` for a resend, ``"ignored": true`` for an event type Revtain does not act on), 401 unsigned or
wrongly signed (with a Basic challenge for platforms authenticated by a Basic pair), 400 a body the
platform would not send, 404 an unknown platform or client.
"""

from __future__ import annotations

from flask import jsonify, request

from ..connectors.base import BadPayload, Unauthorized
from ..connectors.inbound import UnknownConnector, receive
from . import bp
from .doc_models import ConnectorPath, ConnectorReceived
from .errors import not_found, validation_error
from .operations import Reply, documented
from .schemas import Error


@bp.post("/connectors/<platform>/webhook/<client_id>")
@documented(
    "receiveConnectorWebhook", "A billing platform's webhook", tags=("Connectors",), path=ConnectorPath,
    description="Point the platform's webhook here (the URL is on the dashboard's Connectors page). "
    "Authenticated the platform's own way (Stripe-Signature, HTTP Basic, recurly-signature, bt_signature, "
    "X-Recharge-Hmac-Sha256), never with X-API-KEY. The event is stored and answered at once; a job "
    "recovers the payment and marks the invoice paid in the platform.",
    body={"description": "The platform's own event, as it sends it", "type": "object"},
    body_media_types=("application/json", "application/x-www-form-urlencoded"), security=(),
    responses={
        200: Reply("Received (duplicate: a resend; ignored: an event type Revtain does not act on)",
                   body=ConnectorReceived, example={"received": True}),
        400: Reply("A body the platform would not send", body=Error),
        401: Reply("Unsigned or wrongly signed (with a Basic challenge for platforms using a Basic pair)",
                   body=Error,
                   example={"error": "Unauthorized", "message": "wrong webhook username or password"},
                   headers={"WWW-Authenticate": "For platforms authenticated with HTTP Basic"}),
        404: Reply("Unknown platform, client, or no connector of this platform for the client", body=Error,
                   example={"error": "Connector not found."}),
    },
)
def connector_webhook(platform: str, client_id: str):
    try:
        received = receive(platform, client_id, request.headers, request.get_data(cache=False))
    except UnknownConnector as exc:
        raise not_found(exc.thing) from None
    except Unauthorized as exc:
        answer = jsonify({"error": "Unauthorized", "message": str(exc)})
        if exc.challenge:
            answer.headers["WWW-Authenticate"] = exc.challenge
        return answer, 401
    except BadPayload as exc:
        raise validation_error({"body": str(exc)}) from None
    body: dict[str, bool] = {"received": True}
    if received.outcome == "duplicate":
        body["duplicate"] = True
    elif received.outcome == "ignored":
        body["ignored"] = True
    return jsonify(body), 200
