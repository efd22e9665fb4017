"""One pass of the cascade: the primary token, then each fallback token, on the client's gateway.

Every charge is recorded as an ``Attempt`` whose gateway idempotency key is derived from the
recovery id and the attempt number. A job that dies after charging and runs again computes the
same number, so the gateway sees the same key and charges once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..crypto import decrypt
from ..engine.declines import classify, normalise
from ..extensions import db
from ..gateways import ChargeRequest, ChargeResult, Gateway, for_name
from ..models import Attempt, Client, Recovery


@dataclass(frozen=True)
class CascadeResult:
    approved: bool
    last: ChargeResult

    @property
    def error(self) -> str:
        return normalise(self.last.decline_code) or self.last.outcome


def gateway_for(client: Client) -> Gateway:
    credentials = (
        decrypt(client.gateway_credentials_encrypted) if client.gateway_credentials_encrypted else None
    )
    return for_name(client.gateway, credentials)


def run(client: Client, recovery: Recovery, first_strategy: str, now: datetime) -> CascadeResult:
    gateway = gateway_for(client)
    plan = [(recovery.payment_method_token, first_strategy)]
    plan += [(token, "fallback_token") for token in recovery.fallback_tokens or []]
    result = ChargeResult("error", decline_code="no_attempt")
    for token, strategy in plan:
        seq = recovery.attempt_count + 1
        key = f"{recovery.id}-{seq}"
        result = gateway.charge(
            ChargeRequest(
                token=token,
                amount=recovery.amount,
                currency=recovery.currency,
                idempotency_key=key,
                customer_email=recovery.customer_email,
                payment_method_type=recovery.payment_method_type,
            )
        )
        db.session.add(
            Attempt(
                recovery_id=recovery.id,
                client_id=recovery.client_id,
                seq=seq,
                gateway=gateway.name,
                payment_method_token=token,
                strategy=strategy,
                idempotency_key=key,
                outcome=result.outcome,
                decline_code=normalise(result.decline_code),
                gateway_transaction_id=result.transaction_id,
                created_at=now,
            )
        )
        recovery.attempt_count = seq
        recovery.strategy_used = strategy
        recovery.updated_at = now
        if result.decline_code:
            recovery.last_decline_code = normalise(result.decline_code)
        if result.approved:
            recovery.gateway_transaction_id = result.transaction_id
            return CascadeResult(True, result)
        # A gateway-level failure would fail the other tokens too; a fraud-type decline must
        # never be retried on any card or gateway.
        if result.outcome != "declined" or classify(result.decline_code).handling == "block":
            break
    return CascadeResult(False, result)
