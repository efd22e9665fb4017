"""Revtain as separate real processes: gunicorn, an RQ worker and the scheduler.

Each process runs with the venv's Python, is configured only by ``REVTAIN_*`` environment
variables, writes its output to a log file, and lives in its own session (process group) so that
stopping it also stops its children (gunicorn's workers). Failures quote the logs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import gunicorn
import requests

ROOT = Path(__file__).resolve().parents[2]
# gunicorn 27 opens a control socket at one fixed path in $HOME: two servers would share it.
GUNICORN_OPTIONS = ["--no-control-socket"] if gunicorn.version_info >= (27,) else []
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def revtain_settings(database_url: str, redis_url: str, instance_dir: str, encryption_key: str,
                     **extra: object) -> dict[str, object]:
    """The ``REVTAIN_*`` variables of a stack on the suite's database and Redis: a ladder of 1, 2
    and 3 seconds for queued test-gateway retries, a scheduler tick every 0.2 s, plus ``extra``
    (``REVTAIN_`` added to each name)."""
    return {
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": encryption_key,
        "REVTAIN_SECRET_KEY": "e2e-secret",
        "REVTAIN_INSTANCE_PATH": instance_dir,
        "REVTAIN_TEST_GATEWAY_RETRY_LADDER": "[1, 2, 3]",
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "0.2",
        **{f"REVTAIN_{name}": value for name, value in extra.items()},
    }


def process_env(settings: Mapping[str, object]) -> dict[str, str]:
    """The inherited environment without any ``REVTAIN_*`` variable, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVTAIN_")}
    env.update({k: str(v) for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self, limit: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<cannot read {self.log_path}: {exc}>"
        return text if len(text) <= limit else "...\n" + text[-limit:]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL to the whole process group if it lingers."""
        if self.running:
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        # the group is ours (start_new_session), its id the leader's pid: no child outlives us
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout)


class Stack:
    """The web server, a worker and the scheduler, started together and stopped together."""

    def __init__(self, settings: Mapping[str, object], log_dir: Path, web_workers: int = 2) -> None:
        self.env = process_env(settings)
        self.log_dir = log_dir
        self.web_workers = web_workers
        self.processes: dict[str, Process] = {}
        self.base_url = ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, attempts: int = 3, timeout: float = 30.0) -> Stack:
        python = sys.executable
        for command in ("worker", "scheduler"):
            self._spawn(command, [python, "-m", "revtain", command])
        for _ in range(attempts):  # a free port can be taken before gunicorn binds it
            port = free_port()
            self.base_url = f"http://127.0.0.1:{port}"
            web = self._spawn("web", [
                python, "-m", "gunicorn", "-w", str(self.web_workers), "-b", f"127.0.0.1:{port}",
                "--graceful-timeout", "5", "--access-logfile", "-", *GUNICORN_OPTIONS,
                "revtain:create_app()",
            ])
            if self._wait_until_up(web, timeout):
                self.assert_alive()
                return self
            web.stop()
        raise AssertionError(f"the web server did not come up on {self.base_url}\n{self.logs()}")

    def _spawn(self, name: str, args: list[str]) -> Process:
        self.processes[name] = Process(name, args, self.env, self.log_dir)
        return self.processes[name]

    def _wait_until_up(self, web: Process, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not web.running:
                return False
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        for process in self.processes.values():
            if process.running:
                process.popen.terminate()
        for process in self.processes.values():
            process.stop()

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- diagnostics ------------------------------------------------------------------------

    def logs(self) -> str:
        parts = []
        for name, process in self.processes.items():
            state = "running" if process.running else f"exited {process.popen.returncode}"
            parts.append(f"----- {name} ({state}) {process.log_path} -----\n{process.output()}")
        return "\n".join(parts)

    def assert_alive(self) -> None:
        dead = [name for name, process in self.processes.items() if not process.running]
        assert not dead, f"{', '.join(dead)} exited\n{self.logs()}"

    def explain(self, response: requests.Response) -> str:
        return (
            f"{response.request.method} {response.url} -> {response.status_code} {response.text}\n"
            f"{self.logs()}"
        )

    def wait_until(self, find: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
        """Poll ``find`` until it returns something truthy; fail fast if a process died."""
        deadline = time.monotonic() + timeout
        while True:
            found = find()
            if found:
                return found
            self.assert_alive()
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(0.05)
