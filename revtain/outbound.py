"""Outbound HTTP to addresses a merchant gives us: one guard against server-side request forgery.

Any URL a merchant can point us at (the webhook URL today, any future call to a merchant's
server) goes through here, twice:

- ``check_url`` when it is saved: https only, a host name that can be public, and every address
  it resolves to (when it resolves) public;
- ``session()`` when it is called: each connection resolves the host, refuses unless every address
  is public, and connects to the address it checked (pinned, so a DNS answer that changes between
  the check and the connect cannot slip through), with the certificate checked against the host
  name. Redirects are never followed and proxy settings from the environment are ignored.

"Public" means a globally routable unicast address: loopback, private (RFC 1918, unique local),
link-local (cloud metadata), carrier-grade NAT, multicast, reserved and documentation ranges are
refused, as are IPv4 addresses hidden in IPv6 forms (mapped, 6to4, NAT64) and odd IPv4 spellings
(``2130706433``, ``0x7f.1``), which resolve like any other name.

``ALLOW_PRIVATE_DESTINATIONS`` lets development installs and tests deliver to local receivers (the
dev inbox, a receiver on 127.0.0.1); production refuses to start with it on.

requests-hardened does the pinning too, but its only exception is loopback and it gives no
reasons; merchants need to be told, in words, why a URL is refused (``describe``).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from urllib.parse import urlsplit

import requests
from flask import Flask, current_app
from requests.adapters import HTTPAdapter
from urllib3.util.connection import allowed_gai_family

from .config import is_production
from .crypto import ConfigurationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean this machine or a private network.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

NOT_PUBLIC = "points to a private or local network address, which Revtain does not call"
RESOLVES_INWARD = "resolves to a private or local network address, which Revtain does not call"


class Refused(requests.RequestException):
    """A URL or destination Revtain will not call; ``reason`` says why, for the merchant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address, looking through IPv6 forms that carry an IPv4 one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return is_public(ip.sixtofour)
        if ip in _NAT64:
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _NAT64_LOCAL:
            return False
    return ip.is_global and not ip.is_multicast


def private_allowed(app: Flask | None = None) -> bool:
    """Whether this install may call loopback and private addresses (development only)."""
    app = app or current_app
    setting = app.config.get("ALLOW_PRIVATE_DESTINATIONS")
    return (not is_production(app)) if setting is None else bool(setting)


def init_app(app: Flask) -> None:
    if is_production(app) and private_allowed(app):
        raise ConfigurationError(
            "REVTAIN_ALLOW_PRIVATE_DESTINATIONS is for development only: production never calls "
            "private or local network addresses"
        )


def _addresses(host: str, port: int | None) -> list[IPAddress]:
    """Every address ``host`` resolves to (numeric spellings included); ``socket.gaierror`` if none."""
    infos = socket.getaddrinfo(host, port, family=allowed_gai_family(), type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool = False, allow_http: bool = False) -> str:
    """The URL if Revtain may call it, else ``Refused`` with the reason. A name that does not
    resolve yet is accepted: the connection is checked again, after resolution, every time."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("is not a valid URL") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http"):
        raise Refused(f"must use https:// (got {url!r})")
    if not host:
        raise Refused(f"has no host: {url!r}")
    if (
        parts.scheme == "http"
        and not allow_http
        and not (allow_private and _resolves_only_inward(host, port))
    ):
        raise Refused(f"must use https:// (got {url!r})")
    if allow_private:
        return url
    literal = _literal(host)
    if literal is not None:
        if not is_public(literal):
            raise Refused(NOT_PUBLIC)
        return url
    if "." not in host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        raise Refused("must name a public host (like hooks.example.com), not a local or internal one")
    try:
        addresses = _addresses(host, port)
    except (socket.gaierror, UnicodeError):
        return url  # not in DNS yet: checked again, after resolution, on every connection
    if not all(is_public(ip) for ip in addresses):
        raise Refused(NOT_PUBLIC)
    return url


def _resolves_only_inward(host: str, port: int | None) -> bool:
    """Development: plain http is fine for a receiver on this machine or the local network."""
    try:
        addresses = _addresses(host, port)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(addresses) and not any(is_public(ip) for ip in addresses)


def checked_address(host: str, port: int | None, *, allow_private: bool) -> str:
    """The address to connect to for ``host``, after checking every address it resolves to."""
    try:
        addresses = _addresses(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise requests.ConnectionError(f"could not resolve {host}") from exc
    if not allow_private and not all(is_public(ip) for ip in addresses):
        raise Refused(RESOLVES_INWARD)
    first = addresses[0]
    return f"[{first}]" if first.version == 6 else str(first)


class _GuardedAdapter(HTTPAdapter):
    """Resolves and checks the host before each connection, then connects to that address."""

    def __init__(self, allow_private: bool) -> None:
        super().__init__(max_retries=0)
        self.allow_private = allow_private

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host, port = host_params["host"], host_params["port"]
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = host  # the certificate is for the name, not the address
            pool_kwargs["server_hostname"] = host  # and SNI asks for it
        host_params["host"] = checked_address(host, port, allow_private=self.allow_private)
        return host_params, pool_kwargs


class _GuardedSession(requests.Session):
    def get_redirect_target(self, resp):  # a 3xx is the answer: never followed
        return None


@cache
def _session(allow_private: bool) -> requests.Session:
    http = _GuardedSession()
    http.trust_env = False  # no proxies or netrc from the environment
    adapter = _GuardedAdapter(allow_private)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def session(*, allow_private: bool | None = None) -> requests.Session:
    """The guarded session (shared, thread-safe for requests' use): ``allow_private`` defaults to
    this install's ``private_allowed()``."""
    return _session(private_allowed() if allow_private is None else allow_private)


def describe(exc: BaseException) -> str:
    """A failed call, in a short sentence a merchant can act on (never raw exception text)."""
    if isinstance(exc, Refused):
        return f"Not sent: the URL {exc.reason}."
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            "The receiver's TLS certificate could not be verified (expired, self-signed or for another name)."
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "Could not connect to the receiver in time."
    if isinstance(exc, requests.Timeout):
        return "The receiver did not answer in time."
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "resolve" in text or "Name or service not known" in text or "NameResolution" in text:
            return "The receiver's host name could not be found (DNS)."
        if "refused" in text.lower():
            return "The receiver refused the connection."
        return "The connection to the receiver failed."
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "The URL is not valid."
    return "The request to the receiver failed."
