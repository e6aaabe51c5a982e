"""`envoi bench`: how much of PostgreSQL's capacity envoi turns into payments.

One run starts everything it measures: an embedded PostgreSQL in a temporary
directory (or, with ENVOI_DATABASE_URL, fresh databases it creates and drops
on that server) and a real `envoi serve` subprocess. It measures, in order:

1. pgbench_tps: pgbench's built-in tpcb-like workload, the database's limit
   for small write transactions;
2. sql_transfer_tps: a pgbench script doing the database work of one
   confirmed transfer as raw SQL (insert PENDING_CONFIRMATION, update to
   COMPLETED: envoi's triggers hold, post and write the outbox);
   sql_lean_transfer_tps: the least SQL any double-entry ledger runs for one
   single-phase transfer (lock both accounts, two balance updates, a transfer
   row, two postings) on plain tables of its own, the floor of that work;
3. p2p_confirmed_tps, p50_ms, p99_ms: InitiateTransfer then ConfirmTransfer
   through gRPC between random person accounts, from concurrent clients;
4. bulk_tps and sql_bulk_tps: batches of LEDGER transfers between random
   settlement accounts (as many as there are person accounts: batches never
   debit people), all-or-nothing through gRPC CreateTransfers (a ledger
   token), against the same batches as raw set-based SQL (one transaction a
   batch: lock the accounts in id order, one INSERT ... SELECT FROM unnest of
   COMPLETED transfers, the triggers post them), both from one client sending
   batch after batch;
5. hot_account_tps: the same as 3, every transfer paying one association
   (and sql_hot_transfer_tps: the same as 2, every transfer paying it);
   collection_tps: the same as 3, every transfer paying into one collection
   named by its hashtag, as a post would (a popular charity drive);
6. tweet_to_pending_p99_ms: signed X webhooks at 200 posts per second to a
   second `envoi serve` running its channel gateway (the X API emulator plays
   X), until each post's CONFIRMATION_REQUIRED event; then
   tweet_to_pending_1000_p99_ms, the same at 1,000 posts per second from
   sender processes of their own (bench_webhooks.py);
7. max_rss_mb: the largest resident memory of an envoi server process;
8. with --large only, large_p2p_confirmed_tps: phase 3 again on a ledger of
   a million accounts and ten million past transfers (bench_large.py).

Besides: person to person again at several concurrencies (concurrency_sweep),
the CPU the server, PostgreSQL and the clients spent per confirmed transfer,
and two PNG plots (bench_plots.py). A measure left null in results.json has a
note saying why. docs/performance.md has a run.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

from envoi.core import schema
from envoi.core.config import Settings
from envoi.core.ledger import bulk_transfers
from envoi.core.ops import bench_large, bench_plots, bench_webhooks
from envoi.core.ops.harness import (
    Databases,
    RssSampler,
    ServeProcess,
    database_env,
    envoi_env,
    free_port,
    pg_bin,
)
from envoi.core.policy import confirmation_codes

CODE = "123456"
BENCH_CODE_KEY = b"envoi bench only: confirmation code key, 48 bytes"
FUNDING_CENTS = 10_000_000  # per account: never runs out at 1 cent a transfer
TRANSFER_CENTS = 1
SERVER_READY_TIMEOUT_S = 60.0
STATS_SETTLE_S = 0.5  # for the last backends' statistics to reach pg_stat_database
NULL_NOTES = {
    "bulk_tps": "no CreateTransfers batch finished in the phase",
    "sql_bulk_tps": "no raw SQL batch finished in the phase",
    "tweet_to_pending_p99_ms": "no post reached CONFIRMATION_REQUIRED in time",
    "tweet_to_pending_1000_p99_ms": "no post reached CONFIRMATION_REQUIRED in time",
    "large_p2p_confirmed_tps": "run with --large",
}
RESULT_KEYS = (
    "pgbench_tps",
    "sql_transfer_tps",
    "sql_lean_transfer_tps",
    "p2p_confirmed_tps",
    "p50_ms",
    "p99_ms",
    "bulk_tps",
    "sql_bulk_tps",
    "hot_account_tps",
    "sql_hot_transfer_tps",
    "collection_tps",
    "tweet_to_pending_p99_ms",
    "tweet_to_pending_1000_p99_ms",
    "max_rss_mb",
    "large_p2p_confirmed_tps",
)


@dataclass(frozen=True)
class Mode:
    name: str
    accounts: int
    pgbench_scale: int
    pgbench_clients: int
    phase_s: float  # duration of each measured phase
    client_processes: int
    threads_per_process: int
    tweets_per_s: float
    fast_tweets_per_s: float  # the second webhook phase's rate
    bulk_batch: int  # transfers per CreateTransfers call (and per raw SQL batch)
    # Person to person again at each of these threads per client process,
    # for the plot of throughput against concurrency.
    sweep_threads: tuple[int, ...]
    sweep_phase_s: float


MODES = {
    "full": Mode(
        "full", 10_000, 10, 8, 15.0, 2, 8, 200.0, 1_000.0, 8_000, (1, 2, 4, 8, 16, 32), 5.0
    ),
    "quick": Mode("quick", 2_000, 1, 4, 4.0, 2, 4, 200.0, 1_000.0, 1_000, (1, 4, 16), 2.0),
    # For the test only: checks the whole path, measures nothing worth reading.
    "smoke": Mode("smoke", 100, 1, 2, 1.0, 1, 2, 20.0, 100.0, 1_000, (1, 2), 0.5),
}


# --- pgbench ------------------------------------------------------------------------

TPS_LINE = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)


def run_pgbench(database_url: str, args: list[str]) -> str:
    done = subprocess.run(
        [str(pg_bin("pgbench")), *args, database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def pgbench_tps(output: str) -> float:
    match = TPS_LINE.search(output)
    if not match:
        raise RuntimeError(f"no tps in pgbench's output:\n{output}")
    return float(match.group(1))


PROCESSED_LINE = re.compile(r"^number of transactions actually processed: ([0-9]+)", re.MULTILINE)


def pgbench_transactions(output: str) -> int:
    match = PROCESSED_LINE.search(output)
    return int(match.group(1)) if match else 0


def measure_pgbench_tps(database_url: str, mode: Mode) -> float:
    run_pgbench(database_url, ["-i", "-q", "-s", str(mode.pgbench_scale)])
    output = run_pgbench(
        database_url,
        ["-M", "prepared", "-c", str(mode.pgbench_clients), "-j", "2", "-T", _seconds(mode)],
    )
    return pgbench_tps(output)


def _seconds(mode: Mode) -> str:
    return str(max(1, round(mode.phase_s)))


# The database work of one confirmed transfer, as envoi's server does it: two
# calls of the SQL function ledger_calls, each its own transaction (the server
# sends one per batch of RPCs; a batch of one here): InitiateTransfer checks
# the payment and holds it, ConfirmTransfer checks the code's HMAC (which the
# server computes; here read from the account) and posts it; each keeps its
# request id and answer, and its events. The settings the rules read are
# LIMITS_LIFTED's, as the bench's server has them (:rules).
SQL_TRANSFER_SCRIPT = f"""\
\\set from_n random(1, :accounts)
\\set offset random(1, :accounts - 1)
\\set to_n 1 + ((:from_n - 1 + :offset) % :accounts)
BEGIN;
SELECT b.account_id AS from_id, encode(a.code_hmac, 'hex') AS code_hmac
  FROM bench_accounts b JOIN accounts a USING (account_id) WHERE b.n = :from_n \\gset
