"""``revtain worker`` and ``revtain scheduler``: the long-running processes besides the web server."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option("--queue", "queue_names", multiple=True, help="Queues to listen on (default: all).")
def worker_command(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker for Revtain's jobs."""
    from .observability import logs
    from .queues import ALL
    from .worker import make_worker

    logs.configure_for(current_app, "worker")

    worker = make_worker(current_app._get_current_object(), queue_names or ALL)  # type: ignore[attr-defined]
    worker.work(burst=burst, logging_level="INFO")


@click.command("scheduler")
@with_appcontext
@click.option("--once", is_flag=True, help="Enqueue what is due now and exit.")
def scheduler_command(once: bool) -> None:
    """Enqueue due retries and webhook tries, every SCHEDULER_INTERVAL_SECONDS."""
    from .observability import logs
    from .scheduler import run_forever, tick

    logs.configure_for(current_app, "scheduler")
    if once:
        click.echo(json.dumps(tick()))
        return
    run_forever(float(current_app.config["SCHEDULER_INTERVAL_SECONDS"]))
