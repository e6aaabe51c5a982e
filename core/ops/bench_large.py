"""`envoi bench --large`: a ledger of a million person accounts and ten million
past transfers between them, for the person-to-person phase to run on again.

Through envoi's row triggers the load would take hours, so it is loaded as
the database's owner with triggers (and with them foreign-key checks)
bypassed in the loading session only, writing set-based what the triggers
would have written: for each past payment, as InitiateTransfer then
ConfirmTransfer leave it, a COMPLETED transfer, its two postings and its two
outbox events (CONFIRMATION_REQUIRED, TRANSFER_COMPLETED); then each balance
as the sum of its postings, so that the ledger's invariants hold (bench.py
checks them after the phase).
"""

import datetime
import os
import sys
import time
import uuid

import psycopg
from psycopg import sql

from envoi.core.policy import confirmation_codes

LARGE_ACCOUNTS = 1_000_000
LARGE_PAST_TRANSFERS = 10_000_000
# For tests: a fraction of both sizes (0.001: 1,000 accounts, 10,000 transfers).
SCALE_ENV = "ENVOI_BENCH_LARGE_SCALE"
CHUNK_TRANSFERS = 1_000_000  # per statement and commit, and per progress line
PAST_DAYS = 365  # the past transfers are spread over the year before the load
PAST_MAX_CENTS = 5_000  # each past transfer moves 1 to 50.00 EUR
LOADED_TABLES = ("transfers", "postings", "outbox_events")
# Sorts and hashes of a few million rows, in the bench's own sessions only.
LOAD_WORK_MEM = "256MB"
LOAD_MAINTENANCE_WORK_MEM = "1GB"


def large_sizes() -> tuple[int, int]:
    """(accounts, past transfers): the constants, times ENVOI_BENCH_LARGE_SCALE if set."""
    scale = float(os.environ.get(SCALE_ENV) or 1)
    if scale <= 0:
        raise ValueError(f"{SCALE_ENV} must be above 0, not {scale:g}")
    return max(2, round(LARGE_ACCOUNTS * scale)), max(1, round(LARGE_PAST_TRANSFERS * scale))


class Progress:
    """Lines on stderr, each with the seconds since the load started."""

    def __init__(self):
        self.started = time.monotonic()
        self.steps_s: dict[str, float] = {}
        self._step_started = self.started

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        print(f"envoi bench --large: {message} ({self.elapsed_s():.0f} s)", file=sys.stderr)
        sys.stderr.flush()

    def step_done(self, name: str) -> None:
        now = time.monotonic()
        self.steps_s[name] = round(now - self._step_started, 1)
        self._step_started = now


def load_large_ledger(
    database_url: str, code_key: bytes, code: str, funding_cents: int, accounts: int, past: int
) -> tuple[list[str], dict]:
    """Open and fund `accounts` person accounts (code `code`), then load `past`
    completed payments between random pairs of them. The database is migrated,
    with its system accounts, and holds nothing else. Returns (the person
    account ids, {load_s, load_steps_s})."""
    progress = Progress()
    person_ids = _open_accounts(database_url, code_key, code, accounts)
    progress.step_done("accounts")
    progress.say(f"{accounts:,} accounts opened")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no trigger fires: superuser
        conn.execute(f"SET work_mem = '{LOAD_WORK_MEM}'")
        conn.execute(f"SET maintenance_work_mem = '{LOAD_MAINTENANCE_WORK_MEM}'")
        conn.execute("SET synchronous_commit = off")  # a crash mid-load fails the run anyway
        indexes = _drop_secondary_indexes(conn)
        first_s = time.time() - PAST_DAYS * 86_400
        _fund(conn, funding_cents, first_s - 86_400)
        progress.step_done("funding")
        progress.say(f"{accounts:,} accounts funded")
        for first in range(1, past + 1, CHUNK_TRANSFERS):
            last = min(past, first + CHUNK_TRANSFERS - 1)
            _load_past_transfers(conn, accounts, past, first, last, first_s)
            progress.say(f"{last:,} of {past:,} past transfers")
        progress.step_done("past_transfers")
        _set_balances(conn)
        progress.step_done("balances")
        progress.say(f"rebuilding {len(indexes)} indexes")
        for definition in indexes:
            conn.execute(definition)
        progress.step_done("indexes")
        progress.say("VACUUM ANALYZE, CHECKPOINT")
        _settle(conn)
        progress.step_done("vacuum_analyze_checkpoint")
    load_s = round(progress.elapsed_s(), 1)
    print(
        f"envoi bench --large: loaded {accounts:,} accounts and {past:,} past transfers"
        f" in {load_s:,.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return person_ids, {"load_s": load_s, "load_steps_s": progress.steps_s}


def _open_accounts(database_url: str, code_key: bytes, code: str, accounts: int) -> list[str]:
    """PERSON accounts with the bench's code, through accounts' own triggers (COPY),
    numbered 1 to `accounts` in large_accounts for the set-based load to pick from."""
    person_ids = [str(uuid.uuid4()) for _ in range(accounts)]
    opened = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(PAST_DAYS + 2)
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE large_accounts (n integer PRIMARY KEY, account_id uuid)")
        columns = "account_id, kind, display_name, currency_code, code_hmac, create_time"
        with conn.cursor().copy(f"COPY accounts ({columns}) FROM STDIN") as copy:
            for n, account_id in enumerate(person_ids, 1):
                copy.write_row(
                    (
                        account_id,
                        "PERSON",
                        f"bench large person {n}",
                        "EUR",
                        confirmation_codes.code_hmac(code_key, account_id, code),
                        opened,
                    )
                )
        with conn.cursor().copy("COPY large_accounts (n, account_id) FROM STDIN") as copy:
            for n, account_id in enumerate(person_ids, 1):
                copy.write_row((n, account_id))
        conn.execute("ANALYZE large_accounts")
    return person_ids


def _drop_secondary_indexes(conn) -> list[str]:
    """Drop the indexes of the loaded tables that no constraint needs, and return
    their definitions: built once after the load, they cost a sort each instead
    of tens of millions of random inserts (PostgreSQL's "Populating a Database")."""
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = ANY(%s::regclass[])"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        " ORDER BY 1",
        (list(LOADED_TABLES),),
    ).fetchall()
    for name, _ in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition for _, definition in rows]


