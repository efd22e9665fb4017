"""gunicorn settings for Prometheus multiprocess mode (``-c python:revtain.observability.gunicorn_conf``).

A worker that exits leaves its live-gauge files behind; ``child_exit`` marks it dead so a scrape
stops adding up its samples. Everything else comes from the command line.
"""

from __future__ import annotations

import os


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
