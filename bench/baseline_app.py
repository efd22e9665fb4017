"""The baseline for ``execute_vs_baseline.py``: the least a Flask + Flask-SQLAlchemy JSON endpoint
on PostgreSQL can do per request -- parse a JSON body, insert one row, commit, answer JSON.

Run it like Revtain, under gunicorn (the runner does this)::

    BENCH_BASELINE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/revtain_bench \\
        .venv/bin/python -m gunicorn -w 2 -b 127.0.0.1:8102 --chdir bench 'baseline_app:create_app()'

It uses the same driver as Revtain (psycopg 3) and Flask-SQLAlchemy's defaults (no pool pre-ping,
expire on commit); the answer is built before the commit, so a request costs three round trips to
PostgreSQL: BEGIN, INSERT, COMMIT. The table ``bench_baseline_rows`` is created on start if missing.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):
    __tablename__ = "bench_baseline_rows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token: Mapped[str] = mapped_column(String(512))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _database_uri() -> str:
    url = os.environ.get("BENCH_BASELINE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/revtain_bench")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_uri()
    db.init_app(app)
    with app.app_context():
        try:  # both gunicorn workers start at once; one of them wins the CREATE TABLE
            db.create_all()
        except (IntegrityError, ProgrammingError):
            db.session.rollback()
        db.engine.dispose()  # no connection inherited across a fork

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.post("/insert")
    def insert():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("amount"), int):
            return jsonify({"error": "Validation failed."}), 400
        row = Row(
            id=str(uuid.uuid4()),
            token=str(body.get("paymentMethodToken", ""))[:512],
            amount=body["amount"],
            currency=str(body.get("currency") or "USD")[:3],
            created_at=datetime.now(UTC),
        )
        answer = {"success": True, "id": row.id, "amount": row.amount, "currency": row.currency}
        db.session.add(row)
        db.session.commit()  # the answer is built first: no reload of the expired row after commit
        return jsonify(answer)

    return app
