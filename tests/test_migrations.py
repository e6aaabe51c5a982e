"""Migrations apply once, in order, even when several servers start together."""

import uuid

import psycopg
import pytest
from concurrently import run_together
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envoi.core import schema


@pytest.fixture
def empty_database_url(postgres_server_url):
    name = f"envoi_migrate_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(**{**conninfo_to_dict(postgres_server_url), "dbname": name})
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_concurrent_migrations_apply_each_file_once(empty_database_url):
    names = [name for _, name, _ in schema.migration_files()]
    results = run_together([lambda: schema.migrate(empty_database_url)] * 4)
    # Exactly one runner applied everything; the others found it done.
    assert sorted(results, key=len) == [[], [], [], names]
    with psycopg.connect(empty_database_url) as conn:
        applied = conn.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()
    assert [row[0] for row in applied] == names
    assert schema.migrate(empty_database_url) == []


def test_migration_files_are_numbered_without_gaps():
    versions = [version for version, _, _ in schema.migration_files()]
    assert versions == list(range(1, len(versions) + 1))
