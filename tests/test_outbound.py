"""The outbound guard: merchant URLs never reach private, local or metadata addresses.

Checked when a URL is saved and again on every connection, after DNS resolution. DNS is the
only thing stubbed here (``socket.getaddrinfo``, as a resolver would answer); the receivers are
real servers on 127.0.0.1, which the guard must refuse unless private destinations are allowed.
"""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from revtain import outbound
from revtain.crypto import ConfigurationError
from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import Client, WebhookDelivery, WebhookTry
from revtain.onboarding import OnboardingError, onboard, validate_webhook_url
from revtain.webhooks.delivery import deliver
from tests.support.receiver import Receiver

PUBLIC_IP = "93.184.215.14"
NOT_PUBLIC = [
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:6379/",
    "https://10.0.0.8/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://0.0.0.0/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://[2002:7f00:1::]/hook",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://127.1/",
    "https://017700000001/",
    "https://localhost/",
    "https://localhost./",
    "https://api.localhost/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://redis:6379/",
]


class FakeDNS:
    """``socket.getaddrinfo`` that answers for the names it knows and asks the real one otherwise."""

    def __init__(self, monkeypatch) -> None:
        self.names: dict[str, str] = {}
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if isinstance(host, str) and host in self.names:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.names[host], port or 0))]
            return real(host, port, family, type, proto, flags)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


# --- when a URL is saved ---------------------------------------------------------------------


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_destinations_are_refused_when_saved(url):
    with pytest.raises(outbound.Refused) as refused:
        outbound.check_url(url, allow_private=False)
    assert "private or local" in refused.value.reason or "public host" in refused.value.reason


def test_a_name_resolving_inward_is_refused_when_saved(dns):
    dns.names["hooks.merchant.example"] = "10.1.2.3"
    with pytest.raises(outbound.Refused, match="private or local network"):
        outbound.check_url("https://hooks.merchant.example/r", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC_IP}/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://hooks.merchant.example/r",  # resolves to a public address (below)
        "https://not-in-dns-yet.example/r",  # checked again at every connection
    ],
)
def test_public_destinations_are_accepted(dns, url):
    dns.names["hooks.merchant.example"] = PUBLIC_IP
    assert outbound.check_url(url, allow_private=False) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/r", "must use https://"),
        ("ftp://hooks.example.com/r", "must use https://"),
        ("https:///r", "has no host"),
        ("https://hooks.example.com:99999/r", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(outbound.Refused, match=message):
        outbound.check_url(url, allow_private=True)


def test_development_allows_local_receivers_over_http():
    assert outbound.check_url("http://127.0.0.1:8000/dev/inbox", allow_private=True)
    assert outbound.check_url("http://localhost:8000/dev/inbox", allow_private=True)
    with pytest.raises(outbound.Refused, match="must use https://"):
        outbound.check_url("http://hooks.example.com/r", allow_private=True)


def test_production_refuses_the_development_switch_and_defaults_to_public_only(make_app):
    with pytest.raises(ConfigurationError, match="development only"):
        make_app(ENV="production", ALLOW_PRIVATE_DESTINATIONS=True)
    assert outbound.private_allowed(make_app(ENV="production")) is False
    assert outbound.private_allowed(make_app()) is True  # development: the dev inbox, tests


def test_onboarding_refuses_a_metadata_url_with_a_plain_reason(make_app):
    app = make_app(ALLOW_PRIVATE_DESTINATIONS=False)
    with app.app_context(), pytest.raises(OnboardingError) as refused:
        onboard(name="Acme", webhook_url="https://169.254.169.254/latest/meta-data/")
    assert str(refused.value) == (
        "webhook URL points to a private or local network address, which Revtain does not call"
    )


def test_the_dashboard_refuses_an_internal_webhook_url(make_app, client):
    from tests.test_dashboard import PASSWORD, login, post, text

    app = make_app(ALLOW_PRIVATE_DESTINATIONS=False)
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=None)
        create_user(merchant.client_id, "admin@acme.example", "admin", PASSWORD)
    browser = app.test_client()
    assert login(browser, "admin@acme.example").status_code == 302
    for url in ("https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:6379/", "https://[::1]/"):
        r = post(
            browser, "/dashboard/settings/webhook", "/dashboard/settings", {"webhook-url": url}, "webhook"
        )
        assert r.status_code == 400
        assert "Webhook URL points to a private or local network address" in text(r)
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).webhook_url is None


# --- when it is called -----------------------------------------------------------------------


def test_a_local_receiver_is_refused_at_connect_time(receiver):
    with pytest.raises(outbound.Refused):
        outbound.session(allow_private=False).post(receiver.url, data=b"{}", timeout=5)
    assert receiver.requests == []


def test_a_name_that_later_resolves_inward_gets_nothing(make_app, dns):
    """DNS rebinding: public when saved, 127.0.0.1 when delivered. The try logs a plain reason."""
    app = make_app(ALLOW_PRIVATE_DESTINATIONS=False, WEBHOOK_ALLOW_HTTP=True)
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        dns.names["hooks.rebind.example"] = PUBLIC_IP
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=f"http://hooks.rebind.example:{port}/hooks")
        r = app.test_client().post(
            "/api/recovery/execute",
            headers={"X-API-KEY": merchant.api_key},
            json={"paymentMethodToken": "pm_1", "amount": 5000, "originalDeclineCode": "do_not_honor"},
        )
        assert r.status_code == 200
        dns.names["hooks.rebind.example"] = "127.0.0.1"
        with app.app_context():
            delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
            assert deliver(delivery.id) == "pending"  # tried again later, in case DNS changes back
            (attempt,) = db.session.execute(select(WebhookTry)).scalars()
        assert receiver.requests == []
    assert attempt.status_code is None and attempt.response_excerpt is None
    assert attempt.error == (
        "Not sent: the URL resolves to a private or local network address, which Revtain does not call."
    )


