"""Payment gateway adapters behind one interface (``base.Gateway``)."""

from __future__ import annotations

from .base import ChargeRequest, ChargeResult, Gateway
from .test import TestGateway


class UnsupportedGateway(LookupError):
    pass


def for_name(name: str, credentials: str | None = None) -> Gateway:
    """The adapter for a configured gateway. ``credentials`` are decrypted JSON, if any."""
    if name == "test":
        return TestGateway()
    raise UnsupportedGateway(f"gateway {name!r} is not available in this version")


__all__ = ["ChargeRequest", "ChargeResult", "Gateway", "TestGateway", "UnsupportedGateway", "for_name"]
