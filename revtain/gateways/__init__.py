"""Payment gateway adapters behind one interface (``base.Gateway``)."""

from __future__ import annotations

from flask import current_app, has_app_context

from .base import ChargeRequest, ChargeResult, Gateway
from .test import TestGateway


class UnsupportedGateway(LookupError):
    pass


def for_name(name: str, credentials: str | None = None) -> Gateway:
    """The adapter for a configured gateway. ``credentials`` are decrypted JSON, if any."""
    if name == "test":
        latency = current_app.config["TEST_GATEWAY_LATENCY_MS"] if has_app_context() else 0
        return TestGateway(latency_ms=float(latency or 0))
    if name == "stripe":
        from .stripe_gateway import StripeGateway  # the SDKs stay out of app start-up

        return StripeGateway.from_credentials(credentials)
    if name == "braintree":
        from .braintree_gateway import BraintreeGateway

        return BraintreeGateway.from_credentials(credentials)
    raise UnsupportedGateway(f"gateway {name!r} is not available in this version")


__all__ = ["ChargeRequest", "ChargeResult", "Gateway", "TestGateway", "UnsupportedGateway", "for_name"]
