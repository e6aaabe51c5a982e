"""A small client for the envoi payment core; see clients/python/README.md."""

from envoi.client.client import EnvoiClient
from envoi.client.errors import EnvoiError

__all__ = ["EnvoiClient", "EnvoiError"]
