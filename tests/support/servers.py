"""Real HTTP servers running the app, and a way to send many requests at the same instant.

``threaded_server`` runs the app in werkzeug's threaded server in this process;
``gunicorn_server`` runs ``gunicorn wsgi:app`` (several processes, several threads each) on the
given database and Redis, configured the way production is: through ``REVTAIN_*`` environment
variables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args) -> None:
        pass


@contextmanager
def threaded_server(app) -> Iterator[str]:
    """The app behind werkzeug's threaded WSGI server (one thread per request); yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_ENV_SETTINGS = ("INSTANCE_PATH", "DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEY", "SECRET_KEY",
                 "PUBLIC_BASE_URL", "EXECUTE_RATE_LIMIT", "VELOCITY_WINDOW_SECONDS")


def _server_env(config: Mapping[str, Any]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("REVTAIN_")}
    env["REVTAIN_ENV"] = "development"
    for name in _ENV_SETTINGS:
        if config.get(name) is not None:
            env[f"REVTAIN_{name}"] = str(config[name])
    return env


@contextmanager
def gunicorn_server(
    config: Mapping[str, Any], workers: int = 3, threads: int = 20, timeout: float = 30.0
) -> Iterator[str]:
    """``gunicorn -w <workers> --threads <threads> wsgi:app`` configured by ``REVTAIN_*`` variables
    taken from ``config`` (e.g. the tests' ``base_config``); yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
             "--preload", "--graceful-timeout", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
             "--log-level", "warning", "wsgi:app"],
            env=_server_env(config), stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, proc, log, timeout)
            yield url
        finally:
            proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_until_up(url: str, proc: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    log.seek(0)
    raise AssertionError(f"gunicorn did not start (exit code {proc.poll()}):\n{log.read()}")


def all_at_once(count: int, send: Callable[[int], T], timeout: float = 120.0) -> list[T]:
    """Run ``send(0)`` ... ``send(count - 1)`` on ``count`` threads released by one barrier."""
    barrier = threading.Barrier(count, timeout=timeout)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = send(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise AssertionError("some requests did not finish in time")
    return results  # type: ignore[return-value]
