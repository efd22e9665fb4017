"""SQLAlchemy models, one module per aggregate."""

from .alert import Alert, AlertNotification, AlertSettings
from .card import CardToken
from .cardupdate import CardUpdateLink
from .client import ApiKey, Client
from .connector import ConnectorAccount, ConnectorEvent
from .devinbox import DevInboxMessage
from .dunning import (
    CardExpiryReminder,
    DunningSequence,
    DunningStep,
    Message,
    MessageTemplate,
    TemplateVersion,
    Unsubscribe,
)
from .pre_retry import PreRetryCheck
from .prediction import Prediction
from .proof_mode import ProofAssignment
from .pulse import OrganicSuccess
from .ratelimit import RateLimitWindow
from .recovery import Attempt, Recovery
from .stats import OutcomeStat, OutcomeTotal, TimingStat
from .user import User
from .webhook import WebhookDelivery, WebhookEvent, WebhookTry

__all__ = [
    "Alert",
    "AlertNotification",
    "AlertSettings",
    "ApiKey",
    "Attempt",
    "CardExpiryReminder",
    "CardToken",
    "CardUpdateLink",
    "Client",
    "ConnectorAccount",
    "ConnectorEvent",
    "DevInboxMessage",
    "DunningSequence",
    "DunningStep",
    "Message",
    "MessageTemplate",
    "OrganicSuccess",
    "OutcomeStat",
    "OutcomeTotal",
    "PreRetryCheck",
    "Prediction",
    "ProofAssignment",
    "RateLimitWindow",
    "Recovery",
    "TemplateVersion",
    "TimingStat",
    "Unsubscribe",
    "User",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookTry",
]
