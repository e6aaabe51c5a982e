"""The database roles of least privilege (migration 0017, docs/operations.md).

The owner of the tables runs the migrations; `envoi serve` connects as a member
of envoi_server, the channel gateway as a member of envoi_gateway, the
webhooks worker as a member of envoi_webhooks. None of
those owns a table, so neither can alter or drop one or disable its triggers.
"""

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envoi.core import schema
from envoi.core.config import ConfigError

SERVER_ROLE = "envoi_server"
GATEWAY_ROLE = "envoi_gateway"
# `envoi webhooks`: reads the outbox and the webhook secrets (migration 0023).
WEBHOOKS_ROLE = "envoi_webhooks"
OPERATIONS_DOC = "docs/operations.md"


def role_url(owner_url: str, role: str) -> str:
    """owner_url's server and database, as `role` (no password: embedded and test
    servers trust local connections)."""
    params = {**conninfo_to_dict(owner_url), "user": role}
    params.pop("password", None)
    return make_conninfo(**params)


def enable_login(owner_url: str) -> None:
    """Let the group roles log in themselves: the embedded database's and the tests'
    setup, where envoi derives every URL (an operator makes login members instead)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for role in (SERVER_ROLE, GATEWAY_ROLE, WEBHOOKS_ROLE):
            conn.execute(f"ALTER ROLE {role} LOGIN")


def check_server_role(server_url: str, setting: str) -> None:
    """Refuse a server role that is a superuser or owns (or is a member of the
    owner of) a table of the schema: it could switch off the ledger's rules."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        is_superuser = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        owned = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            " AND pg_has_role(current_user, tableowner, 'USAGE')"
        ).fetchone()[0]
    if is_superuser or owned:
        what = "a superuser" if is_superuser else "the owner of the ledger's tables"
        raise ConfigError(
            f"{setting} connects as {what}: `envoi serve` must connect as a member of "
            f"{SERVER_ROLE} (set the owner in ENVOI_MIGRATION_DATABASE_URL; see {OPERATIONS_DOC})"
        )


def check_schema_current(server_url: str) -> None:
    """Without the owner's URL serve cannot migrate: the schema must be current."""
    latest = schema.migration_files()[-1][0]
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            applied = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        applied = None
    if applied is None or applied < latest:
        raise ConfigError(
            f"the database's schema is not current (migration {applied or 0}, envoi needs "
            f"{latest}): run `envoi migrate` with ENVOI_MIGRATION_DATABASE_URL, the owner's "
            f"URL, or set it for `envoi serve` (see {OPERATIONS_DOC})"
        )
