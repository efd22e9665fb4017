"""The customer's clock through the API and the scheduler: customerTimezone / customerCountry on
execute, the card's country from binPrefix, and the learned hour recorded from scheduled retries
and used for the next plan once it has enough samples."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from revtain.extensions import db
from revtain.models import Client, Recovery, TimingStat
from revtain.onboarding import onboard
from revtain.recovery.learning import record_attempt
from tests.support.jobs import sweep

START = "2026-03-16T12:00:00+00:00"  # Monday, noon UTC


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START, TEST_GATEWAY_RETRY_LADDER=[])


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Acme", webhook_url=receiver.url, timezone="Europe/Paris")


def execute(client, headers, **fields):
    body = {"paymentMethodToken": "pm_card_visa", "amount": 2900,
            "originalDeclineCode": "insufficient_funds", **fields}
    return client.post("/api/recovery/execute", headers=headers, json=body)


@pytest.mark.parametrize(
    ("fields", "next_retry_at"),
    [
        # the client's clock: Friday 20 March 10:00 in Paris (UTC+1)
        ({}, "2026-03-20T09:00:00.000Z"),
        # the customer's: Friday 10:00 in Los Angeles (UTC-7 after the DST change)
        ({"customerTimezone": "America/Los_Angeles"}, "2026-03-20T17:00:00.000Z"),
        # the customer's country: its main timezone, Tokyo (UTC+9), and its calendar: Friday
        # 20 March 2026 is the Vernal Equinox holiday in Japan, so Thursday 19th at 10:00
        ({"customerCountry": "jp"}, "2026-03-19T01:00:00.000Z"),
        # the card's issuing country from its BIN (a US Visa): New York (UTC-4)
        ({"binPrefix": "424242"}, "2026-03-20T14:00:00.000Z"),
    ],
)
def test_next_retry_on_the_customers_clock(app, client, headers, fields, next_retry_at):
    r = execute(client, headers, **fields)
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["nextRetryAt"] == next_retry_at


def test_customer_country_sets_the_calendar(app, client, headers):
    # Failed Wed 1 Jul 2026 08:00 in New York; floor Thu 2 Jul 08:00. With the US calendar, Fri 3 Jul
    # (Independence Day observed) is no payday: Friday's pay comes on Thu 2 Jul.
    app.extensions["revtain.clock"].freeze(datetime.fromisoformat("2026-07-01T12:00:00+00:00"))
    r = execute(client, headers, customerTimezone="America/New_York", customerCountry="US")
    assert r.get_json()["nextRetryAt"] == "2026-07-02T14:00:00.000Z"
    with app.app_context():
        row = db.session.execute(select(Recovery)).scalar_one()
        assert (row.customer_timezone, row.customer_country) == ("America/New_York", "US")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"customerTimezone": "Mars/Olympus_Mons"}, "customerTimezone"),
        ({"customerTimezone": "europe/paris"}, "customerTimezone"),
        ({"customerTimezone": 5}, "customerTimezone"),
        ({"customerCountry": "ZZ"}, "customerCountry"),
        ({"customerCountry": "FRA"}, "customerCountry"),
    ],
)
def test_bad_customer_clock_is_a_400_naming_the_field(client, headers, fields, field):
    r = execute(client, headers, **fields)
    assert r.status_code == 400
    body = r.get_json()
    assert field in body["fields"] and body["message"].startswith(f"{field}:")


def test_learned_hour_is_recorded_and_then_used(app, client, headers):
    # 60 outcomes of funds retries at 14:00 in the customer's zone, most of them recoveries, and
    # 60 at 10:00, mostly declines: the next plan uses 14:00.
    r = execute(client, headers, customerTimezone="America/Chicago")
    assert r.get_json()["nextRetryAt"] == "2026-03-20T15:00:00.000Z"  # 10:00 CDT, the default
    with app.app_context():
        recovery = db.session.execute(select(Recovery)).scalar_one()
        merchant = db.session.get(Client, recovery.client_id)
        good = datetime.fromisoformat("2026-04-06T19:00:00+00:00")  # Monday 14:00 in Chicago (CDT)
        for i in range(60):
            record_attempt(merchant, recovery, "America/Chicago", good + timedelta(days=i % 7), i % 3 != 0)
            record_attempt(merchant, recovery, "America/Chicago", good - timedelta(hours=4), i % 4 == 0)
        db.session.commit()
        hours = dict(db.session.execute(
            select(TimingStat.slot, TimingStat.successes + TimingStat.failures)
            .where(TimingStat.dimension == "hour", TimingStat.family == "funds")
        ).all())
        assert hours == {14: 60, 10: 60}
    r = execute(client, headers, paymentMethodToken="pm_other", customerTimezone="America/Chicago")
    assert r.get_json()["nextRetryAt"] == "2026-03-20T19:00:00.000Z"  # 14:00 CDT, the learned hour


def test_a_scheduled_retry_counts_for_the_learned_timing(app, client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_insufficient_funds",
                customerTimezone="Europe/London")
    due = datetime.fromisoformat(r.get_json()["nextRetryAt"].replace("Z", "+00:00"))
    app.extensions["revtain.clock"].freeze(due)
    sweep(app)
    with app.app_context():
        rows = db.session.execute(
            select(TimingStat.dimension, TimingStat.slot, TimingStat.successes, TimingStat.failures)
        ).all()
    # Friday 20 March 10:00 in London: one failure at hour 10 and on weekday 4
    assert sorted(rows) == [("hour", 10, 0, 1), ("weekday", 4, 0, 1)]


def test_openapi_documents_the_customer_clock_as_our_additions(client):
    doc = client.get("/api/openapi.json").get_json()
    properties = doc["components"]["schemas"]["ExecuteRequest"]["properties"]
    for name in ("customerTimezone", "customerCountry"):
        assert properties[name]["description"].startswith("Our addition.")
