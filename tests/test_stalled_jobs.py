"""A due retry whose job a worker lost is picked up again within a bound, whatever RQ says.

The real scheduler tick and a real RQ worker, on the injectable clock. The lost jobs are made the
way a dying worker makes them: RQ's own dequeue takes the job off its queue (and, for a job that
started, RQ's own bookkeeping marks it started and the job claims its row), then nothing more
happens. RQ then says "queued" (in no list) or "started" for a job no process runs.
"""

from __future__ import annotations

import sys
import time

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from revtain.due_rows import claim
from revtain.extensions import db
from revtain.models import Attempt, Recovery
from revtain.queues import ALL, RECOVERIES, RUN_RECOVERY_RETRY, job_id, queue
from revtain.recovery.retry import SCHEDULED_STATES
from revtain.redis_conn import connection
from revtain.scheduler import tick
from revtain.worker import make_worker
from tests.support.jobs import run_jobs
from tests.support.processes import Process, process_env
from tests.test_scheduled_retry import START, advance, queue_recovery


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


def queued_recovery(client, headers) -> str:
    return queue_recovery(client, headers)["transactionId"]


def take_job(app) -> Job:
    """What a worker does first: RQ's dequeue over all its queues (BLPOP: off every list)."""
    with app.app_context():
        job, _ = Queue.dequeue_any([queue(name) for name in ALL], None, connection=connection())
    return job


def attempts(app, tx: str) -> int:
    with app.app_context():
        query = select(func.count(Attempt.id)).where(Attempt.recovery_id == tx)
        return db.session.execute(query).scalar_one()


def recovery(app, tx: str) -> Recovery:
    with app.app_context():
        return db.session.get(Recovery, tx)


def test_a_job_taken_but_never_started_is_enqueued_again_within_the_bound(app, client, headers):
    tx = queued_recovery(client, headers)
    advance(app, 10)
    with app.app_context():
        assert tick()["recoveries"] == 1
    job = take_job(app)  # ...and the worker is killed before it starts the job
    assert job.id == job_id(RUN_RECOVERY_RETRY, tx)
    with app.app_context():
        assert job.get_status() == "queued" and queue(RECOVERIES).count == 0  # "queued", in no queue

    bound = app.config["REENQUEUE_AFTER_SECONDS"]
    advance(app, bound - 1)
    with app.app_context():
        assert tick()["recoveries"] == 0  # within the bound its job may still start: no copy
    advance(app, 1)
    with app.app_context():
        assert tick()["recoveries"] == 1  # the bound: enqueued again although RQ says "queued"
    run_jobs(app)
    assert recovery(app, tx).status == "succeeded"
    assert attempts(app, tx) == 1

    for _ in range(3):  # nothing more happens to it, ever
        advance(app, app.config["CLAIM_LEASE_SECONDS"])
        with app.app_context():
            assert tick()["recoveries"] == 0
        run_jobs(app)
    assert attempts(app, tx) == 1


def test_a_job_killed_after_it_claimed_its_row_is_enqueued_again_when_the_lease_ends(app, client, headers):
    tx = queued_recovery(client, headers)
    advance(app, 10)
    with app.app_context():
        assert tick()["recoveries"] == 1
        job = take_job(app)
        make_worker(app).prepare_job_execution(job)  # RQ marks it started...
        assert claim(Recovery, tx, "next_attempt_at", Recovery.status.in_(SCHEDULED_STATES))  # ...it claims
        assert job.get_status() == "started"  # ...and the worker is SIGKILLed

    lease = app.config["CLAIM_LEASE_SECONDS"]
    advance(app, lease - 1)
    with app.app_context():
        assert tick()["recoveries"] == 0  # the lease holds: the job may still be charging
    advance(app, 1)
    with app.app_context():
        assert Job.fetch(job.id, connection=connection()).get_status() == "started"
        assert tick()["recoveries"] == 1  # lease over: enqueued again although RQ says "started"
    run_jobs(app)
    assert recovery(app, tx).status == "succeeded"
    assert attempts(app, tx) == 1


def test_a_backlogged_retry_gets_no_second_copy_while_it_waits_in_its_queue(app, client, headers):
    tx = queued_recovery(client, headers)
    advance(app, 10)
    with app.app_context():
        assert tick()["recoveries"] == 1
    for _ in range(3):  # workers are behind for three bounds: the job is still in its list
        advance(app, app.config["REENQUEUE_AFTER_SECONDS"])
        with app.app_context():
            assert tick()["recoveries"] == 0
            assert queue(RECOVERIES).count == 1
    run_jobs(app)
    assert recovery(app, tx).status == "succeeded"
    assert attempts(app, tx) == 1


# -- the same, with `revtain scheduler` and `revtain worker` as real processes on the real clock --


@pytest.fixture
def live_settings(base_config, database_url, redis_url, instance_dir) -> dict[str, object]:
    return {
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": base_config["ENCRYPTION_KEY"],
        "REVTAIN_SECRET_KEY": "stalled-secret",
        "REVTAIN_INSTANCE_PATH": instance_dir,
        "REVTAIN_TEST_GATEWAY_RETRY_LADDER": "[1]",
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "REVTAIN_REENQUEUE_AFTER_SECONDS": "3",
    }


def test_real_processes_recover_a_job_taken_by_a_worker_that_died(make_app, headers, live_settings, tmp_path):
    app = make_app()
    env = process_env(live_settings)
    bound = float(live_settings["REVTAIN_REENQUEUE_AFTER_SECONDS"])
    python = [sys.executable, "-m", "revtain"]
    processes = [Process("scheduler", [*python, "scheduler"], env, tmp_path)]
    try:
        r = app.test_client().post(
            "/api/recovery/execute",
            headers=headers,
            json={"paymentMethodToken": "pm_1", "amount": 5000, "originalDeclineCode": "insufficient_funds"},
        )
        assert r.status_code == 202
        tx = r.get_json()["transactionId"]
        with app.app_context():
            waiting = queue(RECOVERIES)
            deadline = time.monotonic() + 15
            while waiting.count == 0:  # the scheduler enqueues it when due (1 s)
                assert processes[0].running and time.monotonic() < deadline, processes[0].output()
                time.sleep(0.05)
        job = take_job(app)  # a worker takes it and is killed before starting it
        taken_at = time.monotonic()
        assert job.id == job_id(RUN_RECOVERY_RETRY, tx)
        processes.append(Process("worker", [*python, "worker"], env, tmp_path))

        deadline = taken_at + bound + 10  # the bound, plus a generous margin for a loaded machine
        while recovery(app, tx).status != "succeeded":
            assert all(p.running for p in processes), "\n".join(p.output() for p in processes)
            assert time.monotonic() < deadline, "\n".join(p.output() for p in processes)
            time.sleep(0.05)
        recovered_after = time.monotonic() - taken_at
        time.sleep(2 * bound)  # two more bounds: nothing else happens to it
        assert attempts(app, tx) == 1
        assert recovery(app, tx).status == "succeeded"
        print(f"recovered {recovered_after:.1f}s after the job was taken (bound {bound:.0f}s)")
    finally:
        for process in processes:
            process.stop()
