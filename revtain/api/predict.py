"""``/api/predict/risk`` and ``/api/predict/outcome`` (contract 3.9-3.10)."""

from __future__ import annotations

from flask import jsonify

from ..engine.risk import accurate
from ..recovery.prediction import NetworkSignals, predict_risk, record_outcome
from . import bp
from .auth import current_client, require_api_key
from .errors import not_found, parse_json_body, validate
from .operations import Reply, documented
from .schemas import Error, OutcomeRequest, OutcomeResult, RiskRequest, RiskResult


@bp.post("/predict/risk")
@documented(
    "predictRisk", "The risk of a scheduled charge", tags=("Prediction",),
    description="Before charging a renewal, ask whether to proceed, proceed with caution, delay or block. "
    "Record the charge's outcome afterwards with /api/predict/outcome.",
    body=RiskRequest,
    examples={"renewal": {"paymentMethodToken": "pm_1234567890", "amount": 4900, "currency": "USD",
                          "scheduledDate": "2026-05-01T09:00:00Z"}},
    responses={200: Reply("The prediction", body=RiskResult, example={"success": True, "prediction": {
        "riskScore": 23.5, "confidence": 71, "reasoning": "Few recent declines for this card.",
        "factors": ["no recent declines"], "recommendation": "proceed",
        "predictionId": "01KKZ14FEZK152ZBXEM2XK1B0C"}})},
)
@require_api_key
def risk():
    body = validate(RiskRequest, parse_json_body())
    stored, prediction = predict_risk(
        current_client(), body.paymentMethodToken, body.amount, body.currency or "USD",
        body.scheduledDate,
        NetworkSignals(body.networkDeclineCode, body.merchantAdviceCode, body.cardNetwork),
    )
    return jsonify(
        {
            "success": True,
            "prediction": {
                "riskScore": prediction.risk_score,
                "confidence": prediction.confidence,
                "reasoning": prediction.reasoning,
                "factors": prediction.factors,
                "recommendation": prediction.recommendation,
                "predictionId": stored.id,
            },
        }
    )


@bp.post("/predict/outcome")
@documented(
    "recordPredictionOutcome", "What happened to a predicted charge", tags=("Prediction",),
    description="Matched to the latest prediction for the paymentMethodToken.",
    body=OutcomeRequest,
    examples={"failed": {"paymentMethodToken": "pm_1234567890", "actualOutcome": "failed"}},
    responses={
        200: Reply("Recorded", body=OutcomeResult, example={
            "success": True, "predictionId": "01KKZ14FEZK152ZBXEM2XK1B0C",
            "predictedRecommendation": "proceed",
            "actualOutcome": "failed", "actual": "failed", "accurate": False}),
        404: Reply("No prediction for this token", body=Error, example={"error": "Prediction not found."}),
    },
)
@require_api_key
def outcome():
    body = validate(OutcomeRequest, parse_json_body())
    prediction = record_outcome(current_client(), body.paymentMethodToken, body.actualOutcome)
    if prediction is None:
        raise not_found("Prediction")
    return jsonify(
        {
            "success": True,
            "predictionId": prediction.id,
            "predictedRecommendation": prediction.recommendation,
            "actualOutcome": body.actualOutcome,
            "actual": body.actualOutcome,
            "accurate": accurate(prediction.recommendation, body.actualOutcome),
        }
    )
