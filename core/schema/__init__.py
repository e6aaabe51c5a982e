"""Versioned SQL migrations (core/schema/migrations/NNNN_name.sql), applied in order once.

All pending files are applied in one transaction under an advisory lock, so
several servers starting together apply each exactly once.
"""

import pathlib

import psycopg

# pg_advisory_xact_lock key: "envoi" as a number, reserved for migrations.
MIGRATION_LOCK_KEY = 0x656E766F69


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with envoi, in order."""
    found = []
    for path in (pathlib.Path(__file__).parent / "migrations").glob("*.sql"):
        found.append((int(path.name.split("_", 1)[0]), path.name, path.read_text()))
    return sorted(found)


def migrate(database_url: str) -> list[str]:
    """Apply what is missing; return the names of the files applied now."""
    applied_now = []
    with psycopg.connect(database_url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_time timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version in done:
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied_now.append(name)
        conn.commit()
    return applied_now
