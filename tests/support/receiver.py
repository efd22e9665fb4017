"""A real HTTP webhook receiver for tests, verifying ``X-Revtain-Signature`` exactly as the docs'
Node example does: ``createHmac('sha256', secret).update(rawBody).digest('hex') === header``."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signature_valid(self, secret: str) -> bool:
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Revtain-Signature", ""))


class Receiver:
    """Records every POST. ``fail_first`` makes the first N requests answer 503."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[Received] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(503 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":%s}' % (b"false" if failing else b"true"))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, name: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if name is None or r.json.get("event") == name]

    def wait_for_each(self, *events: str, timeout: float = 15.0) -> tuple[Received, ...]:
        """The first delivery of each named event, in the order named: deliveries to one endpoint
        run concurrently, so the order they arrive in is not a promise (merchants key on eventId)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {event: self.events(event) for event in events}
            if all(found.values()):
                return tuple(found[event][0] for event in events)
            time.sleep(0.05)
        raise AssertionError(f"expected {events}, got {[r.json.get('event') for r in self.events()]}")

    def wait_for(self, count: int, timeout: float = 15.0, event: str | None = None) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(event)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} {event or 'webhook'}(s), got {len(self.events(event))}")
