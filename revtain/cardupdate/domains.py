"""Verifying a client's ``cardUpdateDomain``: it must resolve to this deployment (a CNAME to the
public host), or an operator must vouch for it. Only verified domains are served."""

from __future__ import annotations

import socket

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client
from .links import public_host


class DomainCheckFailed(Exception):
    pass


def _addresses(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return set()


def verify(client: Client, force: bool = False) -> None:
    domain = client.card_update_domain
    if not domain:
        raise DomainCheckFailed("the client has no cardUpdateDomain (set it at onboarding)")
    if not force:
        ours, theirs = _addresses(public_host()), _addresses(domain)
        if not theirs:
            raise DomainCheckFailed(
                f"{domain} does not resolve yet; add a CNAME {domain} -> {public_host()} and retry"
            )
        if not ours & theirs:
            raise DomainCheckFailed(
                f"{domain} resolves to {', '.join(sorted(theirs))}, not to {public_host()} "
                f"({', '.join(sorted(ours)) or 'unresolved'}); point a CNAME at {public_host()}"
            )
    client.card_update_domain_verified_at = clock_now()
    db.session.commit()
