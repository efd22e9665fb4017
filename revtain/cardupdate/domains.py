"""Verifying a client's ``cardUpdateDomain``: it must resolve to this deployment (a CNAME to the
public host), or an operator must vouch for it. Only verified domains are served."""

from __future__ import annotations

import ipaddress
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


def cname_target() -> str | None:
    """The host name a merchant's CNAME points at; None when PUBLIC_BASE_URL names an address
    (a CNAME can only name a host)."""
    host = public_host()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or None
    return None


def cname_record(domain: str) -> str:
    """The DNS record to add, in plain words when this deployment has no host name yet."""
    target = cname_target()
    if target:
        return f"{domain} CNAME {target}"
    return (f"{domain} CNAME <this deployment's host name>: REVTAIN_PUBLIC_BASE_URL names the address "
            f"{public_host() or '(none)'}, and a CNAME must point at a host name. Set "
            "REVTAIN_PUBLIC_BASE_URL to this deployment's https URL "
            "(e.g. https://revtain.example.com) first.")


def verify(client: Client, force: bool = False) -> None:
    domain = client.card_update_domain
    if not domain:
        raise DomainCheckFailed("the client has no cardUpdateDomain (set it at onboarding)")
    if not force:
        ours, theirs = _addresses(public_host()), _addresses(domain)
        if not theirs:
            raise DomainCheckFailed(f"{domain} does not resolve yet; add the record {cname_record(domain)}")
        if not ours & theirs:
            raise DomainCheckFailed(
                f"{domain} resolves to {', '.join(sorted(theirs))}, not to {public_host()} "
                f"({', '.join(sorted(ours)) or 'unresolved'}); add the record {cname_record(domain)}"
            )
    client.card_update_domain_verified_at = clock_now()
    db.session.commit()
