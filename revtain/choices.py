"""Fixed choices the CLI offers as options, importable without Flask or the models.

Each list lives here once; the modules that enforce them (``models.client``,
``gateways.platforms``, ``recovery.pre_retry``) import them from here, so ``revtain onboard --help``
and ``revtain pre-retry-check set --help`` answer without loading the app.
"""

GATEWAYS = ("test", "stripe", "braintree")
# Billing platforms a connector can be set up for.
PLATFORMS = ("chargebee", "recurly", "stripe-billing", "braintree", "zuora", "shopify-recharge")
# Seconds a merchant's pre-retry check URL may be given to answer.
PRE_RETRY_MIN_TIMEOUT, PRE_RETRY_MAX_TIMEOUT = 0.5, 10.0
