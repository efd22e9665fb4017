"""``/api/predict/risk`` and ``/api/predict/outcome`` (contract 3.9-3.10)."""

from __future__ import annotations

from flask import jsonify

from ..engine.risk import accurate
from ..recovery.prediction import NetworkSignals, predict_risk, record_outcome
from . import bp
from .auth import current_client, require_api_key
from .errors import not_found, parse_json_body, validate
from .schemas import OutcomeRequest, RiskRequest


@bp.post("/predict/risk")
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
