"""Each SQL function and trigger is defined once, in core/schema/functions/, and a
database migrated one version at a time has the same schema as one built at once."""

import re
import shutil
import subprocess
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envoi.core import schema

# Defined with the CHECK of 0012 that calls it: it must exist before that
# constraint is added, and replacing it would not recheck the rows.
CONSTRAINT_FUNCTIONS = {"fr_registration_number_valid"}
VIEW_DEFINITION = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)", re.I | re.M)
DEFINITION = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?(FUNCTION|TRIGGER)"
    r"|DROP\s+(FUNCTION|TRIGGER))\s+(?:IF\s+EXISTS\s+)?(\w+)",
    re.IGNORECASE | re.MULTILINE,
)


def new_database(server_url: str) -> str:
    name = f"envoi_schema_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(**{**conninfo_to_dict(server_url), "dbname": name})


@pytest.fixture
def database_urls(postgres_server_url):
    urls = []
    yield lambda: urls.append(new_database(postgres_server_url)) or urls[-1]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        for url in urls:
            conn.execute(f'DROP DATABASE "{conninfo_to_dict(url)["dbname"]}" WITH (FORCE)')


def pg_dump_path() -> str:
    """pg_dump of the embedded server's own build (pgserver ships one), else PATH's."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / "pg_dump")
    except ImportError:
        return shutil.which("pg_dump")


def schema_dump(url: str) -> str:
    """The schema, without the comments and settings that differ by nature."""
    params = conninfo_to_dict(url)
    dump = subprocess.run(
        [pg_dump_path(), "--schema-only", "--no-owner", "-d", make_conninfo(**params)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in dump.splitlines() if not line.startswith(("--", "\\restrict"))]
    return "\n".join(line for line in lines if not line.startswith("\\unrestrict"))


def test_a_database_migrated_step_by_step_has_the_schema_of_a_fresh_one(database_urls):
    step_by_step, fresh = database_urls(), database_urls()
    for version, name, _ in schema.migration_files():
        assert schema.migrate(step_by_step, to_version=version) == [name]
    assert schema.migrate(fresh) == [name for _, name, _ in schema.migration_files()]
    assert schema_dump(step_by_step) == schema_dump(fresh)


def test_functions_are_applied_only_at_the_head_and_again_when_their_files_change(
    database_urls,
):
    url = database_urls()
    head = schema.migration_files()[-1][0]
    schema.migrate(url, to_version=head - 1)
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        ).fetchone() == (0,)
    schema.migrate(url)
    triggers = "SELECT tgname, oid FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
    with psycopg.connect(url) as conn:
        before = conn.execute(triggers).fetchall()
    # Nothing changed: the next run re-creates no trigger (the constraint triggers are
    # dropped and created again when applied, so their oids would change).
    assert schema.migrate(url) == []
    with psycopg.connect(url) as conn:
        assert conn.execute(triggers).fetchall() == before
        # A release whose function files differ from the recorded digest...
        conn.execute("UPDATE schema_functions SET digest = 'an earlier release'")
        conn.execute(
            "CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
        )
    # ...is applied by the next run.
    assert schema.migrate(url) == []
    with psycopg.connect(url) as conn:
        body = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'forbid_change'").fetchone()
        assert "RAISE" in body[0]
        recorded = conn.execute("SELECT digest FROM schema_functions").fetchall()
    assert recorded == [(schema.functions_digest(),)]


def test_each_function_and_trigger_has_one_definition():
    # A file of functions/ defines its own function (or its own view) and no other one.
    for name, sql in schema.function_files():
        functions = [m.group(3) for m in DEFINITION.finditer(sql) if m.group(1) == "FUNCTION"]
        views = VIEW_DEFINITION.findall(sql)
        assert functions + views == [name.removesuffix(".sql")], name
    # The migrations define none (but the one a constraint needs).
    for _, name, sql in schema.migration_files():
        defined = {m.group(3) for m in DEFINITION.finditer(sql)}
        assert defined <= CONSTRAINT_FUNCTIONS, f"{name} defines {defined - CONSTRAINT_FUNCTIONS}"
