"""The CFO report over HTTP: filters, charts beside tables, the CSV export, bad filters as a 400."""

from __future__ import annotations

import csv
import io
import re

import pytest

from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from tests.test_dashboard import PASSWORD, login, post, text
from tests.test_reporting import seed

Q1 = "from=2026-01-01&to=2026-03-16"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW="2026-03-16T12:00:00+00:00")


@pytest.fixture
def finance(app, client, merchant):
    with app.app_context():
        create_user(merchant.client_id, "cfo@acme.example", "finance", PASSWORD)
        create_user(merchant.client_id, "mia@acme.example", "marketing", PASSWORD)
        seed(merchant.client_id)
        db.session.commit()
    assert login(client, "cfo@acme.example").status_code == 302
    return client


def test_the_report_has_charts_beside_tables(finance):
    r = finance.get(f"/dashboard/reports/cfo?{Q1}")
    assert r.status_code == 200
    page = text(r)
    assert "script" not in r.headers["Content-Security-Policy"]
    assert page.count('role="img"') == 6  # trend in EUR and USD, families, strategies, steps, days
    for table in (
        "table-trend-USD",
        "table-trend-EUR",
        "table-families",
        "table-strategies",
        "table-steps",
        "table-days",
        "table-at-risk",
    ):
        assert f'id="{table}"' in page
    assert re.search(r"Recovered</span><strong>3<", page) and "75.0 %" in page and "150.0 %" in page
    march = r"<th scope=\"row\">Mar 2026</th><td>\$116.00</td>\s*<td>\$49.00</td><td>\$20.00</td>"
    assert re.search(march, page)
    assert "$52.00 (2)" in page and "$10.00 (1)" in page and "$7.00 (1)" in page  # recovered, lost, at risk
    assert '<th scope="row">Step 2</th><td>2</td><td>1</td><td>50.0 %</td>' in page
    assert "3.0 days" in page
    assert 'href="/dashboard/reports/cfo.csv?from=2026-01-01&to=2026-03-16"' in page


def test_the_currency_filter(finance):
    page = text(finance.get(f"/dashboard/reports/cfo?{Q1}&currency=eur"))
    assert 'id="table-trend-EUR"' in page and 'id="table-trend-USD"' not in page
    assert '<option value="EUR" selected>' in page and "EUR only" in page
    assert "$49.00" not in page and "€25.00" in page


def test_csv_export(finance):
    r = finance.get(f"/dashboard/reports/cfo.csv?{Q1}&currency=USD")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="revtain-cfo-report-2026-01-01-to-2026-03-16-USD.csv"'
    )
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["section", "label", "currency", "measure", "value"]
    assert ["summary", "", "USD", "recovered_amount", "52.00"] in rows
    assert ["trend", "2026-03", "USD", "recovered_amount", "49.00"] in rows
    assert ["decline_family", "funds", "", "recovery_rate_percent", "66.7"] in rows
    assert not any(row[2] == "EUR" for row in rows)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("month=2026-13", "Month must be a month as YYYY-MM."),
        ("from=2026-03-10&to=2026-03-01", "From must be on or before To."),
        ("from=yesterday", "From must be a date as YYYY-MM-DD."),
        ("currency=DOLLARS", "Currency must be a three-letter ISO 4217 code"),
    ],
)
def test_bad_filters_get_a_400_with_the_reason(finance, query, message):
    r = finance.get(f"/dashboard/reports/cfo?{query}")
    assert r.status_code == 400 and message in text(r)
    assert 'aria-invalid="true"' in text(r) and "Showing the last 12 months" in text(r)
    r = finance.get(f"/dashboard/reports/cfo.csv?{query}")
    assert r.status_code == 400 and r.mimetype == "text/plain" and message in r.get_data(as_text=True)


def test_the_export_is_for_finance_and_admins_only(app, finance, client):
    post(client, "/dashboard/logout", "/dashboard/reports/cfo")
    assert login(client, "mia@acme.example").status_code == 302
    assert client.get("/dashboard/reports/cfo.csv").status_code == 403
    assert client.get("/dashboard/reports/cfo").status_code == 403
