"""POST /api/predict/risk and /api/predict/outcome (contract 3.9-3.10)."""

from __future__ import annotations

import re

import pytest

from revtain.engine.risk import recommendation_for

START = "2026-03-18T14:00:00+00:00"  # a Wednesday afternoon


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


def risk(client, headers, **body):
    body = {"paymentMethodToken": "pm_1", "amount": 4900, **body}
    return client.post("/api/predict/risk", json=body, headers=headers)


def test_a_new_card_gets_an_honest_low_confidence_prediction(client, headers):
    r = risk(client, headers)
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == ["success", "prediction"]
    prediction = body["prediction"]
    assert list(prediction)[:5] == ["riskScore", "confidence", "reasoning", "factors", "recommendation"]
    assert 0 <= prediction["riskScore"] <= 100 and prediction["confidence"] == 0
    assert prediction["recommendation"] == recommendation_for(prediction["riskScore"])
    assert re.fullmatch(r"pred_[0-9a-f]{12}", prediction["predictionId"])


def test_prior_declines_raise_the_risk(client, headers):
    before = risk(client, headers, paymentMethodToken="test_decline_do_not_honor").get_json()
    for amount in (5000, 5001, 5002):
        client.post("/api/recovery/execute", headers=headers,
                    json={"paymentMethodToken": "test_decline_do_not_honor", "amount": amount})
    after = risk(client, headers, paymentMethodToken="test_decline_do_not_honor").get_json()
    assert after["prediction"]["riskScore"] > before["prediction"]["riskScore"]
    assert "prior_decline_history" in after["prediction"]["factors"]
    assert "Card has 3 prior declines in last 30 days." in after["prediction"]["reasoning"]


def test_a_payday_lowers_the_risk(client, headers):
    wednesday = risk(client, headers, scheduledDate="2026-03-18T15:00:00Z").get_json()["prediction"]
    friday = risk(client, headers, scheduledDate="2026-03-20T15:00:00Z").get_json()["prediction"]
    assert friday["riskScore"] < wednesday["riskScore"]
    assert "payday_window" in friday["factors"]


def test_outcome_answers_both_published_shapes_and_learns(client, headers):
    prediction = risk(client, headers).get_json()["prediction"]
    r = client.post("/api/predict/outcome", headers=headers,
                    json={"paymentMethodToken": "pm_1", "actualOutcome": "succeeded"})
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == ["success", "predictionId", "predictedRecommendation", "actualOutcome",
                          "actual", "accurate"]
    assert body["predictionId"] == prediction["predictionId"]
    assert body["actualOutcome"] == body["actual"] == "succeeded"
    assert body["accurate"] is (prediction["recommendation"] in ("proceed", "proceed_with_caution"))
    again = risk(client, headers).get_json()["prediction"]
    assert again["confidence"] > 0  # the reported outcome is now data


def test_outcome_without_a_prediction_is_404_and_bad_enum_400(client, headers):
    r = client.post("/api/predict/outcome", headers=headers,
                    json={"paymentMethodToken": "pm_never", "actualOutcome": "failed"})
    assert r.status_code == 404 and r.get_json() == {"error": "Prediction not found."}
    r = client.post("/api/predict/outcome", headers=headers,
                    json={"paymentMethodToken": "pm_1", "actualOutcome": "maybe"})
    assert r.status_code == 400 and r.get_json()["message"].startswith("actualOutcome: ")


@pytest.mark.parametrize("body", [{"amount": 4900}, {"paymentMethodToken": "pm_1", "amount": 10},
                                  {"paymentMethodToken": "pm_1", "amount": 4900,
                                   "scheduledDate": "next friday"}])
def test_risk_validation(client, headers, body):
    r = client.post("/api/predict/risk", json=body, headers=headers)
    assert r.status_code == 400 and r.get_json()["error"] == "Validation failed."


@pytest.mark.parametrize(("score", "recommendation"), [(0, "proceed"), (24.9, "proceed"),
                         (25, "proceed_with_caution"), (59.9, "proceed_with_caution"), (60, "delay"),
                         (84.9, "delay"), (85, "block"), (100, "block")])
def test_recommendation_thresholds(score, recommendation):
    assert recommendation_for(score) == recommendation
