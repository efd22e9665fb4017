"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), keeping what it receives."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from email import policy

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float, explain=lambda: "") -> list[email.message.EmailMessage]:
        """For servers in other processes: poll (bounded) until ``count`` emails arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} email(s) at the SMTP server, got {len(self.received)}\n{explain()}"
                )
            time.sleep(0.05)
        return list(self.received)

    def clear(self) -> Inbox:
        self.received.clear()
        self.envelopes.clear()
        return self


def smtp_server() -> Iterator[Inbox]:
    """Generator for a fixture: an SMTP server on a free port until the fixture ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()