SELECT account_id AS to_id FROM bench_accounts WHERE n = :to_n \\gset
SELECT ledger_calls(jsonb_build_array(jsonb_build_object(
    'op', 'transfer_initiate', 'principal', 'wallet', 'request_id', gen_random_uuid()::text,
    'method', 'InitiateTransfer', 'request_hmac', md5(random()::text),
    'from_account_id', :from_id::text, 'to_account_id', :to_id::text,
    'amount_cents', {TRANSFER_CENTS}, 'currency_code', 'EUR', 'memo', 'bench',
    'initiated_by', 'wallet', 'channel_reference', '', 'money_refusals', '{{}}'::jsonb)),
  :rules::jsonb)->0->'transfer'->>'transfer_id' AS transfer_id \\gset
END;
SELECT ledger_calls(jsonb_build_array(jsonb_build_object(
    'op', 'transfer_confirm', 'principal', 'wallet', 'request_id', gen_random_uuid()::text,
    'method', 'ConfirmTransfer', 'request_hmac', md5(random()::text),
    'transfer_id', :transfer_id::text, 'from_account_id', :from_id::text,
    'code_hmac', :code_hmac::text)),
  :rules::jsonb)->0->'transfer'->>'state' AS state \\gset
"""


# The same, every transfer paying the bench's one association: the database's
# own rate for a charity drive (its credits are deferred: migration 0010).
SQL_HOT_TRANSFER_SCRIPT = SQL_TRANSFER_SCRIPT.replace(
    "SELECT account_id AS to_id FROM bench_accounts WHERE n = :to_n \\gset",
    "SELECT account_id AS to_id FROM bench_accounts WHERE n = 0 \\gset",
)


# The least SQL any double-entry ledger must run for one single-phase
# transfer, written plainly on plain tables of its own (no trigger, no
# outbox, no hold): lock both accounts in id order, two balance updates, one
# transfer row, two postings. The floor of the same work on the same database.
SQL_LEAN_TRANSFER_SCRIPT = f"""\
\\set from_n random(1, :accounts)
\\set offset random(1, :accounts - 1)
\\set to_n 1 + ((:from_n - 1 + :offset) % :accounts)
BEGIN;
SELECT account_id FROM lean_accounts WHERE n IN (:from_n, :to_n)
  ORDER BY account_id FOR NO KEY UPDATE;
UPDATE lean_accounts SET balance_cents = balance_cents - {TRANSFER_CENTS} WHERE n = :from_n
  RETURNING account_id AS from_id \\gset
UPDATE lean_accounts SET balance_cents = balance_cents + {TRANSFER_CENTS} WHERE n = :to_n
  RETURNING account_id AS to_id \\gset
INSERT INTO lean_transfers (transfer_id, from_account_id, to_account_id, amount_cents)
  VALUES (gen_random_uuid(), :from_id, :to_id, {TRANSFER_CENTS}) RETURNING transfer_id \\gset
INSERT INTO lean_postings (transfer_id, account_id, amount_cents)
  VALUES (:transfer_id, :from_id, -{TRANSFER_CENTS}), (:transfer_id, :to_id, {TRANSFER_CENTS});
END;
"""


def prepare_lean_tables(database_url: str, accounts: int) -> None:
    """The lean script's tables, beside envoi's in the ledger database, with
    `accounts` accounts funded as envoi's are."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "CREATE TABLE lean_accounts (n integer PRIMARY KEY, account_id uuid NOT NULL UNIQUE,"
            " balance_cents bigint NOT NULL CHECK (balance_cents >= 0))"
        )
        conn.execute(
            "CREATE TABLE lean_transfers (transfer_id uuid PRIMARY KEY,"
            " from_account_id uuid NOT NULL REFERENCES lean_accounts (account_id),"
            " to_account_id uuid NOT NULL REFERENCES lean_accounts (account_id),"
            " amount_cents bigint NOT NULL CHECK (amount_cents > 0),"
            " create_time timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "CREATE TABLE lean_postings (posting_id bigint GENERATED ALWAYS AS IDENTITY"
            " PRIMARY KEY, transfer_id uuid NOT NULL REFERENCES lean_transfers,"
            " account_id uuid NOT NULL REFERENCES lean_accounts (account_id),"
            " amount_cents bigint NOT NULL)"
        )
        conn.execute(
            "INSERT INTO lean_accounts (n, account_id, balance_cents)"
            " SELECT n, gen_random_uuid(), %s FROM generate_series(1, %s) AS n",
            (FUNDING_CENTS, accounts),
        )
        conn.execute("ANALYZE lean_accounts")


SQL_SCRIPTS = {
    "sql_transfer": SQL_TRANSFER_SCRIPT,
    "sql_hot_transfer": SQL_HOT_TRANSFER_SCRIPT,
    "sql_lean_transfer": SQL_LEAN_TRANSFER_SCRIPT,
}


def measure_sql_transfer_tps(
    database_url: str,
    mode: Mode,
    workdir: pathlib.Path,
    *,
    hot: bool = False,
    script_name: str | None = None,
) -> tuple[float, int]:
    """(transfers per second, transfers done): one pgbench transaction is one
    transfer. script_name: a key of SQL_SCRIPTS (default sql_transfer, or
    sql_hot_transfer with hot)."""
    script_name = script_name or ("sql_hot_transfer" if hot else "sql_transfer")
    script = workdir / f"{script_name}.sql"
    script.write_text(SQL_SCRIPTS[script_name])
    output = run_pgbench(
        database_url,
        [
            "-n",
            "-M",
            "prepared",
            "-c",
            str(mode.pgbench_clients),
            "-j",
            "2",
            "-T",
            _seconds(mode),
            "-D",
            f"accounts={mode.accounts}",
            "-D",
            f"rules={json.dumps(bench_rules())}",
            "-f",
            str(script),
        ],
    )
    return pgbench_tps(output), pgbench_transactions(output)


def bench_rules() -> dict:
    """The settings the SQL rules read, as the bench's server has them."""
    from envoi.core.config import from_environment
    from envoi.core.ledger import refusals

    return refusals.rules(from_environment(LIMITS_LIFTED_ENV)).obj


# --- accounts, made directly in the database ----------------------------------------


def prepare_schema(database_url: str, code_key: bytes) -> None:
    """Migrate, and make the system accounts, as `envoi serve` would."""
    from envoi.core.server import prepare_database

    schema.migrate(database_url)
    prepare_database(database_url, Settings(database_url=database_url, code_key=code_key))


def prepare_ledger(database_url: str, mode: Mode, code_key: bytes) -> tuple[list[str], str]:
    """Migrate, then open and fund `mode.accounts` person accounts and one
    association (all with the code CODE) straight in SQL, through the same
    triggers as a credit. Returns (person account ids, association id)."""
    prepare_schema(database_url, code_key)
    person_ids = [str(uuid.uuid4()) for _ in range(mode.accounts)]
    association_id = str(uuid.uuid4())
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE bench_accounts (n integer PRIMARY KEY, account_id uuid)")
        with conn.cursor().copy(
            "COPY accounts (account_id, kind, display_name, currency_code, code_hmac) FROM STDIN"
        ) as copy:
            for n, account_id in enumerate([*person_ids, association_id]):
                kind = "ASSOCIATION" if account_id == association_id else "PERSON"
                copy.write_row(
                    (
                        account_id,
                        kind,
                        f"bench {kind.lower()} {n}",
                        "EUR",
                        confirmation_codes.code_hmac(code_key, account_id, CODE),
                    )
                )
        # Payments to an association need its business profile verified.
        conn.execute(
            "UPDATE accounts SET legal_name = 'bench association',"
            " registration_country_code = 'FR', registration_number = '732829320',"
            " profile_verify_time = now() WHERE account_id = %s",
            (association_id,),
        )
        with conn.cursor().copy("COPY bench_accounts (n, account_id) FROM STDIN") as copy:
            # People are 1 to N (the scripts pick them at random), the association 0.
            for n, account_id in enumerate([association_id, *person_ids]):
                copy.write_row((n, account_id))
        conn.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, memo, initiated_by, resolve_time)"
            " SELECT gen_random_uuid(), 'FUNDING', 'COMPLETED', funding.account_id,"
            "        b.account_id, 'EUR', %s, 'bench funding', 'admin', now()"
            " FROM bench_accounts b, accounts funding"
            " WHERE funding.system_purpose = 'FUNDING' AND funding.currency_code = 'EUR'",
            (FUNDING_CENTS,),
        )
        # Only the tables the bench filled: a table analyzed while empty gets
        # plans that scan it whole cached in every session (a PL/pgSQL
        # function's generic plan), until autovacuum analyzes it again; one
        # never analyzed is planned as if it had 10 pages, by its index.
        conn.execute("ANALYZE accounts, transfers, postings, outbox_events, bench_accounts")
    return person_ids, association_id


