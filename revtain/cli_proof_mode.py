"""``revtain proof-mode``: turn Proof Mode on or off for a client, and read its Proof of Lift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup

from .cli import _client_or_fail
from .clock import iso
from .clock import now as clock_now

if TYPE_CHECKING:  # the models and the recovery code load only when a command runs
    from .models import Client
    from .recovery.proof_report import ProofOfLift


@click.group("proof-mode", cls=AppGroup)
def proof_mode_group() -> None:
    """Proof Mode: a control group of customers Revtain never charges, to measure its lift."""


def _state(client: Client) -> str:
    if client.proof_mode_enabled:
        return f"on: {client.proof_mode_share} % of customers are held out (never charged)"
    return f"off (share {client.proof_mode_share} % when turned on)"


@proof_mode_group.command("show")
@click.argument("client_id")
def proof_mode_show(client_id: str) -> None:
    """Whether Proof Mode is on, and the control share."""
    client = _client_or_fail(client_id)
    click.echo(f"Proof Mode for {client.name}: {_state(client)}")


@proof_mode_group.command("on")
@click.argument("client_id")
@click.option(
    "--share",
    type=int,
    metavar="PERCENT",
    help="Share of customers in the control group, 1-50 (default: the current one, 10 at first).",
)
def proof_mode_on(client_id: str, share: int | None) -> None:
    """Turn Proof Mode on. Only with the merchant's written agreement: its control customers get no
    retries and no dunning."""
    from .extensions import db
    from .recovery.proof_mode import ProofModeError, configure

    client = _client_or_fail(client_id)
    try:
        configure(client, enabled=True, share=share)
    except ProofModeError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Proof Mode for {client.name}: {_state(client)}")


@proof_mode_group.command("off")
@click.argument("client_id")
def proof_mode_off(client_id: str) -> None:
    """Turn Proof Mode off: every failed payment is worked on again. Held-out payments stay held out
    and keep counting in the report."""
    from .extensions import db
    from .recovery.proof_mode import configure

    client = _client_or_fail(client_id)
    configure(client, enabled=False)
    db.session.commit()
    click.echo(f"Proof Mode for {client.name}: {_state(client)}")


def _as_json(proof: ProofOfLift) -> dict:
    c = proof.comparison
    return {
        "asOf": iso(proof.as_of),
        "enabled": proof.enabled,
        "share": proof.share,
        "observationDays": proof.observation_days,
        "treatment": {
            "invoices": c.treatment.invoices,
            "recovered": c.treatment.recovered,
            "rate": c.treatment.rate,
            "observing": proof.observing["treatment"],
        },
        "control": {
            "invoices": c.control.invoices,
            "recovered": c.control.recovered,
            "rate": c.control.rate,
            "observing": proof.observing["control"],
        },
        "verdict": c.verdict,
        "upliftPoints": c.uplift_points,
        "interval95Points": list(c.interval_points) if c.interval_points else None,
        "z": c.z,
        "pValue": c.p_value,
        "waitingFor": list(c.waiting_for),
        "summary": proof.verdict_text,
    }


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


@proof_mode_group.command("report")
@click.argument("client_id")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Figures as of this UTC date or time (default: now).",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def proof_mode_report(client_id: str, as_of: datetime | None, as_json: bool) -> None:
    """The Proof of Lift: treatment against control, the uplift, its 95 % interval and the verdict."""
    from .recovery.proof_report import proof_of_lift

    client = _client_or_fail(client_id)
    at = as_of.replace(tzinfo=UTC) if as_of else clock_now()
    proof = proof_of_lift(client, at)
    if proof is None:
        raise click.ClickException(f"{client.name} has never had Proof Mode on: nothing to report")
    if as_json:
        click.echo(json.dumps(_as_json(proof)))
        return
    c = proof.comparison
    click.echo(f"Proof of Lift for {client.name} as of {iso(proof.as_of)} (Proof Mode {_state(client)})")
    click.echo(f"  {'group':<11}{'counted':>9}{'paid':>7}{'rate':>10}{'observing':>11}")
    for name, o in (("treatment", c.treatment), ("control", c.control)):
        observing = proof.observing[name]
        click.echo(f"  {name:<11}{o.invoices:>9}{o.recovered:>7}{_rate(o.rate):>10}{observing:>11}")
    if not c.in_progress:
        low, high = c.interval_points
        click.echo(
            f"  uplift {c.uplift_points:+.1f} points, 95 % interval {low:+.1f} to {high:+.1f}, z = {c.z:.2f}"
        )
    click.echo(f"  {proof.verdict_text}")
