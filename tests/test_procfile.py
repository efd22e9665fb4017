"""The Procfile as an operator runs it: ``honcho start``, then ``/readyz`` answers 200."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ENCRYPTION_KEY
from tests.support.processes import ROOT, free_port, process_env, revtain_settings


def _pids(output: str) -> dict[str, int]:
    """honcho announces each process as ``web.1 ... started (pid=1234)``."""
    return {name: int(pid) for name, pid in re.findall(r"(\w+)\.1\s.*started \(pid=(\d+)\)", output)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_honcho_runs_the_procfile_until_ready(app, instance_dir, database_url, redis_url, tmp_path):
    port = free_port()
    env = process_env(revtain_settings(database_url, redis_url, instance_dir, ENCRYPTION_KEY))
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    (tmp_path / "metrics").mkdir()
    log_path = tmp_path / "honcho.log"
    with open(log_path, "wb") as log:
        honcho = subprocess.Popen(
            [os.path.join(venv_bin, "honcho"), "start", "--no-colour", "-f", str(ROOT / "Procfile"),
             "-d", str(ROOT), "-e", os.devnull, "-p", str(port)],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pids: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and honcho.poll() is None:
            with contextlib.suppress(requests.RequestException):
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            time.sleep(0.2)
        output = log_path.read_text(errors="replace")
        assert ready is not None and ready.status_code == 200, (ready and ready.text, output[-4000:])
        assert ready.json()["checks"]["scheduler"] == {"status": "ok"}
        pids = _pids(output)
        assert set(pids) == {"web", "worker", "scheduler"}, output[-4000:]
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "revtain_queue_depth" in metrics.text
    finally:
        honcho.send_signal(signal.SIGTERM)  # honcho stops its processes and exits
        try:
            honcho.wait(30)
        except subprocess.TimeoutExpired:
            honcho.kill()
            honcho.wait(10)
        pids.update(_pids(log_path.read_text(errors="replace")))
        lingering = [name for name, pid in pids.items() if _alive(pid)]
        for name in lingering:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids[name], signal.SIGKILL)
    assert not lingering, f"{lingering} outlived honcho\n{log_path.read_text(errors='replace')[-3000:]}"
