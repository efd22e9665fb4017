"""The CFO report's service (revtain/reporting): filters, and every figure on known data.

The merchant is in Europe/Paris: a payment that failed at 23:30 UTC on 28 February failed on
1 March there, and is counted in March.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from revtain.extensions import db
from revtain.models import (
    Client,
    DunningSequence,
    DunningStep,
    Message,
    MessageTemplate,
    OrganicSuccess,
    Recovery,
)
from revtain.reporting import filters, presentation, report
from revtain.reporting.filters import FilterError, ReportFilter

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 3, 16)


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW="2026-03-16T12:00:00+00:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _recovery(
    client_id: str, created: str, amount: int, currency: str = "USD", status: str = "failed", **fields
) -> Recovery:
    recovery = Recovery(
        client_id=client_id,
        payment_method_token="pm_x",
        amount=amount,
        currency=currency,
        status=status,
        created_at=at(created),
        updated_at=at(created),
        **fields,
    )
    db.session.add(recovery)
    db.session.flush()
    return recovery


def seed(client_id: str) -> None:
    """The known data every figure below is worked out from (see the module's docstring)."""
    client = db.session.get(Client, client_id)
    client.timezone = "Europe/Paris"
    client.proof_mode_enabled = True  # no invoice counted yet: the section says it is measuring
    r1 = _recovery(
        client_id,
        "2026-03-02T12:00:00",
        4900,
        status="succeeded",
        strategy_used="primary",
        original_decline_code="insufficient_funds",
        recovered_at=at("2026-03-05T12:00:00"),
        finished_at=at("2026-03-05T12:00:00"),
    )
    r2 = _recovery(
        client_id,
        "2026-03-03T12:00:00",
        1000,
        status="failed",
        strategy_used="primary",
        original_decline_code="insufficient_funds",
        finished_at=at("2026-03-10T12:00:00"),
    )
    _recovery(
        client_id,
        "2026-02-28T23:30:00",
        2500,
        "EUR",
        status="succeeded",
        strategy_used="network_token",
        original_decline_code="expired_card",
        recovered_at=at("2026-03-01T10:00:00"),
        finished_at=at("2026-03-01T10:00:00"),
    )
    r4 = _recovery(
        client_id, "2026-03-10T12:00:00", 700, status="queued", original_decline_code="do_not_honor"
    )
    _recovery(
        client_id,
        "2026-03-04T12:00:00",
        999,
        status="succeeded",
        is_simulated=True,
        strategy_used="primary",
        original_decline_code="insufficient_funds",
        recovered_at=at("2026-03-04T13:00:00"),
    )
    r6 = _recovery(
        client_id,
        "2026-01-15T12:00:00",
        300,
        status="succeeded",
        strategy_used="primary",
        original_decline_code="insufficient_funds",
        recovered_at=at("2026-02-04T12:00:00"),
        finished_at=at("2026-02-04T12:00:00"),
    )
    _recovery(
        client_id,
        "2026-03-04T12:00:00",
        5000,
        status="succeeded",
        strategy_used="paid_elsewhere",
        original_decline_code="do_not_honor",
        recovered_at=at("2026-03-06T12:00:00"),
    )
    _recovery(
        client_id,
        "2025-12-20T12:00:00",
        8800,
        status="failed",
        strategy_used="primary",
        original_decline_code="insufficient_funds",
        finished_at=at("2025-12-30T12:00:00"),
    )
    for tx, amount, currency, when in (
        ("o1", 2000, "USD", "2026-03-05T09:00:00"),
        ("o2", 100, "EUR", "2026-02-10T09:00:00"),
    ):
        db.session.add(
            OrganicSuccess(
                client_id=client_id, transaction_id=tx, amount=amount, currency=currency, created_at=at(when)
            )
        )
    template = (
        db.session.execute(select(MessageTemplate).where(MessageTemplate.client_id == client_id))
        .scalars()
        .first()
    )
    now = at("2026-01-01T00:00:00")
    sequence = DunningSequence(
        client_id=client_id, name="Default", status="published", created_at=now, updated_at=now
    )
    db.session.add(sequence)
    steps = [DunningStep(position=p, delay_hours=24 * p, template_id=template.id) for p in (1, 2, 3)]
    sequence.steps.extend(steps)
    db.session.flush()
    for recovery, position, status, sent in (
        (r1, 1, "sent", "2026-03-03T08:00:00"),
        (r1, 2, "sent", "2026-03-04T08:00:00"),
        (r1, 3, "cancelled", None),
        (r2, 1, "sent", "2026-03-04T08:00:00"),
        (r2, 2, "sent", "2026-03-06T08:00:00"),
        (r4, 1, "sent", "2026-03-11T08:00:00"),
        (r4, 2, "pending", None),
        (r6, 1, "sent", "2026-01-16T08:00:00"),
    ):
        db.session.add(
            Message(
                client_id=client_id,
                recovery_id=recovery.id,
                step_id=steps[position - 1].id,
                to_address="jo@example.com",
                status=status,
                sent_at=at(sent) if sent else None,
                created_at=recovery.created_at,
            )
        )
    db.session.commit()


def make(args: dict[str, str]) -> ReportFilter:
    return filters.parse(args, PARIS, TODAY)


def build(app, client_id: str, args: dict[str, str]) -> report.Report:
    client = db.session.get(Client, client_id)
    return report.build(client, make(args), at("2026-03-16T12:00:00"))


Q1 = {"from": "2026-01-01", "to": "2026-03-16"}


# --- filters --------------------------------------------------------------------------------------


def test_default_range_is_this_month_and_the_eleven_before():
    f = make({})
    assert (f.first_day, f.last_day, f.currency) == (date(2025, 4, 1), TODAY, None)
    assert [m for m, _, _ in f.months()][:2] == ["2025-04", "2025-05"] and len(f.months()) == 12


def test_a_month_and_a_range_in_the_merchants_timezone():
    f = make({"month": "2026-02", "currency": " eur "})
    assert (f.first_day, f.last_day, f.currency) == (date(2026, 2, 1), date(2026, 2, 28), "EUR")
    assert f.start == datetime(2026, 1, 31, 23, 0, tzinfo=UTC) and f.end == datetime(
        2026, 2, 28, 23, 0, tzinfo=UTC
    )
    months = make({"from": "2026-01-15", "to": "2026-03-03"}).months()
    assert [(m, s.date(), e.date()) for m, s, e in months] == [
        ("2026-01", date(2026, 1, 15), date(2026, 2, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-03", date(2026, 3, 1), date(2026, 3, 4)),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"month": "2026-13"}, "Month must be a month as YYYY-MM."),
        ({"month": "2026-03", "from": "2026-03-01"}, "Choose either a month or a date range, not both."),
        ({"from": "2026-02-30"}, "From is not a real date."),
        ({"to": "16/03/2026"}, "To must be a date as YYYY-MM-DD."),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "From must be on or before To."),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "Choose a range of at most 60 months."),
        ({"currency": "XYZ"}, "Currency must be a three-letter ISO 4217 code such as USD, or empty for all."),
        (
            {"currency": "<script>"},
            "Currency must be a three-letter ISO 4217 code such as USD, or empty for all.",
        ),
    ],
)
def test_bad_filters_are_named(args, message):
    with pytest.raises(FilterError) as caught:
        make(args)
    assert message in caught.value.messages


