"""A customer opened a card-update page: counted on the link, for the recovery's timeline.

One atomic ``UPDATE`` (first time kept, last time and count moved on), so two tabs opening the
page at once both count. An email client's link scanner opens pages too: the timeline says
"opened", not "read by the customer".
"""

from __future__ import annotations

from sqlalchemy import func, update

from ..clock import now as clock_now
from ..extensions import db
from ..models import CardUpdateLink


def note_opened(link: CardUpdateLink) -> None:
    now = clock_now()
    db.session.execute(
        update(CardUpdateLink)
        .where(CardUpdateLink.id == link.id)
        .values(open_count=CardUpdateLink.open_count + 1, last_opened_at=now,
                first_opened_at=func.coalesce(CardUpdateLink.first_opened_at, now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
