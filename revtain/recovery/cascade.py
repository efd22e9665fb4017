"""One pass of the cascade: the primary token, then each fallback token, on the client's gateway,
then the primary token on each backup gateway that can use it (contract 7.2).

Before every charge the card-network rules are checked for that card; a card they forbid now is
skipped. Every charge is recorded as an ``Attempt`` whose gateway idempotency key is derived from
the recovery id and the attempt number: a job that dies after charging and runs again computes the
same number, so the gateway sees the same key and charges once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from ..crypto import decrypt
from ..engine.declines import normalise
from ..engine.judgement import Judgement, judge
from ..engine.network_rules import Initiator
from ..extensions import db
from ..gateways import ChargeRequest, ChargeResult, Gateway, for_name
from ..gateways.platforms import DECLINE_GATEWAYS, for_platform
from ..models import Attempt, Client, ConnectorAccount, Recovery
from .card_rules import card_verdict, limits
from .judged import attempt_fields, remember

CascadeOutcome = Literal["approved", "declined", "error", "unknown", "deferred"]


@dataclass(frozen=True)
class CascadeResult:
    outcome: CascadeOutcome  # deferred: the network rules allowed no card to be charged now
    last: ChargeResult | None
    decline: Judgement | None = None  # the last answer judged, advice and network codes included

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"

    @property
    def error(self) -> str:
        if self.last is None:
            return "network_rule_limit"
        if self.decline is not None and self.decline.code:
            return self.decline.code
        return normalise(self.last.decline_code) or self.last.outcome


@dataclass(frozen=True)
class Step:
    gateway: str  # as gateway_named() reads it
    token: str
    strategy: str


class GatewayUnavailable(RuntimeError):
    """The client's gateway is misconfigured: nothing can be charged through it."""


BACKUP_MARK = "@backup"
# A connector's recovery is collected by its billing platform: ``platform:chargebee``.
PLATFORM_MARK = "platform:"


def _platform(client: Client, platform: str) -> Gateway:
    account = db.session.execute(
        select(ConnectorAccount).where(ConnectorAccount.client_id == client.id,
                                       ConnectorAccount.platform == platform)
    ).scalar_one_or_none()
    if account is None:
        raise GatewayUnavailable(f"client {client.id} has no {platform} connector any more")
    try:
        return for_platform(platform, decrypt(account.credentials_encrypted))
    except (ValueError, LookupError) as exc:
        raise GatewayUnavailable(f"{platform} connector of client {client.id}: {exc}") from None


def gateway_named(client: Client, name: str) -> Gateway:
    """``stripe`` is the primary gateway; ``stripe@backup2`` the second backup (another account
    or MID of any gateway), as attempts record them; ``platform:recurly`` a billing platform."""
    if name.startswith(PLATFORM_MARK):
        return _platform(client, name.removeprefix(PLATFORM_MARK))
    kind, _, number = name.partition(BACKUP_MARK)
    if number:
        backups = client.backup_gateways or []
        index = int(number) - 1 if number.isdigit() else -1
        encrypted = backups[index].get("credentials") if 0 <= index < len(backups) else None
    else:
        encrypted = client.gateway_credentials_encrypted if kind == client.gateway else None
    try:
        return for_name(kind, decrypt(encrypted) if encrypted else None)
    except (ValueError, LookupError) as exc:
        raise GatewayUnavailable(f"gateway {name} of client {client.id}: {exc}") from None


def token_usable(gateway: str, token: str) -> bool:
    """Tokens belong to the gateway that issued them; Revtain never converts them."""
    if gateway == "stripe":
        return token.startswith(("pm_", "tok_", "card_", "src_"))
    if gateway == "braintree":
        return not token.startswith(("pm_", "tok_", "card_", "src_"))
    return True


def decline_of(gateway: str, result: ChargeResult, network: str | None = None) -> Judgement:
    """A gateway's answer judged once (``network``: the card's network, when known)."""
    kind = gateway.partition(BACKUP_MARK)[0]
    if kind.startswith(PLATFORM_MARK):
        platform = kind.removeprefix(PLATFORM_MARK)
        kind = DECLINE_GATEWAYS.get(platform, platform)
    return judge(result.decline_code, gateway=kind, network_code=result.network_code,
                 advice_code=result.advice_code, network=network, limits=limits())


