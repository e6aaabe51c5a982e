"""A small client for the envoi payment core; see clients/python/README.md."""

from envoi.client.client import EnvoiClient, channel_options
from envoi.client.errors import EnvoiError
from envoi.client.webhooks import WebhookSignatureError, verify_webhook

__all__ = [
    "EnvoiClient",
    "EnvoiError",
    "WebhookSignatureError",
    "channel_options",
    "verify_webhook",
]
