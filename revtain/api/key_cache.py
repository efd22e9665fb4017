"""A short per-process cache of API-key lookups: most API calls then skip the key's round trip.

An entry holds the key's id and kind and a copy of its client's row, for ``API_KEY_CACHE_SECONDS``
(0 turns the cache off). A copy is attached to each request's session without a query
(no query), so the request sees an ordinary ``Client``. Any change to a client or an API
key made through this process's sessions (a rotation, a revocation, a settings form) empties the
cache at once; a change made by another process is seen within ``API_KEY_CACHE_SECONDS``.
Keys that match nothing are never cached.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from ..clock import now as clock_now
from ..extensions import db
from ..models import ApiKey, Client

MAX_ENTRIES = 10_000
_WATCHED = (ApiKey.__tablename__, Client.__tablename__)


@dataclass(frozen=True)
class _Entry:
    expires: datetime
    key_id: str
    kind: str
    client_state: dict[str, Any]


_entries: dict[tuple[int, str], _Entry] = {}  # (app id, key hash) -> entry
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        _entries.clear()


def lookup(key_hash: str) -> tuple[str, str, Client] | None:
    """(api key id, kind, client) of a key that is not revoked, or None."""
    seconds = current_app.config["API_KEY_CACHE_SECONDS"]
    slot = (id(current_app._get_current_object()), key_hash)  # type: ignore[attr-defined]
    now = clock_now()
    entry = _entries.get(slot) if seconds > 0 else None
    if entry is not None and entry.expires > now:
        return entry.key_id, entry.kind, _attach(entry.client_state)
    row = db.session.execute(
        select(ApiKey.id, ApiKey.kind, Client)
        .join(Client, Client.id == ApiKey.client_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        _entries.pop(slot, None)
        return None
    key_id, kind, client = row
    if seconds > 0:
        state = {attr.key: copy.deepcopy(getattr(client, attr.key)) for attr in inspect(Client).column_attrs}
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[slot] = _Entry(now + timedelta(seconds=seconds), key_id, kind, state)
    return key_id, kind, client


def _attach(state: dict[str, Any]) -> Client:
    """A fresh copy for this request, attached as if loaded (no query, nothing to flush)."""
    detached = Client(**{k: copy.deepcopy(v) if isinstance(v, dict | list) else v for k, v in state.items()})
    make_transient_to_detached(detached)
    if db.session.identity_map.get(inspect(detached).key) is not None:
        return db.session.merge(detached, load=False)
    db.session.add(detached)
    return detached


def _touches_keys_or_clients(session: Session) -> bool:
    changed = (*session.new, *session.dirty, *session.deleted)
    return any(isinstance(obj, ApiKey | Client) for obj in changed)


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, flush_context, instances) -> None:
    if _entries and _touches_keys_or_clients(session):
        clear()
        session.info["revtain.key_cache_dirty"] = True


@event.listens_for(Session, "do_orm_execute")
def _on_bulk_change(state) -> None:
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and table is not None and table.name in _WATCHED:
        clear()
        state.session.info["revtain.key_cache_dirty"] = True


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    """Again after the commit: a request in another thread may have cached the old row meanwhile."""
    if session.info.pop("revtain.key_cache_dirty", False):
        clear()