def open_settlement_accounts(database_url: str, count: int, code_key: bytes) -> list[str]:
    """`count` funded SETTLEMENT accounts, straight in SQL: what the bulk phases
    move money between (a batch never debits a person)."""
    settlement_ids = [str(uuid.uuid4()) for _ in range(count)]
    with psycopg.connect(database_url) as conn:
        with conn.cursor().copy(
            "COPY accounts (account_id, kind, display_name, currency_code, code_hmac) FROM STDIN"
        ) as copy:
            for n, account_id in enumerate(settlement_ids):
                code_hmac = confirmation_codes.code_hmac(code_key, account_id, CODE)
                copy.write_row(
                    (account_id, "SETTLEMENT", f"bench settlement {n}", "EUR", code_hmac)
                )
        conn.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, memo, initiated_by, resolve_time)"
            " SELECT gen_random_uuid(), 'FUNDING', 'COMPLETED', funding.account_id,"
            "        s.account_id, 'EUR', %s, 'bench funding', 'admin', now()"
            " FROM unnest(%s::uuid[]) AS s(account_id), accounts funding"
            " WHERE funding.system_purpose = 'FUNDING' AND funding.currency_code = 'EUR'",
            (FUNDING_CENTS, settlement_ids),
        )
        conn.execute("ANALYZE accounts")
    return settlement_ids


# --- the envoi server ---------------------------------------------------------------


def create_token(conn, role: str) -> tuple[str, str]:
    from envoi.core.auth import api_tokens  # here: `envoi gateway` imports this module's CLI

    return api_tokens.create_token(conn, role)


# 50 people post 800 payments in 4 s, none confirmed: the limits on what one
# identity may post and hold are lifted for the bench.
LIMITS_LIFTED_ENV = {
    "ENVOI_DAILY_CAP_CENTS": "0",
    "ENVOI_IDENTITY_RATE_PER_MIN": "0",
    "ENVOI_CHANNEL_PENDING_MAX_COUNT": "1000000",
    "ENVOI_CHANNEL_PENDING_MAX_CENTS": str(10**12),
    "ENVOI_UNVERIFIED_MAX_BALANCE_CENTS": "0",
    "ENVOI_UNVERIFIED_MONTHLY_OUT_CENTS": "0",
}


class EnvoiServer(ServeProcess):
    """`envoi serve` as a subprocess on a free port, limits lifted for the bench."""

    def __init__(
        self,
        database_url: str,
        code_key: bytes,
        workers: int,
        log_path: pathlib.Path,
        gateway_env: dict | None = None,
        target: str | None = None,
    ):
        """database_url: the tables' owner's (serve migrates with it and connects as
        envoi_server); gateway_env: run the channel gateway too, with these settings;
        target: listen there (a restart on the same address) instead of a free port."""
        env = envoi_env(
            **database_env(database_url),
            ENVOI_CODE_KEY=code_key.decode(),
            ENVOI_WORKERS=str(workers),
            **LIMITS_LIFTED_ENV,
            **(gateway_env or {}),
        )
        super().__init__(env, [] if gateway_env else ["--no-gateway"], log_path, target)


# --- gRPC load ----------------------------------------------------------------------


def _open_collection(target: str, wallet_token: str, owner_account_id: str) -> str:
    """A collection of the (verified) association; its hashtag, as payers name it."""
    from envoi.client import EnvoiClient

    hashtag = "BenchDrive" + uuid.uuid4().hex[:8]
    with EnvoiClient(target, wallet_token) as wallet:
        wallet.create_collection(owner_account_id, "Bench drive", hashtag)
    return "#" + hashtag


def _client_process(
    target: str,
    token: str,
    person_ids: list[str],
    only_recipient: str | None,
    threads: int,
    duration_s: float,
    seed: int,
) -> tuple[list[float], int, float]:
    """One client process: `threads` threads, each sending confirmed transfers
    back to back for duration_s, to random people or all to only_recipient (an
    account id, or a collection's #hashtag). Returns (latencies in s, errors,
    CPU seconds)."""
    from envoi.client import EnvoiClient, EnvoiError

    latencies_s: list[float] = []
    errors = [0]
    lock = threading.Lock()
    client = EnvoiClient(target, token)
    deadline = time.monotonic() + duration_s

    def loop(thread_seed: int) -> None:
        rng = random.Random(thread_seed)
        mine = []
        failed = 0
        while time.monotonic() < deadline:
            sender = rng.choice(person_ids)
            recipient = only_recipient or rng.choice(person_ids)
            if recipient == sender:
                continue
            start = time.perf_counter()
            try:
                transfer = client.initiate_transfer(sender, recipient, TRANSFER_CENTS)
                client.confirm_transfer(transfer.transfer_id, CODE)
            except EnvoiError:
                failed += 1
                continue
            mine.append(time.perf_counter() - start)
        with lock:
            latencies_s.extend(mine)
            errors[0] += failed

    workers = [
        threading.Thread(target=loop, args=(seed * 1000 + n,), daemon=True) for n in range(threads)
    ]
    cpu_start_s = time.process_time()  # imports and start-up left out
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.close()
    return latencies_s, errors[0], time.process_time() - cpu_start_s


