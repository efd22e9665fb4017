"""Dashboard accounts: creating, authenticating and removing a client's team members.

Used by the dashboard's Users and Account pages and by ``revtain users``. Passwords are stored only
as werkzeug hashes (scrypt); a failed sign-in costs the same whether or not the email exists.
Sessions are ended server-side: the session cookie names the user's ``session_version``, which
signing out, a new password and removal change, so a copied cookie stops working.
"""

from __future__ import annotations

import re
from functools import cache

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, User
from ..models.user import ADMIN, ROLES

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class AccountError(ValueError):
    """Input a person must correct; the message says what."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def create_user(client_id: str, email: str, role: str, password: str) -> User:
    if db.session.get(Client, client_id) is None:
        raise AccountError(f"no client with id {client_id}")
    email = normalise_email(email)
    if len(email) > 320 or not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    check_password(password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise AccountError(f"a user with email {email} already exists")
    user = User(client_id=client_id, email=email, role=role, password_hash=_hash(password),
                session_version=1, created_at=clock_now())
    db.session.add(user)
    db.session.commit()
    return user


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a real password, only spends the same time", method=method)


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password these are, or None; the same work either way."""
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    stored = user.password_hash if user else _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
    ok = check_password_hash(stored, password or "")
    if not (user and ok):
        return None
    user.last_login_at = clock_now()
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Every session of ``user``, in any browser, stops working now (their cookie names the old
    version). Signing out does this, as do a new password and removal."""
    db.session.execute(
        update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
    )
    db.session.commit()
    db.session.refresh(user)


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password (the current one must be given) and end every other session."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError("the current password is not right")
    check_password(new)
    if check_password_hash(user.password_hash, new):
        raise AccountError("the new password must differ from the current one")
    user.password_hash = _hash(new)
    db.session.commit()
    end_sessions(user)


def reset_password(email: str, new: str) -> User:
    """An operator sets a new password for a locked-out person; every session of theirs ends."""
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise AccountError(f"no user with email {normalise_email(email)}")
    check_password(new)
    user.password_hash = _hash(new)
    db.session.commit()
    end_sessions(user)
    return user


def load(user_id: str) -> User | None:
    """Flask-Login's loader: ``<id>:<session_version>``, so a bumped version ends old sessions."""
    ident, _, version = (user_id or "").partition(":")
    user = db.session.get(User, ident) if ident else None
    if user is None or str(user.session_version) != version:
        return None
    return user


def team(client_id: str) -> list[User]:
    return list(db.session.execute(
        select(User).where(User.client_id == client_id).order_by(User.created_at, User.email)
    ).scalars())


def remove_user(acting: User, user_id: str) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.client_id != acting.client_id:
        raise LookupError(user_id)
    if user.id == acting.id:
        raise AccountError("you cannot remove yourself")
    return _remove(user)


def remove_by_email(email: str) -> User:
    """An operator removes a person (``revtain users remove``); the last admin stays."""
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise AccountError(f"no user with email {normalise_email(email)}")
    return _remove(user)


def _remove(user: User) -> User:
    if user.role == ADMIN:
        admins = db.session.execute(
            select(func.count(User.id)).where(User.client_id == user.client_id, User.role == ADMIN)
        ).scalar_one()
        if admins <= 1:
            raise AccountError("a client keeps at least one admin")
    db.session.delete(user)
    db.session.commit()
    return user
