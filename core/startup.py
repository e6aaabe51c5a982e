"""What `envoi serve`, `envoi migrate` and `envoi token` need before they run:
the database URLs of each role (the configured ones, or the embedded
database's) and the code key."""

import dataclasses
import logging

from envoi.core import embedded_postgres, schema
from envoi.core.config import ConfigError, Settings
from envoi.core.policy import confirmation_codes
from envoi.core.schema import db_roles

log = logging.getLogger("envoi.startup")


@dataclasses.dataclass(frozen=True)
class DatabaseUrls:
    """One URL per role (docs/operations.md); owner, gateway and webhooks may be
    unknown (None)."""

    server: str = dataclasses.field(repr=False)
    owner: str | None = dataclasses.field(default=None, repr=False)
    gateway: str | None = dataclasses.field(default=None, repr=False)
    webhooks: str | None = dataclasses.field(default=None, repr=False)
    # The embedded server's handle: it runs while this is referenced.
    embedded: object | None = dataclasses.field(default=None, repr=False)
    # The embedded database is migrated on the way: the files applied then.
    applied_now: tuple[str, ...] = ()


def database_urls(settings: Settings) -> DatabaseUrls:
    """The configured URLs; unset, the embedded database's, migrated, with its roles."""
    if settings.database_url:
        return DatabaseUrls(
            settings.database_url,
            settings.migration_database_url,
            settings.gateway_database_url,
            settings.webhooks_database_url,
        )
    pgdata = settings.data_dir / "pgdata"
    owner_url, handle = embedded_postgres.start(pgdata)
    log.info("embedded PostgreSQL 16 in %s", pgdata)
    applied = migrate(owner_url)  # the roles exist from migration 0017 on
    db_roles.enable_login(owner_url)
    return DatabaseUrls(
        db_roles.role_url(owner_url, db_roles.SERVER_ROLE),
        owner_url,
        db_roles.role_url(owner_url, db_roles.GATEWAY_ROLE),
        db_roles.role_url(owner_url, db_roles.WEBHOOKS_ROLE),
        handle,
        tuple(applied),
    )


def migrate(owner_url: str) -> list[str]:
    applied = schema.migrate(owner_url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return applied


def server_database(settings: Settings) -> DatabaseUrls:
    """The URLs for the server's role, its schema migrated (with the owner's URL) or
    checked current, and the role checked to hold no more than it should."""
    urls = database_urls(settings)
    if urls.owner:
        migrate(urls.owner)
    else:
        db_roles.check_schema_current(urls.server)
    db_roles.check_server_role(urls.server, "ENVOI_DATABASE_URL")
    return urls


def code_key(settings: Settings) -> bytes:
    if settings.code_key is not None:
        return settings.code_key
    if settings.database_url:
        raise ConfigError(
            "set ENVOI_CODE_KEY (at least 32 characters) when ENVOI_DATABASE_URL "
            "is set: the key of the confirmation codes must not live with the data"
        )
    return confirmation_codes.load_or_create_key(settings.data_dir / "code.key")