@dataclass
class LoadResult:
    tps: float
    p50_ms: float | None
    p99_ms: float | None
    transfers: int
    errors: int
    concurrency: int
    latencies_ms: list  # every transfer's, for the plot; not in results.json
    # CPU milliseconds per confirmed transfer: the envoi server, PostgreSQL, the
    # bench's clients (all on the same cores); None without the server's pid.
    cpu_ms_per_transfer: dict | None = None


def cpu_seconds(server_pid: int) -> dict:
    """CPU seconds used so far by the envoi server (with its workers) and by
    every process named postgres on this machine."""
    import psutil

    def used(process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    server = psutil.Process(server_pid)
    totals = {"envoi_server": 0.0, "postgres": 0.0}
    for process in [server, *server.children(recursive=True)]:
        try:
            totals["envoi_server"] += used(process)
        except psutil.NoSuchProcess:
            pass
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            try:
                totals["postgres"] += used(process)
            except psutil.NoSuchProcess:
                pass
    return totals


def percentile_ms(sorted_latencies_s: list[float], fraction: float) -> float | None:
    if not sorted_latencies_s:
        return None
    index = min(len(sorted_latencies_s) - 1, int(fraction * len(sorted_latencies_s)))
    return round(sorted_latencies_s[index] * 1000, 2)


def measure_confirmed_transfers(
    target: str,
    token: str,
    person_ids: list[str],
    only_recipient: str | None,
    mode: Mode,
    *,
    threads_per_process: int | None = None,
    phase_s: float | None = None,
    server_pid: int | None = None,
) -> LoadResult:
    context = multiprocessing.get_context("spawn")  # gRPC must not be forked
    threads_per_process = threads_per_process or mode.threads_per_process
    phase_s = phase_s or mode.phase_s
    jobs = [
        (target, token, person_ids, only_recipient, threads_per_process, phase_s, seed)
        for seed in range(mode.client_processes)
    ]
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    with context.Pool(mode.client_processes) as pool:
        # Each process sends for phase_s from its own start: the rate is
        # completed transfers over phase_s, process start-up left out.
        results = pool.starmap(_client_process, jobs)
    latencies_s = sorted(latency for part, _, _ in results for latency in part)
    cpu_ms_per_transfer = None
    if cpu_before is not None and latencies_s:
        cpu_after = cpu_seconds(server_pid)
        spent_s = {side: cpu_after[side] - cpu_before[side] for side in cpu_after}
        spent_s["bench_clients"] = sum(cpu_s for _, _, cpu_s in results)
        cpu_ms_per_transfer = {
            side: round(1000 * cpu_s / len(latencies_s), 2) for side, cpu_s in spent_s.items()
        }
    return LoadResult(
        tps=round(len(latencies_s) / phase_s, 1),
        p50_ms=percentile_ms(latencies_s, 0.50),
        p99_ms=percentile_ms(latencies_s, 0.99),
        transfers=len(latencies_s),
        errors=sum(failed for _, failed, _ in results),
        concurrency=mode.client_processes * threads_per_process,
        latencies_ms=[latency * 1000 for latency in latencies_s],
        cpu_ms_per_transfer=cpu_ms_per_transfer,
    )


def measure_concurrency_sweep(
    target: str, token: str, person_ids: list[str], mode: Mode
) -> list[dict]:
    """Person to person at each concurrency of mode.sweep_threads."""
    sweep = []
    for threads in mode.sweep_threads:
        load = measure_confirmed_transfers(
            target,
            token,
            person_ids,
            None,
            mode,
            threads_per_process=threads,
            phase_s=mode.sweep_phase_s,
        )
        sweep.append(
            {
                "concurrency": load.concurrency,
                "tps": load.tps,
                "p50_ms": load.p50_ms,
                "p99_ms": load.p99_ms,
                "transfers": load.transfers,
                "errors": load.errors,
            }
        )
    return sweep


def database_work(server_url: str, database_url: str) -> dict:
    """Commits and rows written so far in one database (pg_stat_database; a
    backend reports its counts when it goes idle or exits)."""
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return {"commits": row[0], "rows_written": row[1]}


def per_transfer(before: dict, after: dict, transfers: int) -> dict:
    return {
        "db_commits": round((after["commits"] - before["commits"]) / transfers, 2),
        "db_rows_written": round((after["rows_written"] - before["rows_written"]) / transfers, 2),
    }


# --- bulk transfers: CreateTransfers against raw set-based SQL -------------------------

BULK_INITIATED_BY = "ledger"


def bulk_batch(
    account_ids: list[str], size: int, rng: random.Random
) -> list[bulk_transfers.NewTransfer]:
    """`size` transfers of TRANSFER_CENTS between random distinct (settlement) accounts."""
    return [
        bulk_transfers.NewTransfer(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            *rng.sample(account_ids, 2),
            TRANSFER_CENTS,
            "EUR",
            "bench bulk",
        )
        for _ in range(size)
    ]


@dataclass(frozen=True)
class BulkResult:
    tps: float
    transfers: int
    batches: int


def _run_batches(account_ids: list[str], mode: Mode, seed: int, post) -> BulkResult:
    """post(batch) batch after batch for phase_s; the rate is transfers over the
    time spent in post (making the batches on the bench's side is left out)."""
    rng = random.Random(seed)
    busy_s, transfers, batches = 0.0, 0, 0
    deadline = time.monotonic() + mode.phase_s
    while time.monotonic() < deadline:
        batch = bulk_batch(account_ids, mode.bulk_batch, rng)
        started = time.monotonic()
        post(batch)
        busy_s += time.monotonic() - started
        transfers += len(batch)
        batches += 1
    return BulkResult(round(transfers / busy_s, 1) if busy_s else 0.0, transfers, batches)


def measure_sql_bulk_tps(database_url: str, account_ids: list[str], mode: Mode) -> BulkResult:
    """The database work of CreateTransfers as raw SQL, one transaction a batch:
    lock the accounts in id order, then envoi's own INSERT ... SELECT FROM unnest."""
    with psycopg.connect(database_url, autocommit=True) as conn:

        def post(batch: list[bulk_transfers.NewTransfer]) -> None:
            with conn.transaction():
                bulk_transfers.lock_accounts(conn, batch, Settings())
                bulk_transfers.insert_completed(conn, batch, BULK_INITIATED_BY)

        return _run_batches(account_ids, mode, 1, post)


def measure_bulk_tps(target: str, token: str, account_ids: list[str], mode: Mode) -> BulkResult:
    """Batches of the same kind through gRPC CreateTransfers, all-or-nothing."""
    from envoi.client import EnvoiClient
    from envoi.v1 import money_pb2, transfer_service_pb2

    with EnvoiClient(target, token, timeout_s=60.0) as client:

        def post(batch: list[bulk_transfers.NewTransfer]) -> None:
            response = client.create_transfers(
                [
                    transfer_service_pb2.TransferToCreate(
                        transfer_id=t.transfer_id,
                        from_account_id=t.from_account_id,
                        to_account_id=t.to_account_id,
                        amount=money_pb2.Money(
                            currency_code=t.currency_code, amount_cents=t.amount_cents
                        ),
                        memo=t.memo,
                    )
                    for t in batch
                ],
                mode="ALL_OR_NOTHING",
            )
            if len(response.results) != len(batch):
                raise RuntimeError(f"CreateTransfers answered {len(response.results)} results")

        return _run_batches(account_ids, mode, 2, post)


# --- a post on X to CONFIRMATION_REQUIRED -------------------------------------------

TWEET_SENDERS = 50
# The fast phase's senders: 64 POSTs in flight at most, over kept-alive connections.
FAST_SENDER_PROCESSES = 2
FAST_SENDER_THREADS = 32  # per process
SLOW_SENDER_THREADS = 32


@dataclass
class Gateway:
    """An `envoi serve` with its channel gateway, the X API emulator playing X,
    and TWEET_SENDERS + 1 X users linked to the first person accounts."""

    x: object
    server: EnvoiServer
    url: str  # the gateway's webhook
    users: list[dict]
    bot: dict


def measure_tweet_to_pending(
    database_url: str, person_ids: list[str], mode: Mode, workdir: pathlib.Path
) -> tuple[dict, dict]:
    """Signed Account Activity webhooks to an `envoi serve` with its gateway,
    each a payment post by a linked person: at tweets_per_s, then (posts of
    other ids, on the same server) at fast_tweets_per_s. The latency of a post
    is from its POST's start to the commit time of its transfer's
    CONFIRMATION_REQUIRED event (the event's create_time, the start of that
    transaction: a slight underestimate). Returns the two phases' details."""
    with _gateway(database_url, person_ids, workdir) as gateway:
        slow = _webhook_phase(gateway, database_url, mode.tweets_per_s, mode.phase_s, fast=False)
        fast = _webhook_phase(
            gateway, database_url, mode.fast_tweets_per_s, mode.phase_s, fast=True
        )
    return slow, fast


@contextlib.contextmanager
def _gateway(database_url: str, person_ids: list[str], workdir: pathlib.Path):
    from envoi.channels.twitter.channel import WEBHOOK_PATH
    from envoi.channels.twitter.x_api_emulator import XApiEmulator
    from envoi.client import EnvoiClient
    from envoi.v1 import identity_pb2

    gateway_listen = f"127.0.0.1:{free_port()}"
    with XApiEmulator() as x:
        bot = x.add_user("SmoneyFR")
        users = [x.add_user(f"bench{n}") for n in range(TWEET_SENDERS + 1)]
        gateway_env = {
            "ENVOI_CHANNELS": "twitter",
            "ENVOI_GATEWAY_LISTEN": gateway_listen,
            "ENVOI_TWITTER_BOT_HANDLE": "SmoneyFR",
            "ENVOI_TWITTER_BOT_USER_ID": bot["id"],
            "ENVOI_TWITTER_API_BASE_URL": x.base_url,
            "ENVOI_TWITTER_POLL_INTERVAL_S": "0",
            **{f"ENVOI_TWITTER_{k.upper()}": v for k, v in x.oauth1_credentials(bot).items()},
        }
        with psycopg.connect(database_url, autocommit=True) as conn:
            _, wallet_token = create_token(conn, "wallet")
        server = EnvoiServer(
            database_url, BENCH_CODE_KEY, 1, workdir / "serve-gateway.log", gateway_env
        )
        try:
            server.wait_until_serving()
            with EnvoiClient(server.target, wallet_token) as wallet:
                for user, account_id in zip(users, person_ids, strict=False):
                    wallet.link_identity(
                        account_id,
                        identity_pb2.Identity(
                            namespace="twitter", subject_id=user["id"], handle=user["username"]
                        ),
                    )
            url = f"http://{gateway_listen}{WEBHOOK_PATH}"
            _wait_for_webhooks(x, url)
            yield Gateway(x, server, url, users, bot)
        finally:
            server.stop()


def _webhook_phase(
    gateway: Gateway, database_url: str, per_s: float, phase_s: float, *, fast: bool
) -> dict:
    """per_s x phase_s payment posts to the gateway on a fixed schedule, until
    their CONFIRMATION_REQUIRED events; fast: from sender processes over
    kept-alive connections, else from threads here, a connection a POST."""
    x, recipient = gateway.x, gateway.users[-1]["username"]
    payloads = [
        x.account_activity_payload(
            x.post(gateway.users[n % TWEET_SENDERS], f"@SmoneyFR #envoyer 1€ @{recipient}"),
            gateway.bot,
        )
        for n in range(round(per_s * phase_s))
    ]
    with RssSampler(gateway.server.process.pid) as rss:
        if fast:
            posts = bench_webhooks.signed_posts(payloads, x.consumer_secret)
            delivery = bench_webhooks.deliver_at_rate(
                gateway.url, posts, per_s, FAST_SENDER_PROCESSES, FAST_SENDER_THREADS
            )
            sender = f"{FAST_SENDER_PROCESSES} processes x {FAST_SENDER_THREADS} threads"
            sender += ", kept-alive connections"
        else:
            delivery = _deliver_at_rate(x, gateway.url, payloads, per_s)
            sender = f"{SLOW_SENDER_THREADS} threads, a connection per POST"
        pending_at = _wait_for_pending(database_url, delivery.sent_at)
    latencies_s = sorted(at - delivery.sent_at[post_id] for post_id, at in pending_at.items())
    from_slot_s = sorted(at - delivery.slot_at[post_id] for post_id, at in pending_at.items())
    late_s = sorted(delivery.late_s)
    span_s = delivery.last_start_s - delivery.first_slot_s
    return {
        "posts": len(payloads),
        "posts_not_accepted": delivery.not_accepted,  # refused, reset or not 200: left out
        "pending": len(latencies_s),
        "p50_ms": percentile_ms(latencies_s, 0.50),
        "p99_ms": percentile_ms(latencies_s, 0.99),
        "posts_per_s": per_s,
        # Did the bench keep its schedule: each POST's start minus its slot,
        # and the rate the POSTs really started at.
        "send_late_p50_ms": percentile_ms(late_s, 0.50),
        "send_late_p99_ms": percentile_ms(late_s, 0.99),
        "send_late_max_ms": percentile_ms(late_s, 1.0),
        "sent_per_s": round((len(payloads) - 1) / span_s, 1) if span_s > 0 else None,
        # From each post's slot, not its POST's start: the latency a sender that
        # kept the schedule would have seen (counting the wait for a free sender).
        "slot_to_pending_p50_ms": percentile_ms(from_slot_s, 0.50),
        "slot_to_pending_p99_ms": percentile_ms(from_slot_s, 0.99),
        "sender": sender,
        "max_in_flight": delivery.max_in_flight,
        "max_rss_bytes": rss.max_rss_bytes,
    }


def _wait_for_webhooks(x, url: str) -> None:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if x.crc_request(url, timeout_s=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the gateway's webhook {url} does not answer")


def _deliver_at_rate(x, url: str, payloads: list[dict], per_s: float) -> bench_webhooks.Delivery:
    """POST each payload at its slot of a fixed schedule, with the emulator's
    deliver_webhook (a connection a POST) from SLOW_SENDER_THREADS threads."""
    from concurrent.futures import ThreadPoolExecutor

    delivery = bench_webhooks.Delivery({}, {}, 0, [], time.time(), 0.0, 0)
    lock = threading.Lock()
    in_flight = [0]
    start = time.monotonic()

    def deliver(n: int) -> None:
        delay_s = start + n / per_s - time.monotonic()
        if delay_s > 0:
            time.sleep(delay_s)
        late_s = time.monotonic() - (start + n / per_s)
        started_s = time.time()
        slot_s = started_s - late_s
        with lock:
            in_flight[0] += 1
            delivery.max_in_flight = max(delivery.max_in_flight, in_flight[0])
        try:
            status, _ = x.deliver_webhook(url, payloads[n], x.consumer_secret)
        except OSError:  # refused or reset: the gateway did not take it
            status = None
        with lock:
            in_flight[0] -= 1
            delivery.late_s.append(late_s)
            delivery.last_start_s = max(delivery.last_start_s, started_s)
            if status == 200:
                post_id = payloads[n]["tweet_create_events"][0]["id_str"]
                delivery.sent_at[post_id] = started_s
                delivery.slot_at[post_id] = slot_s
            else:
                delivery.not_accepted += 1

    with ThreadPoolExecutor(max_workers=SLOW_SENDER_THREADS) as pool:
        list(pool.map(deliver, range(len(payloads))))
    return delivery


PENDING_WAIT_S = 10.0


def _wait_for_pending(database_url: str, sent_at: dict[str, float]) -> dict[str, float]:
    """{post id: its CONFIRMATION_REQUIRED event's create_time, epoch s} of the
    posts of sent_at whose event exists."""
    deadline = time.monotonic() + PENDING_WAIT_S
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT t.channel_reference, extract(epoch FROM e.create_time)"
                " FROM outbox_events e JOIN transfers t USING (transfer_id)"
                " WHERE e.event_type = 'CONFIRMATION_REQUIRED'"
                " AND t.channel_reference LIKE 'post:%%'"
            ).fetchall()
            # Only this phase's posts: an earlier phase's are in the ledger too.
            mine = [row for row in rows if row[0].removeprefix("post:") in sent_at]
            if len(mine) >= len(sent_at) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return {reference.removeprefix("post:"): float(created_s) for reference, created_s in mine}


# --- --large: person to person on a large ledger ------------------------------------

LARGE_INVARIANTS_WORK_MEM = "512MB"  # the checks group tens of millions of rows


def measure_large(dbs: Databases, mode: Mode, workers: int, workdir: pathlib.Path) -> dict:
    """Phase 3 again, with the same clients, on a database of its own loaded
    with bench_large's accounts and past transfers, against a fresh `envoi
    serve`; then the ledger's invariants on it."""
    accounts, past = bench_large.large_sizes()
    print(
        f"envoi bench --large: loading {accounts:,} accounts and {past:,} past transfers",
        file=sys.stderr,
        flush=True,
    )
    large_url = dbs.create("envoi_large")
    prepare_schema(large_url, BENCH_CODE_KEY)
    person_ids, load = bench_large.load_large_ledger(
        large_url, BENCH_CODE_KEY, CODE, FUNDING_CENTS, accounts, past
    )
    with psycopg.connect(large_url, autocommit=True) as conn:
        _, wallet_token = create_token(conn, "wallet")
    server = EnvoiServer(large_url, BENCH_CODE_KEY, workers, workdir / "serve-large.log")
    try:
        server.wait_until_serving()
        print("envoi bench --large: person to person over gRPC", file=sys.stderr, flush=True)
        with RssSampler(server.process.pid) as rss:
            p2p = measure_confirmed_transfers(
                server.target, wallet_token, person_ids, None, mode, server_pid=server.process.pid
            )
    finally:
        server.stop()
    with psycopg.connect(large_url, autocommit=True) as conn:
        size_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    print("envoi bench --large: checking the ledger's invariants", file=sys.stderr, flush=True)
    checked = time.monotonic()
    from envoi.core.ledger.invariants import assert_ledger_invariants

    with psycopg.connect(large_url) as conn:
        conn.execute(f"SET work_mem = '{LARGE_INVARIANTS_WORK_MEM}'")
        assert_ledger_invariants(conn)
    return {
        "accounts": accounts,
        "past_transfers": past,
        **load,
        "db_size_mb": round(size_bytes / 2**20),
        "p2p_confirmed_tps": p2p.tps or None,
        "p50_ms": p2p.p50_ms,
        "p99_ms": p2p.p99_ms,
        "transfers": p2p.transfers,
        "errors": p2p.errors,
        "concurrency": p2p.concurrency,
        "cpu_ms_per_confirmed_transfer": p2p.cpu_ms_per_transfer,
        "max_rss_mb": round(rss.max_rss_bytes / 2**20, 1) or None,
        "invariants_s": round(time.monotonic() - checked, 1),
    }


# --- the run ------------------------------------------------------------------------


def machine() -> dict:
    info = {"cpu_count": os.cpu_count(), "platform": sys.platform}
    try:
        import psutil

        info["memory_mb"] = round(psutil.virtual_memory().total / 2**20)
    except ImportError:
        pass
    return info


def ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def run(
    mode: Mode, out_dir: pathlib.Path, server_url: str | None, workers: int, large: bool = False
) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict = dict.fromkeys(RESULT_KEYS)
    results["mode"] = mode.name
    results["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="envoi-bench-") as tmp, Databases(server_url) as dbs:
        workdir = pathlib.Path(tmp)
        print(f"envoi bench ({mode.name}): pgbench tpcb-like", file=sys.stderr, flush=True)
        results["pgbench_tps"] = round(measure_pgbench_tps(dbs.create("envoi_pgbench"), mode), 1)

        ledger_url = dbs.create("envoi_bench")
        person_ids, association_id = prepare_ledger(ledger_url, mode, BENCH_CODE_KEY)
        sql_tps, settlement_ids, sql_bulk = _measure_sql_phases(
            results, dbs.server_url, ledger_url, mode, workdir
        )
        with psycopg.connect(ledger_url, autocommit=True) as conn:
            _, wallet_token = create_token(conn, "wallet")
            _, ledger_token = create_token(conn, "ledger")
        grpc = _measure_grpc_phases(
            dbs.server_url,
            ledger_url,
            wallet_token,
            person_ids,
            association_id,
            mode,
            workers,
            workdir,
        )
        bulk, bulk_rss_bytes = _measure_bulk_phase(
            ledger_url, ledger_token, settlement_ids, mode, workers, workdir
        )
        print("envoi bench: signed webhooks to CONFIRMATION_REQUIRED", file=sys.stderr)
        tweets = measure_tweet_to_pending(ledger_url, person_ids, mode, workdir)
        from envoi.core.ledger.invariants import assert_ledger_invariants

        assert_ledger_invariants(ledger_url)
        results["large"] = measure_large(dbs, mode, workers, workdir) if large else None

    if results["large"]:
        results["large_p2p_confirmed_tps"] = results["large"]["p2p_confirmed_tps"]
    _record_measures(results, grpc, bulk, sql_bulk, tweets, bulk_rss_bytes, sql_tps)
    results["settings"] = _settings(mode, workers, server_url, grpc, bulk, sql_bulk)
    results["concurrency_sweep"] = grpc.sweep
    # Where the two cores went during the person-to-person phase.
    results["cpu_ms_per_confirmed_transfer"] = grpc.p2p.cpu_ms_per_transfer
    results["notes"] = {key: note for key, note in NULL_NOTES.items() if results[key] is None}
    if results["large"] and results["large_p2p_confirmed_tps"] is None:
        results["notes"]["large_p2p_confirmed_tps"] = "no transfer confirmed on the large ledger"
    _add_plots(results, out_dir, grpc, mode)
    if results["max_rss_mb"] is None:
        results["notes"]["max_rss_mb"] = "psutil is not installed"
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown_table(results)
    (out_dir / "results.md").write_text(table)
    return results


def _measure_sql_phases(
    results: dict, server_url: str, ledger_url: str, mode: Mode, workdir: pathlib.Path
) -> tuple[float, list[str], BulkResult]:
    """Phases 2, 5 and 4 as raw SQL, into results; returns (sql_transfer_tps
    unrounded, the settlement account ids, the raw SQL batches' result)."""
    print("envoi bench: one confirmed transfer as raw SQL", file=sys.stderr, flush=True)
    sql_tps = _sql_script_phase(
        results, "per_confirmed_transfer_in_sql", server_url, ledger_url, mode, workdir
    )
    results["sql_transfer_tps"] = round(sql_tps, 1)
    print("envoi bench: the least SQL of one transfer, on plain tables", file=sys.stderr)
    prepare_lean_tables(ledger_url, mode.accounts)
    lean_tps = _sql_script_phase(
        results, "per_transfer_in_lean_sql", server_url, ledger_url, mode, workdir, "sql_lean"
    )
    results["sql_lean_transfer_tps"] = round(lean_tps, 1)
    print("envoi bench: one transfer to one association as raw SQL", file=sys.stderr)
    sql_hot_tps, _ = measure_sql_transfer_tps(ledger_url, mode, workdir, hot=True)
    results["sql_hot_transfer_tps"] = round(sql_hot_tps, 1)
    print("envoi bench: batches of transfers as raw SQL", file=sys.stderr, flush=True)
    settlement_ids = open_settlement_accounts(ledger_url, mode.accounts, BENCH_CODE_KEY)
    return sql_tps, settlement_ids, measure_sql_bulk_tps(ledger_url, settlement_ids, mode)


def _sql_script_phase(
    results, work_key, server_url, ledger_url, mode, workdir, script="sql"
) -> float:
    """Transfers per second of SQL_SCRIPTS[script + "_transfer"]; the database's
    commits and rows written per transfer into results[work_key] (if any was done)."""
    before = database_work(server_url, ledger_url)
    tps, transfers = measure_sql_transfer_tps(
        ledger_url, mode, workdir, script_name=script + "_transfer"
    )
    time.sleep(STATS_SETTLE_S)
    if transfers:
        results[work_key] = per_transfer(before, database_work(server_url, ledger_url), transfers)
    return tps


@dataclass
class GrpcPhases:
    """Phases 3 and 5 and the sweep, on one server, and what the database did meanwhile."""

    p2p: LoadResult
    hot: LoadResult
    collection: LoadResult
    sweep: list[dict]
    work_before: dict
    work_after: dict
    max_rss_bytes: int

    @property
    def transfers(self) -> int:
        loads = (self.p2p, self.hot, self.collection)
        return sum(load.transfers for load in loads) + sum(p["transfers"] for p in self.sweep)


def _measure_grpc_phases(
    server_url, ledger_url, token, person_ids, association_id, mode, workers, workdir
) -> GrpcPhases:
    server = EnvoiServer(ledger_url, BENCH_CODE_KEY, workers, workdir / "serve.log")
    try:
        server.wait_until_serving()
        work_before = database_work(server_url, ledger_url)
        with RssSampler(server.process.pid) as rss:
            print("envoi bench: person to person over gRPC", file=sys.stderr, flush=True)
            p2p = measure_confirmed_transfers(
                server.target, token, person_ids, None, mode, server_pid=server.process.pid
            )
            print("envoi bench: every transfer to one association", file=sys.stderr)
            hot = measure_confirmed_transfers(
                server.target, token, person_ids, association_id, mode
            )
            print("envoi bench: every transfer into one collection", file=sys.stderr)
            drive = _open_collection(server.target, token, association_id)
            collection = measure_confirmed_transfers(server.target, token, person_ids, drive, mode)
            print("envoi bench: person to person at each concurrency", file=sys.stderr)
            sweep = measure_concurrency_sweep(server.target, token, person_ids, mode)
    finally:
        server.stop()  # its connections close: their counts are reported
    time.sleep(STATS_SETTLE_S)
    work_after = database_work(server_url, ledger_url)
    return GrpcPhases(p2p, hot, collection, sweep, work_before, work_after, rss.max_rss_bytes)


def _measure_bulk_phase(
    ledger_url, token, settlement_ids, mode, workers, workdir
) -> tuple[BulkResult, int]:
    """Phase 4 through gRPC: (its result, the server's largest RSS in bytes)."""
    # A server of its own, so that the counts of the gRPC phases are theirs only.
    server = EnvoiServer(ledger_url, BENCH_CODE_KEY, workers, workdir / "serve-bulk.log")
    try:
        server.wait_until_serving()
        with RssSampler(server.process.pid) as rss:
            print("envoi bench: CreateTransfers over gRPC", file=sys.stderr, flush=True)
            bulk = measure_bulk_tps(server.target, token, settlement_ids, mode)
    finally:
        server.stop()
    return bulk, rss.max_rss_bytes


def _record_measures(results, grpc: GrpcPhases, bulk, sql_bulk, tweets, bulk_rss_bytes, sql_tps):
    p2p, hot, collection = grpc.p2p, grpc.hot, grpc.collection
    tweets, fast_tweets = tweets
    max_rss_bytes = max(
        grpc.max_rss_bytes,
        bulk_rss_bytes,
        tweets.pop("max_rss_bytes"),
        fast_tweets.pop("max_rss_bytes"),
    )
    results.update(
        p2p_confirmed_tps=p2p.tps,
        p50_ms=p2p.p50_ms,
        p99_ms=p2p.p99_ms,
        hot_account_tps=hot.tps,
        hot_p50_ms=hot.p50_ms,
        hot_p99_ms=hot.p99_ms,
        collection_tps=collection.tps,
        collection_p99_ms=collection.p99_ms,
        bulk_tps=bulk.tps or None,
        sql_bulk_tps=sql_bulk.tps or None,
        tweet_to_pending_p99_ms=tweets["p99_ms"],
        tweet_to_pending=tweets,
        tweet_to_pending_1000_p99_ms=fast_tweets["p99_ms"],
        tweet_to_pending_1000=fast_tweets,
        max_rss_mb=round(max_rss_bytes / 2**20, 1) or None,
    )
    results["ratios"] = {
        "p2p_over_pgbench": ratio(p2p.tps, results["pgbench_tps"]),
        "p2p_over_sql_transfer": ratio(p2p.tps, results["sql_transfer_tps"]),
        "bulk_over_sql_bulk": ratio(results["bulk_tps"], results["sql_bulk_tps"]),
        "bulk_over_pgbench": ratio(results["bulk_tps"], results["pgbench_tps"]),
        "hot_over_p2p": ratio(hot.tps, p2p.tps),
        "collection_over_p2p": ratio(collection.tps, p2p.tps),
        "sql_hot_over_sql_transfer": ratio(results["sql_hot_transfer_tps"], sql_tps),
        "sql_lean_over_pgbench": ratio(results["sql_lean_transfer_tps"], results["pgbench_tps"]),
        "sql_transfer_over_sql_lean": ratio(sql_tps, results["sql_lean_transfer_tps"]),
        "sql_transfer_over_pgbench": ratio(sql_tps, results["pgbench_tps"]),
        "large_p2p_over_p2p": ratio(results["large_p2p_confirmed_tps"], p2p.tps),
    }
    if grpc.transfers:
        # Over the gRPC phases on that server (p2p, hot, collection, the sweep); includes
        # the server's own background work (expiry checks, folding).
        results["per_confirmed_transfer_over_grpc"] = per_transfer(
            grpc.work_before, grpc.work_after, grpc.transfers
        )


def _settings(mode: Mode, workers: int, server_url, grpc: GrpcPhases, bulk, sql_bulk) -> dict:
    p2p, hot, collection = grpc.p2p, grpc.hot, grpc.collection
    return {
        "accounts": mode.accounts,
        "phase_s": mode.phase_s,
        "pgbench_scale": mode.pgbench_scale,
        "pgbench_clients": mode.pgbench_clients,
        "grpc_concurrency": p2p.concurrency,
        "client_processes": mode.client_processes,
        "server_workers": workers,
        "bulk_batch": mode.bulk_batch,
        "transfers": {
            "p2p": p2p.transfers,
            "hot": hot.transfers,
            "collection": collection.transfers,
            "bulk": bulk.transfers,
            "sql_bulk": sql_bulk.transfers,
        },
        "errors": {"p2p": p2p.errors, "hot": hot.errors, "collection": collection.errors},
        "database": "ENVOI_DATABASE_URL" if server_url else "embedded PostgreSQL 16 (pgserver)",
    }


def _add_plots(results: dict, out_dir: pathlib.Path, grpc: GrpcPhases, mode: Mode) -> None:
    try:
        results["plots"] = bench_plots.write_plots(
            out_dir,
            grpc.sweep,
            {"person to person": grpc.p2p.latencies_ms, "one association": grpc.hot.latencies_ms},
            f"envoi bench --{mode.name}" if mode.name != "full" else "envoi bench",
        )
    except ImportError:
        results["plots"] = []
        results["notes"]["plots"] = "matplotlib is not installed (pip install envoi[bench])"


# The goals of issue 15 (docs/performance.md says which are met, and why not).
GOALS = {
    "sql_transfer_tps": ">= 0.4 x pgbench_tps",
    "p2p_confirmed_tps": ">= 0.28 x pgbench_tps",
    "bulk_tps": ">= 5.5 x pgbench_tps",
    "hot_account_tps": ">= 0.9 x p2p_confirmed_tps",
    "collection_tps": ">= 0.9 x p2p_confirmed_tps",
    "tweet_to_pending_p99_ms": "<= 50",
    "tweet_to_pending_1000_p99_ms": "<= 200",
    "max_rss_mb": "<= 200",
    "large_p2p_confirmed_tps": ">= 0.8 x p2p_confirmed_tps",
}


def markdown_table(results: dict) -> str:
    lines = [
        f"envoi bench, mode {results['mode']}, {results['machine']['cpu_count']} CPUs",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
    ]
    for key in RESULT_KEYS:
        value = results[key]
        shown = "null: " + results["notes"].get(key, "") if value is None else f"{value:g}"
        lines.append(f"| {key} | {shown} | {GOALS.get(key, '')} |")
    for key, value in results["ratios"].items():
        lines.append(f"| {key} | {'null' if value is None else f'{value:g}'} | |")
    lines += ["", "| clients in flight | p2p confirmed/s | p50_ms | p99_ms |", "|---|---|---|---|"]
    for point in results["concurrency_sweep"]:
        lines.append(
            f"| {point['concurrency']} | {point['tps']:g} | {point['p50_ms']} | {point['p99_ms']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="envoi bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    run_command(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help="fewer accounts, short phases (about a minute and a half)",
    )
    size.add_argument(
        "--smoke", action="store_true", help="a few seconds, for tests: checks the path only"
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="after the other phases, person to person again on a ledger of "
        f"{bench_large.LARGE_ACCOUNTS:,} accounts and {bench_large.LARGE_PAST_TRANSFERS:,} "
        "past transfers, loaded first (about 13 more minutes on 2 cores, 11 GB of disk; "
        "needs a superuser with "
        "--database-url). With the full mode; refused with --quick; with --smoke only to "
        f"test the path, at the fraction {bench_large.SCALE_ENV} of those sizes "
        "(e.g. 0.001)",
    )
    parser.add_argument(
        "--out", required=True, help="directory for results.json, results.md and the plots"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="envoi server processes (ENVOI_WORKERS of the server; default 1)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("ENVOI_DATABASE_URL"),
        help="PostgreSQL server to create the bench databases on, and drop them "
        "(default: ENVOI_DATABASE_URL, else an embedded PostgreSQL in a temporary directory)",
    )


def run_command(args) -> None:
    if args.large and args.quick:
        # A quick run's short phases would say little of a load that takes minutes.
        sys.exit("envoi bench: --large runs with the full mode (or --smoke for tests), not --quick")
    if args.large:
        bench_large.large_sizes()  # a bad ENVOI_BENCH_LARGE_SCALE fails now, not at the end
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    results = run(mode, pathlib.Path(args.out), args.database_url, args.workers, args.large)
    print(markdown_table(results), end="")


if __name__ == "__main__":
    main()