def plan(client: Client, recovery: Recovery, first_strategy: str) -> list[Step]:
    primary = recovery.payment_method_token
    if recovery.source:
        # The platform collects its invoice with the card it holds: no other token or gateway.
        return [Step(PLATFORM_MARK + recovery.source, primary, first_strategy)]
    steps = [Step(client.gateway, primary, first_strategy)]
    steps += [Step(client.gateway, token, "fallback_token") for token in recovery.fallback_tokens or []]
    for number, backup in enumerate((client.backup_gateways or [])[:2], start=1):
        if token_usable(backup["gateway"], primary):
            name = f"{backup['gateway']}{BACKUP_MARK}{number}"
            steps.append(Step(name, primary, "backup_gateway"))
    return steps


def run(
    client: Client,
    recovery: Recovery,
    first_strategy: str,
    now: datetime,
    initiator: Initiator = "merchant",
    *,
    release_during_calls: bool = False,
) -> CascadeResult:
    """``initiator``: who starts these charges (the customer on the card-update page, else the
    merchant); Visa counts their attempts apart. ``release_during_calls`` (scheduled work, whose
    row is claimed): commit before each gateway call, so no database connection is held while the
    gateway answers."""
    result: ChargeResult | None = None
    decline: Judgement | None = None
    failed_gateways: set[str] = set()
    dead_tokens = tokens_needing_new_credentials(recovery)
    for step in plan(client, recovery, first_strategy):
        if step.gateway in failed_gateways or step.token in dead_tokens:
            continue
        primary = step.token == recovery.payment_method_token
        bin_prefix = recovery.bin_prefix if primary else None
        network = recovery.card_network if primary else None
        verdict = card_verdict(client.id, step.token, bin_prefix, now, network=network, initiator=initiator)
        if not verdict.allowed_now:
            continue
        try:
            gateway = gateway_named(client, step.gateway)
        except GatewayUnavailable:
            failed_gateways.add(step.gateway)
            result = ChargeResult("error", decline_code="gateway_config_error")
            decline = None
            continue
        seq = recovery.attempt_count + 1
        key = f"{recovery.id}-{seq}"
        if release_during_calls:
            db.session.commit()
        result = gateway.charge(
            ChargeRequest(
                token=step.token,
                amount=recovery.amount,
                currency=recovery.currency,
                idempotency_key=key,
                customer_email=recovery.customer_email,
                payment_method_type=recovery.payment_method_type,
                invoice_ref=recovery.source_ref,
            )
        )
        decline = record(recovery, step, seq, key, result, now, initiator)
        if result.approved:
            return CascadeResult("approved", result)
        if result.outcome == "unknown":
            # The charge may have happened: nothing else is tried until reconciliation knows.
            return CascadeResult("unknown", result, decline)
        if result.outcome == "error":
            failed_gateways.add(step.gateway)  # the other tokens would meet the same error
        elif decline.action == "block":
            break  # a fraud block: never retried on any card or gateway
        elif decline.needs_new_card:
            dead_tokens.add(step.token)  # not on this card again; other cards may still pay
    if result is None:
        return CascadeResult("deferred", None)
    return CascadeResult(result.outcome, result, decline)


def tokens_needing_new_credentials(recovery: Recovery) -> set[str]:
    """The cards of this recovery whose answer asked for new credentials: never charged again."""
    if recovery.attempt_count == 0:  # nothing recorded yet (a new recovery): no query
        return set()
    return set(db.session.execute(
        select(Attempt.payment_method_token).where(
            Attempt.recovery_id == recovery.id, Attempt.action == "new_credentials"
        )
    ).scalars())


def record(
    recovery: Recovery, step: Step, seq: int, key: str, result: ChargeResult, now: datetime,
    initiator: Initiator = "merchant",
) -> Judgement:
    network = recovery.card_network if step.token == recovery.payment_method_token else None
    decline = decline_of(step.gateway, result, network)
    db.session.add(
        Attempt(
            recovery_id=recovery.id,
            client_id=recovery.client_id,
            seq=seq,
            gateway=step.gateway,
            payment_method_token=step.token,
            strategy=step.strategy,
            idempotency_key=key,
            outcome=result.outcome,
            decline_code=normalise(result.decline_code),
            network_code=result.network_code,
            advice_code=result.advice_code,
            gateway_transaction_id=result.transaction_id,
            initiator=initiator,
            created_at=now,
            **attempt_fields(decline),
        )
    )
    recovery.attempt_count = seq
    recovery.strategy_used = step.strategy
    recovery.updated_at = now
    if result.outcome in ("declined", "error") and (result.decline_code or decline.never_reason):
        recovery.last_decline_code = decline.code or normalise(result.decline_code)
        remember(recovery, decline)
    if result.approved:
        recovery.gateway_transaction_id = result.transaction_id
    return decline