# --- figures --------------------------------------------------------------------------------------


def test_summary_trend_and_at_risk(app, merchant):
    with app.app_context():
        seed(merchant.client_id)
        r = build(app, merchant.client_id, Q1)
    s = r.summary
    assert (s.recovered_count, s.recovered_amounts, s.failed_count) == (3, {"EUR": 2500, "USD": 5200}, 1)
    assert (s.organic_count, s.organic_amounts) == (2, {"EUR": 100, "USD": 2000})
    assert s.recovery_rate == 75.0 and s.lift_pct == pytest.approx(150.0)
    usd = [(m.month, m.failed_amount, m.recovered_amount, m.organic_amount) for m in r.trend["USD"]]
    assert usd == [("2026-01", 300, 0, 0), ("2026-02", 0, 300, 0), ("2026-03", 11600, 4900, 2000)]
    eur = [
        (m.month, m.failed_count, m.failed_amount, m.recovered_amount, m.organic_amount)
        for m in r.trend["EUR"]
    ]
    assert eur == [("2026-01", 0, 0, 0, 0), ("2026-02", 0, 0, 0, 100), ("2026-03", 1, 2500, 2500, 0)]
    assert [
        (a.currency, a.recovered_amount, a.recovered_count, a.lost_amount, a.at_risk_amount, a.at_risk_count)
        for a in r.at_risk
    ] == [("EUR", 2500, 1, 0, 0, 0), ("USD", 5200, 2, 1000, 700, 1)]
    assert r.currencies == ["EUR", "USD"]
    assert r.proof is not None and r.proof.comparison.in_progress