class Redirecting(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.server.target)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def redirecting(receiver) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    server.target = receiver.url  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def test_redirects_are_never_followed(app, redirecting, receiver):
    http = outbound.session(allow_private=True)
    response = http.post(redirecting, data=b"{}", timeout=5, allow_redirects=True)
    assert response.status_code == 302
    assert receiver.requests == []
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=redirecting)
    app.test_client().post(
        "/api/recovery/execute",
        headers={"X-API-KEY": merchant.api_key},
        json={"paymentMethodToken": "pm_1", "amount": 5000, "originalDeclineCode": "do_not_honor"},
    )
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        deliver(delivery.id)
        (attempt,) = db.session.execute(select(WebhookTry)).scalars()
    assert attempt.error == "HTTP 302: a redirect, which Revtain does not follow (use the final URL)"
    assert receiver.requests == []


def _certificate(name: str, tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def test_pinning_the_address_keeps_tls_verified_against_the_host_name(dns, tmp_path, receiver):
    """The connection goes to the checked address; the certificate and SNI are the name's."""
    cert, key = _certificate("hooks.merchant.example", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    port = receiver.server.server_address[1]
    dns.names["hooks.merchant.example"] = "127.0.0.1"
    dns.names["other.merchant.example"] = "127.0.0.1"
    http = outbound.session(allow_private=True)

    r = http.post(f"https://hooks.merchant.example:{port}/hooks", data=b"{}", timeout=5, verify=cert)
    assert r.status_code == 200
    assert receiver.requests[0].headers["Host"] == f"hooks.merchant.example:{port}"
    with pytest.raises(requests.exceptions.SSLError) as wrong_name:
        http.post(f"https://other.merchant.example:{port}/hooks", data=b"{}", timeout=5, verify=cert)
    assert outbound.describe(wrong_name.value).startswith(
        "The receiver's TLS certificate could not be verified"
    )
    with pytest.raises(outbound.Refused):
        outbound.session(allow_private=False).post(
            f"https://hooks.merchant.example:{port}/hooks", data=b"{}", timeout=5, verify=cert
        )
    assert len(receiver.requests) == 1


def test_failures_are_described_in_plain_words():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as refused:
        outbound.session(allow_private=True).post(f"http://127.0.0.1:{port}/", timeout=5)
    assert outbound.describe(refused.value) == "The receiver refused the connection."
    with pytest.raises(requests.ConnectionError) as unknown:
        outbound.session(allow_private=True).post("https://no-such-host.invalid/", timeout=5)
    assert outbound.describe(unknown.value) == "The receiver's host name could not be found (DNS)."
    assert outbound.describe(requests.ReadTimeout("x")) == "The receiver did not answer in time."


def test_validate_webhook_url_keeps_the_https_rule(app):
    with app.app_context(), pytest.raises(OnboardingError, match="must use https://"):
        validate_webhook_url("http://hooks.example.com/r")


def test_a_pre_retry_check_is_guarded_like_a_webhook(make_app, dns):
    """The pre-retry check's URL goes through the same guard: public when saved, 127.0.0.1 when
    asked, so nothing is sent and the retry goes ahead with the plain reason on its timeline."""
    from datetime import UTC, datetime, timedelta

    from revtain.models import Attempt, PreRetryCheck
    from revtain.recovery.pre_retry import configure
    from tests.support.jobs import sweep
    from tests.support.merchant_check import MerchantCheck

    app = make_app(ALLOW_PRIVATE_DESTINATIONS=False, WEBHOOK_ALLOW_HTTP=True)
    with MerchantCheck() as check, Receiver() as receiver:
        dns.names["hooks.acme.example"] = PUBLIC_IP
        dns.names["check.acme.example"] = PUBLIC_IP
        port = check.server.server_address[1]
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url="http://hooks.acme.example/hooks")
            configure(db.session.get(Client, merchant.client_id),
                      url=f"http://check.acme.example:{port}/revtain/pre-retry", timeout=1.0)
            db.session.commit()
        r = app.test_client().post(
            "/api/recovery/execute",
            headers={"X-API-KEY": merchant.api_key},
            json={"paymentMethodToken": "pm_pays_later", "amount": 4900,
                  "originalDeclineCode": "insufficient_funds", "idempotencyKey": "inv_guard"},
        )
        assert r.status_code == 202
        tx = r.get_json()["transactionId"]
        dns.names["check.acme.example"] = "127.0.0.1"
        app.extensions["revtain.clock"].freeze(datetime.now(UTC) + timedelta(seconds=15))
        sweep(app)
        with app.app_context():
            asked = select(PreRetryCheck).where(PreRetryCheck.recovery_id == tx)
            (logged,) = db.session.execute(asked).scalars()
            charges = db.session.execute(
                select(Attempt).where(Attempt.recovery_id == tx, Attempt.strategy != "original")
            ).scalars().all()
    assert check.requests == [] and receiver.requests == []
    assert logged.decision == "proceed" and logged.status_code is None
    assert "private or local network address" in logged.error
    assert len(charges) == 1  # the retry went ahead without the merchant's answer
