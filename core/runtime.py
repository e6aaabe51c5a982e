"""What the services share in one server process: settings, the database pool,
the code key, and the payment providers (name -> provider) of the enabled plugins."""

import dataclasses

import psycopg_pool

from envoi.core.config import Settings


@dataclasses.dataclass(frozen=True)
class Runtime:
    settings: Settings
    pool: psycopg_pool.ConnectionPool
    code_key: bytes = dataclasses.field(repr=False)
    funding_providers: dict = dataclasses.field(default_factory=dict)
    payout_providers: dict = dataclasses.field(default_factory=dict)


def open_pool(database_url: str, size: int) -> psycopg_pool.ConnectionPool:
    # autocommit: reads need no transaction; writes open one explicitly.
    pool = psycopg_pool.ConnectionPool(
        database_url,
        min_size=1,
        max_size=size,
        open=False,
        kwargs={"autocommit": True},
        timeout=10.0,
    )
    pool.open(wait=True, timeout=30.0)
    return pool
