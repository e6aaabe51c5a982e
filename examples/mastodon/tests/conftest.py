# envoi's test kit: a real PostgreSQL, a real `envoi serve` (envoi_serve), tokens.
pytest_plugins = ["envoi.channels.testing"]
