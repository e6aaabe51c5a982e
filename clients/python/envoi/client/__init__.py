"""A small client for the envoi payment core; see clients/python/README.md."""

from envoi.client.client import EnvoiClient, channel_options
from envoi.client.errors import EnvoiError

__all__ = ["EnvoiClient", "EnvoiError", "channel_options"]
