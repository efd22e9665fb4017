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
from .errors import not_found, validation_error


@bp.post("/connectors/<platform>/webhook/<client_id>")
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
