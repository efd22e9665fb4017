"""What counts as recovered, lost and still at risk, in one place for every figure of the report.

* **recovered**: succeeded through Revtain. A payment the billing platform collected by itself
  (``paid_elsewhere``) is organic, not recovered.
* **lost**: the recovery gave up (``failed``).
* **at risk**: still open (processing, queued, waiting for a new card, outcome unknown).
* Left out of every figure: simulated (sandbox) recoveries. Proof Mode's held-out invoices and
  blocked payments (never retried) are neither recovered nor lost.
"""

from __future__ import annotations

from sqlalchemy import and_, or_

from ..models import Recovery
from ..models.recovery import AWAITING_CARD, FAILED, PROCESSING, QUEUED, SUCCEEDED, UNKNOWN
from ..recovery.finish import PAID_ELSEWHERE
from .filters import ReportFilter

OPEN_STATES = (PROCESSING, QUEUED, AWAITING_CARD, UNKNOWN)
RECOVERED = and_(Recovery.status == SUCCEEDED, Recovery.strategy_used.is_distinct_from(PAID_ELSEWHERE))
LOST = Recovery.status == FAILED
AT_RISK = Recovery.status.in_(OPEN_STATES)
FINISHED = or_(RECOVERED, LOST)


def own(client_id: str, f: ReportFilter) -> tuple:
    """The client's real (not simulated) recoveries, in the filter's currency if it has one."""
    where = (Recovery.client_id == client_id, Recovery.is_simulated.is_(False))
    return where + ((Recovery.currency == f.currency,) if f.currency else ())


def rate(recovered: int, finished: int) -> float | None:
    """Recovered over finished (recovered + lost), in percent; None when nothing finished."""
    return 100.0 * recovered / finished if finished else None