# What transfers_apply and postings_apply write for a completed transfer: its
# two legs, and its outbox events (the transfers CTE `t` returns the columns used).
LEGS_AND_EVENTS = """
, legs AS (
    INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents, create_time)
    SELECT t.transfer_id, leg.account_id, 'EUR', leg.cents, t.resolve_time
      FROM t, LATERAL (VALUES (1, t.from_account_id, -t.amount_cents),
                              (2, t.to_account_id, t.amount_cents)) AS leg (k, account_id, cents)
     ORDER BY t.resolve_time, t.transfer_id, leg.k
)
INSERT INTO outbox_events (event_type, transfer_id, create_time)
SELECT e.event_type, t.transfer_id, e.at
  FROM t, LATERAL (VALUES (1, 'CONFIRMATION_REQUIRED', t.create_time),
                          (2, 'TRANSFER_COMPLETED', t.resolve_time)) AS e (k, event_type, at)
 WHERE t.kind = 'PAYMENT' OR e.k = 2
 ORDER BY e.at, t.transfer_id, e.k
"""

RETURNED = "RETURNING transfer_id, kind, from_account_id, to_account_id, amount_cents,"
RETURNED += " create_time, resolve_time"


def _fund(conn, funding_cents: int, at_s: float) -> None:
    """One FUNDING transfer to each person (a FUNDING transfer has one event)."""
    conn.execute(
        "WITH t AS ("
        " INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        "  currency_code, amount_cents, memo, initiated_by, create_time, resolve_time)"
        " SELECT gen_random_uuid(), 'FUNDING', 'COMPLETED', f.account_id, a.account_id, 'EUR',"
        "  %(cents)s::bigint, 'bench funding', 'admin', to_timestamp(%(at_s)s::float8),"
        "  to_timestamp(%(at_s)s::float8)"
        " FROM large_accounts a, accounts f"
        " WHERE f.system_purpose = 'FUNDING' AND f.currency_code = 'EUR' ORDER BY a.n "
        + RETURNED
        + ")"
        + LEGS_AND_EVENTS,
        {"cents": funding_cents, "at_s": at_s},
    )


def _load_past_transfers(conn, accounts: int, past: int, first: int, last: int, first_s: float):
    """Past payments number first to last (of `past`, one every PAST_DAYS / past
    apart), each from a random person to another, confirmed 20 s after it began."""
    conn.execute(
        "WITH picked AS MATERIALIZED ("
        " SELECT g, 1 + floor(random() * %(accounts)s::int)::int AS from_n,"
        "  floor(random() * (%(accounts)s::int - 1))::int AS offset_n,"
        "  1 + floor(random() * %(max_cents)s::int)::bigint AS cents,"
        "  to_timestamp(%(first_s)s::float8 + g * %(step_s)s::float8) AS at"
        " FROM generate_series(%(first)s::int, %(last)s::int) AS g"
        "), t AS ("
        " INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        "  currency_code, amount_cents, memo, initiated_by, create_time, expire_time,"
        "  resolve_time)"
        " SELECT gen_random_uuid(), 'PAYMENT', 'COMPLETED', f.account_id, r.account_id, 'EUR',"
        "  p.cents, 'bench past', 'wallet', p.at, p.at + interval '15 minutes',"
        "  p.at + interval '20 seconds'"
        " FROM picked p JOIN large_accounts f ON f.n = p.from_n"
        # Any other person: from_n + 1 to from_n + accounts - 1, wrapped.
        " JOIN large_accounts r ON r.n = 1 + (p.from_n + p.offset_n) %% %(accounts)s::int"
        " ORDER BY p.g " + RETURNED + ")" + LEGS_AND_EVENTS,
        {
            "accounts": accounts,
            "max_cents": PAST_MAX_CENTS,
            "first_s": first_s,
            "step_s": PAST_DAYS * 86_400 / past,
            "first": first,
            "last": last,
        },
    )


def _set_balances(conn) -> None:
    """Each account's balance, the sum of its postings (nothing is held or deferred)."""
    conn.execute(
        "UPDATE accounts a SET balance_cents = p.cents"
        " FROM (SELECT account_id, sum(amount_cents) AS cents FROM postings"
        "       GROUP BY account_id) p"
        " WHERE a.account_id = p.account_id"
    )


def _settle(conn) -> None:
    """Leave the measured phase none of the load's after-work: VACUUM sets the
    visibility map and hint bits (and spares an autovacuum of the new rows during
    the phase), ANALYZE the statistics, CHECKPOINT writes the dirty pages."""
    conn.execute("RESET session_replication_role")
    for table in (*LOADED_TABLES, "accounts", "large_accounts"):
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    conn.execute("CHECKPOINT")
