"""Sending an email: over SMTP when ``MAIL_SMTP_HOST`` is set, else written as an ``.eml`` file into
``MAIL_OUTBOX`` (a fresh install's ``instance/outbox/``).

Settings: ``MAIL_SMTP_HOST``, ``MAIL_SMTP_PORT``, ``MAIL_SMTP_TLS`` ("starttls" | "ssl" | "none"),
``MAIL_SMTP_USERNAME``, ``MAIL_SMTP_PASSWORD``, ``MAIL_SMTP_TIMEOUT``, ``MAIL_FROM``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from ..clock import now as clock_now

DEFAULT_FROM = "Revtain <no-reply@localhost>"
TLS_MODES = ("starttls", "ssl", "none")


class MailError(Exception):
    """The message was not handed over. ``transient``: worth trying again later."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _setting(name: str, default=None):
    value = current_app.config.get(name)
    return default if value in (None, "") else value


def default_from_address() -> str:
    return parseaddr(_setting("MAIL_FROM", DEFAULT_FROM))[1] or "no-reply@localhost"


def build(
    *,
    from_name: str,
    from_address: str | None,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    reply_to: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML preferred. With
    ``unsubscribe_url``, the ``List-Unsubscribe`` headers of RFC 2369 and 8058 (one-click)."""
    address = from_address or default_from_address()
    username, _, domain = address.rpartition("@")
    message = EmailMessage()
    message["From"] = Address(display_name=from_name, username=username, domain=domain)
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock_now())
    message["Message-ID"] = f"<{message_id}@{domain or 'localhost'}>"
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(message: EmailMessage) -> str:
    """Hand the message over; returns where it went ("smtp:<host>" or the .eml path)."""
    host = _setting("MAIL_SMTP_HOST")
    if not host:
        return _write_outbox(message)
    _send_smtp(message, host)
    return f"smtp:{host}"


def _send_smtp(message: EmailMessage, host: str) -> None:
    mode = str(_setting("MAIL_SMTP_TLS", "starttls")).lower()
    if mode not in TLS_MODES:
        raise MailError(f"MAIL_SMTP_TLS must be one of {', '.join(TLS_MODES)} (got {mode!r})", False)
    port = int(_setting("MAIL_SMTP_PORT", 465 if mode == "ssl" else 587))
    timeout = float(_setting("MAIL_SMTP_TIMEOUT", 10.0))
    username, password = _setting("MAIL_SMTP_USERNAME"), _setting("MAIL_SMTP_PASSWORD")
    context = ssl.create_default_context()
    try:
        if mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if mode == "starttls":
                smtp.starttls(context=context)
            if username:
                smtp.login(username, password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailError(f"recipient refused ({', '.join(map(str, codes))})",
                        transient=all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                        transient=400 <= exc.smtp_code < 500) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"SMTP server: {exc}", transient=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {str(exc)[:300]}", transient=True) from None
    if refused:
        raise MailError(f"recipient refused: {', '.join(refused)}", transient=False)


def _text(raw: bytes | str) -> str:
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return value[:300]


def _write_outbox(message: EmailMessage) -> str:
    """Write ``<utc time>-<message id>.eml`` atomically (a reader never sees half a file)."""
    folder = current_app.config["MAIL_OUTBOX"]
    os.makedirs(folder, exist_ok=True)
    stamp = clock_now().strftime("%Y%m%dT%H%M%S%fZ")
    ident = "".join(c for c in str(message["Message-ID"]).split("@")[0] if c.isalnum())[:40]
    path = os.path.join(folder, f"{stamp}-{ident}.eml")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(message.as_bytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
