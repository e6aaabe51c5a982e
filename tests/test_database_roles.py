"""Least privilege in the database (migration 0017, docs/operations.md): what the
server's role (envoi_server), the gateway's (envoi_gateway) and the webhooks
worker's (envoi_webhooks) may do to each table, over real connections as those roles."""

import psycopg
import pytest

from envoi.core.schema import db_roles

# Every table of the schema, with what each role may do to it. A new table
# fails test_every_table_has_decided_privileges until someone decides here
# (and in a migration) what each role gets.
S, SI, SIU, SID, SIUD = "S", "SI", "SIU", "SID", "SIUD"
EXPECTED_PRIVILEGES = {
    # table:            (envoi_server, envoi_gateway, envoi_webhooks)
    "schema_migrations": (S, "", S),
    "schema_functions": ("", "", ""),
    "accounts": (SIU, "", S),
    "transfers": (SIU, "", S),
    "postings": (SI, "", ""),
    "outbox_events": (SI, "", SI),
    "idempotency_keys": (SID, "", ""),
    "api_tokens": (SIU, "", ""),
    "identities": (SIUD, "", ""),
    "card_top_ups": (SIU, "", S),
    "payouts": (SIU, "", S),
    "deferred_credits": (SID, "", ""),
    "collections": (SIU, "", S),
    "code_resets": (SI, "", S),
    "account_status_changes": (SI, "", S),
    "debit_mandate_changes": (SI, "", ""),
    "top_up_refunds": (SIU, "", S),
    "channel_intake": ("", SI, ""),
    "channel_cursors": ("", SIU, ""),
    "channel_messages": ("", SIU, ""),
    # Webhooks (migration 0023): the server writes secrets it cannot read; the
    # worker alone reads them. The worker may set an endpoint's disable_time
    # (a column privilege, not shown here) and nothing else of it.
    "webhook_endpoints": (SIU, "", S),
    "webhook_secrets": ("I", "", "SD"),
    "webhook_deliveries": (SI, "", SIU),
    "webhook_attempts": (S, "", SI),
    "webhook_cursor": ("", "", SIU),
}
PRIVILEGE_LETTERS = {
    "SELECT": "S",
    "INSERT": "I",
    "UPDATE": "U",
    "DELETE": "D",
    "TRUNCATE": "T",
    "REFERENCES": "R",
    "TRIGGER": "G",
}


def privileges(db, role: str, table: str) -> str:
    return "".join(
        letter
        for privilege, letter in PRIVILEGE_LETTERS.items()
        if db.execute(
            "SELECT has_table_privilege(%s, %s, %s)", (role, f"public.{table}", privilege)
        ).fetchone()[0]
    )


def test_every_table_has_decided_privileges(db):
    tables = {
        row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables - EXPECTED_PRIVILEGES.keys() == set(), "a table nobody decided privileges for"
    found = {
        table: (
            privileges(db, db_roles.SERVER_ROLE, table),
            privileges(db, db_roles.GATEWAY_ROLE, table),
            privileges(db, db_roles.WEBHOOKS_ROLE, table),
        )
        for table in tables
    }
    assert found == {table: EXPECTED_PRIVILEGES[table] for table in tables}


def test_no_role_owns_a_table_or_is_a_superuser(db):
    for role in (db_roles.SERVER_ROLE, db_roles.GATEWAY_ROLE, db_roles.WEBHOOKS_ROLE):
        assert db.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls"
            " FROM pg_roles WHERE rolname = %s",
            (role,),
        ).fetchone() == (False,)
        assert db.execute(
            "SELECT count(*) FROM pg_tables WHERE pg_has_role(%s, tableowner, 'USAGE')", (role,)
        ).fetchone() == (0,)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE transfers DISABLE TRIGGER ALL",
        "ALTER TABLE postings DISABLE TRIGGER postings_immutable",
        "DROP TABLE accounts",
        "TRUNCATE postings",
        "DELETE FROM postings",
        "DELETE FROM outbox_events",
        "UPDATE postings SET amount_cents = amount_cents",
        "CREATE TABLE envoi_test_intruder (x int)",
        "INSERT INTO channel_messages (channel, message_key, text, direct_to)"
        " VALUES ('x', 'x', 'x', 'x')",
    ],
)
def test_the_servers_role_cannot_change_the_ledgers_rules(server_database_url, statement):
    with psycopg.connect(server_database_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


@pytest.mark.parametrize(
    "table", ["accounts", "transfers", "postings", "api_tokens", "idempotency_keys"]
)
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM {table} LIMIT 1",
        "INSERT INTO {table} DEFAULT VALUES",
        "UPDATE {table} SET {column} = {column}",
    ],
)
def test_the_gateways_role_cannot_read_or_write_the_ledger(
    gateway_database_url, db, table, statement
):
    [column] = db.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = %s AND is_identity = 'NO' AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position LIMIT 1",
        (table,),
    ).fetchone()
    with psycopg.connect(gateway_database_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.format(table=table, column=column))


def test_the_gateways_role_keeps_its_own_state(gateway_database_url):
    with psycopg.connect(gateway_database_url) as conn:
        conn.execute(
            "INSERT INTO channel_cursors (channel, name, value) VALUES ('test', 'since', '1')"
            " ON CONFLICT (channel, name) DO UPDATE SET value = EXCLUDED.value"
        )
        assert conn.execute(
            "SELECT value FROM channel_cursors WHERE channel = 'test' AND name = 'since'"
        ).fetchone() == ("1",)
        conn.rollback()


def test_a_superuser_or_an_owner_is_refused_as_the_servers_role(database_url, db):
    with pytest.raises(ValueError, match="ENVOI_DATABASE_URL connects as a superuser"):
        db_roles.check_server_role(database_url, "ENVOI_DATABASE_URL")
    db_roles.check_server_role(
        db_roles.role_url(database_url, db_roles.SERVER_ROLE), "ENVOI_DATABASE_URL"
    )
