"""A merchant's pre-retry check endpoint for tests: a real HTTP server that records each question
and answers from a script (status, body, a delay, or something to do first)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.receiver import Received


@dataclass
class Answer:
    status: int = 200
    body: str = '{"action": "proceed"}'
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    before: Callable[[], None] | None = None  # runs before answering (while Revtain waits)


class MerchantCheck:
    """Answers ``proceed`` unless told otherwise with ``answer(...)`` (one scripted answer per question)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.errors: list[BaseException] = []
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    server.requests.append(Received(self.path, dict(self.headers), body))
                    answer = server._script.pop(0) if server._script else Answer()
                if answer.before:
                    try:
                        answer.before()
                    except BaseException as exc:  # reported by the test, not lost in this thread
                        server.errors.append(exc)
                time.sleep(answer.delay)
                with contextlib.suppress(OSError):  # Revtain may have stopped waiting
                    self.send_response(answer.status)
                    for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/revtain/pre-retry"

    def answer(self, status: int = 200, body: dict | list | str | None = None, **options) -> MerchantCheck:
        text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
        with self._lock:
            self._script.append(Answer(status, text, **options))
        return self

    def __enter__(self) -> MerchantCheck:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