def test_rates_by_family_strategy_and_step_and_days_to_recover(app, merchant):
    with app.app_context():
        seed(merchant.client_id)
        r = build(app, merchant.client_id, Q1)
    assert [(f.key, f.recovered, f.lost, f.open, f.rate) for f in r.families] == [
        ("funds", 2, 1, 0, pytest.approx(200 / 3)),
        ("expired", 1, 0, 0, 100.0),
        ("generic", 0, 0, 1, None),
    ]
    assert [(s.key, s.recovered, s.lost, s.open) for s in r.strategies] == [
        ("primary", 2, 1, 0),
        ("network_token", 1, 0, 0),
        ("none", 0, 0, 1),
    ]
    assert [(s.position, s.reached, s.recovered_after, s.rate) for s in r.steps] == [
        (1, 4, 1, 25.0),
        (2, 2, 1, 50.0),
    ]
    assert (r.days.count, r.days.median_days) == (3, 3.0)
    assert r.days.buckets == [
        ("Same day", 1),
        ("1-2 days", 0),
        ("3-6 days", 1),
        ("7-13 days", 0),
        ("14-29 days", 1),
        ("30 days or more", 0),
    ]


def test_currency_and_date_filters(app, merchant):
    with app.app_context():
        seed(merchant.client_id)
        eur = build(app, merchant.client_id, {**Q1, "currency": "EUR"})
        march_utc_day_one = build(app, merchant.client_id, {"from": "2026-03-01", "to": "2026-03-01"})
        december = build(app, merchant.client_id, {"month": "2025-12"})
    assert (eur.summary.recovered_count, eur.summary.recovered_amounts, eur.summary.failed_count) == (
        1,
        {"EUR": 2500},
        0,
    )
    assert list(eur.trend) == ["EUR"] and [f.key for f in eur.families] == ["expired"]
    assert eur.summary.organic_amounts == {"EUR": 100} and not eur.steps
    # 23:30 UTC on 28 February is 1 March in Paris
    assert march_utc_day_one.trend["EUR"][0].failed_amount == 2500 and "USD" not in march_utc_day_one.trend
    assert december.summary.failed_count == 1 and [f.lost for f in december.families] == [1]
    assert december.days.count == 0


def test_an_empty_report(app, merchant):
    with app.app_context():
        r = build(app, merchant.client_id, {})
        rows = list(csv.reader(io.StringIO(report.to_csv(r))))
        drawn = presentation.charts(r)
    assert r.empty and r.trend == {} and r.at_risk == [] and r.families == [] and r.steps == []
    assert (r.days.count, r.days.median_days) == (0, None) and r.proof is None
    assert r.summary.recovery_rate is None and r.summary.lift_pct is None
    assert rows[0] == ["section", "label", "currency", "measure", "value"]
    assert ["summary", "", "", "recovery_rate_percent", ""] in rows
    assert drawn == {}


def test_csv_rows_in_major_units(app, merchant):
    with app.app_context():
        seed(merchant.client_id)
        rows = list(csv.reader(io.StringIO(report.to_csv(build(app, merchant.client_id, Q1)))))
    assert ["summary", "", "USD", "recovered_amount", "52.00"] in rows
    assert ["trend", "2026-03", "USD", "failed_amount", "116.00"] in rows
    assert ["recovered_vs_at_risk", "", "USD", "at_risk_amount", "7.00"] in rows
    assert ["decline_family", "funds", "", "recovery_rate_percent", "66.7"] in rows
    assert ["dunning_step", "2", "", "recovered_after", "1"] in rows
    assert ["days_to_recover", "", "", "median_days", "3.0"] in rows
    assert ["days_to_recover", "14-29 days", "", "count", "1"] in rows
    assert ["proof_mode", "treatment", "", "counted_invoices", "0"] in rows
    assert ["proof_mode", "", "", "verdict", "in_progress"] in rows
    assert all(len(row) == 5 for row in rows)


def test_charts_are_named_svg_with_every_figure_in_a_title(app, merchant):
    with app.app_context():
        seed(merchant.client_id)
        drawn = presentation.charts(build(app, merchant.client_id, Q1))
    assert sorted(drawn) == ["days", "families", "steps", "strategies", "trend-EUR", "trend-USD"]
    usd = str(drawn["trend-USD"])
    assert usd.startswith('<svg class="chart" id="chart-trend-USD" role="img"')
    assert 'aria-labelledby="chart-trend-USD-title chart-trend-USD-desc"' in usd
    assert (
        "<title>Mar 2026, Recovered: $49.00</title>" in usd
        and "<title>Jan 2026, Failed payments: $3.00</title>" in usd
    )
    assert usd.count("<rect ") == 9  # three months, three series
    assert "Funds: 66.7 % (2/3)" in str(drawn["families"])
    assert "median 3.0 days" in str(drawn["days"])
