"""Choosing test customers by the Proof Mode group their merchant's split puts them in."""

from __future__ import annotations

from revtain.engine import proof_mode


def emails_in(client_id: str, group: str, count: int, share: int, prefix: str = "customer") -> list[str]:
    """The first ``count`` emails ``<prefix><n>@example.com`` that land in ``group``."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        email = f"{prefix}{n}@example.com"
        key = proof_mode.customer_key(email, None, "unused")
        if proof_mode.assign(proof_mode.fingerprint(client_id, key), share) == group:
            found.append(email)
        n += 1
    return found
