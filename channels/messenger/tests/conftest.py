"""The fixtures envoi ships for plugin authors: a real PostgreSQL, a real envoi
gRPC server, tokens, accounts and a real gateway (docs/plugins.md, Testing)."""

pytest_plugins = ["envoi.channels.testing"]
