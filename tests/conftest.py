"""envoi's own tests use the fixtures it ships for plugin authors."""

pytest_plugins = ["envoi.channels.testing"]
