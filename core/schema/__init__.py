"""Versioned SQL migrations (core/schema/migrations/NNNN_name.sql), applied in order once,
then the functions and triggers (core/schema/functions/<function>.sql), applied again
whenever a migration ran or the files changed (their digest is kept in schema_functions).

The migrations hold tables, constraints, indexes and data; each function is defined
once, in its file of functions/, with the triggers that call it (the one exception,
fr_registration_number_valid, sits in 0012 with the CHECK it must exist before); so is
the view the API reads transfers through (functions/transfers_named.sql).
All of it runs in one transaction under an advisory lock, so several servers
starting together apply each migration exactly once.
"""

import hashlib
import pathlib

import psycopg

# pg_advisory_xact_lock key: "envoi" as a number, reserved for migrations.
MIGRATION_LOCK_KEY = 0x656E766F69
SCHEMA_DIR = pathlib.Path(__file__).parent


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with envoi, in order."""
    found = []
    for path in (SCHEMA_DIR / "migrations").glob("*.sql"):
        found.append((int(path.name.split("_", 1)[0]), path.name, path.read_text()))
    return sorted(found)


def function_files() -> list[tuple[str, str]]:
    """(name, sql) of every function file, by name: bodies are checked only when
    they run (_apply_functions), so any order works."""
    return sorted(
        (path.name, path.read_text()) for path in (SCHEMA_DIR / "functions").glob("*.sql")
    )


def functions_digest() -> str:
    """sha256 of every function file, names and contents, in the order they are applied."""
    digest = hashlib.sha256()
    for name, sql in function_files():
        digest.update(f"{name}\0{len(sql)}\0{sql}".encode())
    return digest.hexdigest()


def migrate(database_url: str, to_version: int | None = None) -> list[str]:
    """Apply what is missing, up to to_version (default: all); return the names of the
    migrations applied now. The functions are (re)applied only when the schema is at
    the head (they are the head's, and may name columns later migrations add), and
    only when a migration ran now or their files changed: re-creating a trigger locks
    its table, which a server starting beside busy ones must not do for nothing."""
    applied_now = []
    with psycopg.connect(database_url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_time timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_functions ("
            " digest text PRIMARY KEY, applied_time timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        migrations = migration_files()
        for version, name, sql in migrations:
            if version in done or (to_version is not None and version > to_version):
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied_now.append(name)
            done.add(version)
        if migrations[-1][0] in done:
            _apply_functions(conn, force=bool(applied_now))
        conn.commit()
    return applied_now


def _apply_functions(conn: psycopg.Connection, *, force: bool) -> None:
    digest = functions_digest()
    recorded = conn.execute("SELECT digest FROM schema_functions").fetchone()
    if not force and recorded == (digest,):
        return
    # Bodies are checked when they run (as pg_dump restores them): a SQL-language
    # function may then call one whose file comes later.
    conn.execute("SET LOCAL check_function_bodies = off")
    for _, sql in function_files():
        conn.execute(sql)
    conn.execute("DELETE FROM schema_functions")
    conn.execute("INSERT INTO schema_functions (digest) VALUES (%s)", (digest,))
