"""Merchant alerts (``notificationChannels``): the merchant's own team is told when a payment failed
for good (at or above a threshold), when a recovery needs a person (blocked), and when their webhook
URL stops answering; by webhook, email and text message (Twilio). Settings, raising an alert once per
incident, and sending each email and text message from its row."""
