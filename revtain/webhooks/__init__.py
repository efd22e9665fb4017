"""Outgoing webhooks: signing, the outbox, delivery."""
