"""What `envoi serve`, `envoi migrate` and `envoi token` need before they run:
the database (the configured one, or the embedded one) and the code key."""

import logging

from envoi.core import confirmation_codes, embedded_postgres
from envoi.core.config import ConfigError, Settings

log = logging.getLogger("envoi.startup")


def database_url(settings: Settings) -> tuple[str, object | None]:
    """The URL to use and, for the embedded server, the handle that keeps it running."""
    if settings.database_url:
        return settings.database_url, None
    pgdata = settings.data_dir / "pgdata"
    url, handle = embedded_postgres.start(pgdata)
    log.info("embedded PostgreSQL 16 in %s", pgdata)
    return url, handle


def code_key(settings: Settings) -> bytes:
    if settings.code_key is not None:
        return settings.code_key
    if settings.database_url:
        raise ConfigError(
            "set ENVOI_CODE_KEY (at least 32 characters) when ENVOI_DATABASE_URL "
            "is set: the key of the confirmation codes must not live with the data"
        )
    return confirmation_codes.load_or_create_key(settings.data_dir / "code.key")
