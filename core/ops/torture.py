"""`envoi torture`: a bank workload in the Jepsen style, under faults, and a
checker that proves no money was lost, created or moved twice.

It starts what it tortures: an embedded PostgreSQL (or fresh databases on
ENVOI_DATABASE_URL's server, which it then cannot restart) and two `envoi
serve` processes on one database; with --replicated, a PostgreSQL primary
and its synchronous standby instead (core/replicated_postgres), which envoi
reaches by a multi-host URL. Person accounts and one association hold a
known total. Client threads make confirmed transfers (InitiateTransfer then
ConfirmTransfer, each retried with the same request_id after any error until
it is answered), now and then a donation to the association that it then
refunds in part or in full (RefundTransfer, with its code), and read
balances, while a nemesis, in turn, SIGKILLs a server (and starts it again),
SIGTERMs one (a graceful restart) and restarts PostgreSQL in immediate mode
(crash recovery) or, replicated, kills the primary and promotes the standby
(a fail-over). Then the checker:

- every snapshot read during the run, and the final ledger, sum to the total;
- no available balance read below zero; the ledger's invariants hold (floors,
  postings sum to zero, balances are their postings: core/ledger_invariants);
- every acknowledged transfer is COMPLETED, in the ledger once, with its two
  postings; nothing was posted twice (the invariant "each transfer's postings
  match its state"); every acknowledged refund gives back its donation, once;
- service came back after each fault (how long it took is reported).

It writes OUT/summary.json and prints a table; it exits 1 on any violation.
"""

import argparse
import dataclasses
import json
import pathlib
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict

from envoi.core.ledger.invariants import CHECKS
from envoi.core.ops import bench
from envoi.core.ops.harness import Databases
from envoi.core.ops.replicated_postgres import ReplicatedPostgres

RETRY_PAUSE_S = 0.05
RECOVERY_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    accounts: int
    clients: int
    duration_s: float
    fault_every_s: float
    # The last stretch: no new fault, no new transfer; what is under way ends.
    settle_s: float


MODES = {
    "full": Mode("full", 200, 16, 180.0, 8.0, 8.0),
    "quick": Mode("quick", 50, 16, 36.0, 4.0, 6.0),
    "smoke": Mode("smoke", 20, 4, 14.0, 2.5, 3.0),  # for the test: the path, not the proof
}
# The nemesis goes round these. "database" is restart_postgres (only when the
# embedded PostgreSQL is ours) or, replicated, fail_over; with --patroni,
# patroni_faults.FAULTS instead.
FAULTS = ("kill", "database", "term")
SERVER_FAULTS = ("kill", "term")
# --patroni: each fault heals before the next (a fail-over takes the leader
# key's ttl), so fewer, further apart; full: at least 10 of each kind.
PATRONI_MODES = {
    "full": Mode("full", 200, 16, 1500.0, 3.0, 8.0),
    "quick": Mode("quick", 50, 8, 150.0, 2.0, 6.0),
    "smoke": Mode("smoke", 20, 4, 60.0, 1.0, 3.0),
}


class Run:
    """What the workload saw: shared by the client, reader and nemesis threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged: set[str] = set()
        self.refunds: dict[str, str] = {}  # acknowledged refund -> the donation it refunds
        self.violations: list[str] = []
        self.errors_seen: dict[str, int] = {}
        self.snapshot_reads = 0
        self.balance_reads = 0
        self.faults: list[dict] = []

    def violation(self, what: str) -> None:
        with self.lock:
            self.violations.append(what)

    def error(self, error) -> None:
        """Count an error by its reason (by its gRPC code when it has none)."""
        name = error if isinstance(error, str) else error.reason
        if name == "UNKNOWN":
            name = f"UNKNOWN ({error.code.name}: {error.message[:80]})"
        with self.lock:
            self.errors_seen[name] = self.errors_seen.get(name, 0) + 1


def _until_answered(call, run: Run, stop_at: float):
    """call() until it answers or is refused for a reason retrying cannot
    change; None if the run ended first. The same request each time."""
    from envoi.client import errors

    while time.monotonic() < stop_at:
        try:
            return call()
        except (errors.Unavailable, errors.Internal) as error:
            run.error(error)
        except errors.EnvoiError as error:
            if error.code.name != "DEADLINE_EXCEEDED":
                raise  # a refusal (funds, not pending...): an answer too
            run.error("DEADLINE_EXCEEDED")
        time.sleep(RETRY_PAUSE_S)
    return None


def _transfer(clients, rng, sender, recipient, run: Run, stop_at: float):
    """One confirmed transfer, each call retried as itself (same request_id,
    same request) on whichever server; the transfer once confirmed, or None."""
    key, amount_cents = uuid.uuid4().hex, rng.randint(1, 500)
    transfer = _until_answered(
        lambda: rng.choice(clients).initiate_transfer(
            sender, recipient, amount_cents, request_id=f"torture-{key}-i"
        ),
        run,
        stop_at,
    )
    if transfer is None:
        return None
    return _until_answered(
        lambda: rng.choice(clients).confirm_transfer(
            transfer.transfer_id, bench.CODE, request_id=f"torture-{key}-c"
        ),
        run,
        stop_at,
    )


def _refunded_donation(clients, rng, payer, association_id, run: Run, stop_at: float):
    """A confirmed donation to the association, then a refund of part or all of
    it with the association's code, retried as itself; (donation, refund), each
    None if the run ended before it was answered."""
    donation = _transfer(clients, rng, payer, association_id, run, stop_at)
    if donation is None:
        return None, None
    key, cents = uuid.uuid4().hex, rng.randint(1, donation.amount.amount_cents)
    refund = _until_answered(
        lambda: rng.choice(clients).refund_transfer(
            donation.transfer_id, cents, code=bench.CODE, request_id=f"torture-{key}-r"
        ),
        run,
        stop_at,
    )
    return donation, refund


def _one_round(clients, rng, person_ids, association_id, run: Run, stop_at: float) -> None:
    """A confirmed transfer between two people, or one time in eight a donation
    refunded; what was acknowledged is recorded."""
    if rng.random() < 1 / 8:
        done, refund = _refunded_donation(
            clients, rng, rng.choice(person_ids), association_id, run, stop_at
        )
    else:
        done, refund = _transfer(clients, rng, *rng.sample(person_ids, 2), run, stop_at), None
    with run.lock:
        if done is not None:
            run.acknowledged.add(done.transfer_id)
        if refund is not None:
            run.refunds[refund.transfer_id] = done.transfer_id


def _client(targets, token, accounts, run: Run, stop_at: float, settle_s: float, seed: int):
    from envoi.client import EnvoiClient, errors

    person_ids, association_id = accounts
    rng = random.Random(seed)
    clients = [EnvoiClient(t, token, timeout_s=5.0, max_attempts=1) for t in targets]
    while time.monotonic() < stop_at - settle_s:
        try:
            _one_round(clients, rng, person_ids, association_id, run, stop_at)
        except errors.EnvoiError as refusal:
            run.error(refusal)
        try:  # a read through the service: what a wallet would show
            balance = rng.choice(clients).get_balance(rng.choice(person_ids))
            with run.lock:
                run.balance_reads += 1
            if balance.available.amount_cents < 0:
                run.violation(f"available balance read below zero: {balance}")
        except errors.EnvoiError as error:
            run.error(error)
    for client in clients:
        client.close()


SUM_OF_PEOPLE = (
    "SELECT sum(account_balance_cents(accounts))::bigint FROM accounts"
    " WHERE kind IN ('PERSON', 'ASSOCIATION')"
)


def _snapshot_reader(database_url: str, total_cents: int, run: Run, stop_at: float) -> None:
    """Sums every person's and the association's balance in one snapshot, again
    and again: transfers and refunds only move money between them, so the sum
    never changes."""
    while time.monotonic() < stop_at:
        try:
            with psycopg.connect(database_url, connect_timeout=2) as conn:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                seen = conn.execute(SUM_OF_PEOPLE).fetchone()[0]
            with run.lock:
                run.snapshot_reads += 1
            if seen != total_cents:
                run.violation(f"a snapshot summed to {seen}, not {total_cents}")
        except psycopg.OperationalError:
            pass  # PostgreSQL is restarting
        time.sleep(0.2)


def _serving(target: str, token: str, probe_account: str) -> bool:
    """A read that goes to the database answers."""
    from envoi.client import EnvoiClient, errors

    with EnvoiClient(target, token, timeout_s=2.0, max_attempts=1) as client:
        try:
            client.get_balance(probe_account)
            return True
        except errors.EnvoiError:
            return False


def _recover(targets, token, probe_account) -> float:
    """Seconds until every server answers a read again."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_TIMEOUT_S:
        if all(_serving(t, token, probe_account) for t in targets):
            return time.monotonic() - started
        time.sleep(0.1)
    return float("inf")


class Nemesis(threading.Thread):
    def __init__(self, servers, start_server, faults, token, probe, run, mode, stop_at):
        """faults: (the names in turn, {name: function} of those not a server's)."""
        super().__init__(name="nemesis", daemon=True)
        self.servers, self.start_server = servers, start_server
        self.faults, self.actions = faults
        self.token, self.probe, self.run_log, self.mode = token, probe, run, mode
        self.stop_at = stop_at - mode.settle_s  # the last fault heals before the end

    def run(self):
        rng = random.Random(7)
        n = 0
        while time.monotonic() + self.mode.fault_every_s < self.stop_at:
            time.sleep(self.mode.fault_every_s)
            kind = self.faults[n % len(self.faults)]
            n += 1
            index = rng.randrange(len(self.servers))
            started = time.monotonic()
            try:
                self._inject(kind, index)
            except Exception as exc:  # the fault itself failed: say so, go on
                self.run_log.violation(f"the nemesis could not {kind}: {exc!r}")
            _recover([server.target for server in self.servers], self.token, self.probe)
            with self.run_log.lock:
                self.run_log.faults.append(
                    {
                        "kind": kind,
                        "server": index if kind in SERVER_FAULTS else None,
                        # From the fault until every server answers a read again.
                        "recovery_s": round(time.monotonic() - started, 3),
                    }
                )

    def _inject(self, kind: str, index: int) -> None:
        server = self.servers[index]
        if kind == "kill":
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            server.stop()  # closes its log
            self.servers[index] = self.start_server(server.target)
        elif kind == "term":
            server.stop()  # SIGTERM: a graceful stop
            self.servers[index] = self.start_server(server.target)
        else:
            self.actions[kind]()


def check(database_url: str, total_cents: int, run: Run) -> None:
    """After the run: the final ledger against the run's acknowledgements."""
    try:
        conn = psycopg.connect(database_url)
    except psycopg.OperationalError as exc:
        run.violation(f"the final ledger cannot be read: {exc}")
        return
    with conn:
        final = conn.execute(SUM_OF_PEOPLE).fetchone()[0]
        if final != total_cents:
            run.violation(f"the final balances sum to {final}, not {total_cents}")
        for name, sql in CHECKS.items():
            if rows := conn.execute(sql).fetchall():
                run.violation(f"ledger invariant broken: {name}: {rows[:5]}")
        acknowledged = sorted(run.acknowledged)
        rows = conn.execute(
            "SELECT t.transfer_id::text, t.state, count(p.*) FROM transfers t"
            " LEFT JOIN postings p USING (transfer_id)"
            " WHERE t.transfer_id = ANY(%s::uuid[]) GROUP BY t.transfer_id, t.state",
            (acknowledged,),
        ).fetchall()
        found = {transfer_id: (state, postings) for transfer_id, state, postings in rows}
        for transfer_id in acknowledged:
            if found.get(transfer_id) != ("COMPLETED", 2):
                run.violation(f"acknowledged transfer {transfer_id} is {found.get(transfer_id)}")
        _check_refunds(conn, run)


def _check_refunds(conn, run: Run) -> None:
    """Every acknowledged refund is in the ledger once, completed, with its two
    postings, refunding the donation it answered for."""
    rows = conn.execute(
        "SELECT t.transfer_id::text, t.state, t.refund_of::text, count(p.*) FROM transfers t"
        " LEFT JOIN postings p USING (transfer_id)"
        " WHERE t.transfer_id = ANY(%s::uuid[]) GROUP BY t.transfer_id",
        (sorted(run.refunds),),
    ).fetchall()
    found = {refund_id: (state, of, postings) for refund_id, state, of, postings in rows}
    for refund_id, donation_id in run.refunds.items():
        if found.get(refund_id) != ("COMPLETED", donation_id, 2):
            run.violation(f"acknowledged refund {refund_id} is {found.get(refund_id)}")


def torture(
    mode: Mode, out_dir: pathlib.Path, server_url: str | None, database: str = "one"
) -> dict:
    """database: "one" (a PostgreSQL), "replicated" (a primary and its
    synchronous standby) or "patroni" (the cluster of `envoi cluster`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run = Run()
    with (
        tempfile.TemporaryDirectory(prefix="envoi-torture-") as tmp,
        _databases(database, server_url, out_dir) as dbs,
    ):
        workdir = pathlib.Path(tmp)
        url = dbs.create("envoi_torture")
        accounts = bench.prepare_ledger(url, mode, bench.BENCH_CODE_KEY)
        with psycopg.connect(url, autocommit=True) as conn:
            total_cents = conn.execute(SUM_OF_PEOPLE).fetchone()[0]
            from envoi.core.auth import api_tokens

            _, token = api_tokens.create_token(conn, "wallet")

        def start_server(target=None):
            server = bench.EnvoiServer(
                url, bench.BENCH_CODE_KEY, 1, workdir / "serve.log", target=target
            )
            server.wait_until_serving()
            return server

        servers = [start_server(), start_server()]
        started = time.monotonic()
        stop_at = started + mode.duration_s
        threads = _workload(servers, url, token, accounts, total_cents, run, mode, stop_at)
        faults = _faults(dbs, database, url, run)
        nemesis = Nemesis(servers, start_server, faults, token, accounts[0][0], run, mode, stop_at)
        for thread in [*threads, nemesis]:
            thread.start()
        for thread in [*threads, nemesis]:
            thread.join()
        for server in servers:
            server.stop()
        check(url, total_cents, run)
    summary = _summary(mode, database, time.monotonic() - started, total_cents, run)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _databases(database: str, server_url: str | None, out_dir: pathlib.Path):
    if database == "patroni":
        from envoi.core.ops.patroni_faults import PatroniDatabases

        return PatroniDatabases(logs_to=out_dir / "cluster-logs")
    return ReplicatedPostgres() if database == "replicated" else Databases(server_url)


def _faults(dbs, database: str, url: str, run: Run) -> tuple[list[str], dict]:
    """The nemesis's faults in turn, and the function of each that is not a
    server's: restart_postgres (only when the embedded PostgreSQL is ours),
    fail_over (replicated), or Patroni's (patroni_faults)."""
    if database == "patroni":
        from envoi.core.ops import patroni_faults

        def acknowledged():
            with run.lock:
                return set(run.acknowledged)

        dbname = conninfo_to_dict(url)["dbname"]
        faults = patroni_faults.Faults(dbs.cluster, dbname, acknowledged, run.violation)
        return list(patroni_faults.FAULTS), faults.actions()
    if database == "replicated":
        name, action = "fail_over", dbs.fail_over
    elif dbs.pgdata:
        name, action = "restart_postgres", dbs.restart_postgres
    else:
        return list(SERVER_FAULTS), {}
    return [name if kind == "database" else kind for kind in FAULTS], {name: action}


def _workload(servers, url, token, accounts, total_cents, run: Run, mode: Mode, stop_at):
    """The client threads and the snapshot reader, not started."""
    targets = [server.target for server in servers]
    threads = [
        threading.Thread(
            target=_client,
            args=(targets, token, accounts, run, stop_at, mode.settle_s, seed),
        )
        for seed in range(mode.clients)
    ]
    threads.append(threading.Thread(target=_snapshot_reader, args=(url, total_cents, run, stop_at)))
    return threads


DATABASES = {
    "one": "one PostgreSQL",
    "replicated": "primary and synchronous standby",
    "patroni": "Patroni: 3 nodes, synchronous mode strict, HAProxy, 3 etcd",
}
# The faults after which another node leads.
FAIL_OVERS = ("fail_over", "lose_host", "pause_leader", "switchover")


def _by_kind(faults: list[dict]) -> dict:
    """Each kind of fault: how many, and its slowest and median recovery."""
    kinds: dict[str, list[float]] = {}
    for fault in faults:
        kinds.setdefault(fault["kind"], []).append(fault["recovery_s"])
    return {
        kind: {
            "count": len(times),
            "max_s": max(times),
            "median_s": round(statistics.median(times), 3),
        }
        for kind, times in kinds.items()
    }


def _summary(mode: Mode, database: str, duration_s: float, total_cents: int, run: Run) -> dict:
    recoveries = [fault["recovery_s"] for fault in run.faults]
    return {
        "mode": mode.name,
        "database": DATABASES[database],
        "duration_s": round(duration_s, 1),
        "accounts": mode.accounts,
        "clients": mode.clients,
        "total_cents": total_cents,
        "acknowledged_transfers": len(run.acknowledged),
        "acknowledged_refunds": len(run.refunds),
        "balance_reads": run.balance_reads,
        "snapshot_reads": run.snapshot_reads,
        "faults_injected": len(run.faults),
        "faults": run.faults,
        "max_recovery_s": max(recoveries) if recoveries else None,
        "errors_seen": run.errors_seen,
        "violations": len(run.violations),
        "violation_details": run.violations[:50],
        "postgres_restarted": any(f["kind"] == "restart_postgres" for f in run.faults),
        "fail_overs": sum(f["kind"] in FAIL_OVERS for f in run.faults),
        "recovery_by_kind": _by_kind(run.faults),
    }


def table(summary: dict) -> str:
    rows = [
        ("acknowledged_transfers", summary["acknowledged_transfers"]),
        ("acknowledged_refunds", summary["acknowledged_refunds"]),
        ("faults_injected", summary["faults_injected"]),
        ("postgres_restarted", summary["postgres_restarted"]),
        ("fail_overs", summary["fail_overs"]),
        ("max_recovery_s", summary["max_recovery_s"]),
        ("balance_reads", summary["balance_reads"]),
        ("snapshot_reads", summary["snapshot_reads"]),
        ("violations", summary["violations"]),
    ]
    lines = [
        f"envoi torture, mode {summary['mode']}, {summary['database']}",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "| fault | server | recovery_s |", "|---|---|---|"]
    lines += [
        f"| {f['kind']} | {'' if f['server'] is None else f['server']} | {f['recovery_s']} |"
        for f in summary["faults"]
    ]
    lines += ["", "| kind | count | median recovery_s | max recovery_s |", "|---|---|---|---|"]
    lines += [
        f"| {kind} | {k['count']} | {k['median_s']} | {k['max_s']} |"
        for kind, k in summary["recovery_by_kind"].items()
    ]
    lines += [f"- {v}" for v in summary["violation_details"]]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="about 40 s, 3 min with --patroni (CI runs this)"
    )
    size.add_argument("--smoke", action="store_true", help="a few seconds, for tests only")
    parser.add_argument("--out", required=True, help="directory for summary.json")
    parser.add_argument(
        "--replicated",
        action="store_true",
        help="on a PostgreSQL primary with a synchronous standby, which the nemesis fails over"
        " (killing the primary, promoting the standby) instead of restarting PostgreSQL",
    )
    parser.add_argument(
        "--patroni",
        action="store_true",
        help="on the cluster of `envoi cluster` (etcd, 3 PostgreSQL nodes under Patroni, "
        "HAProxy), whose leader the nemesis kills, loses, switches over and pauses, and whose "
        "etcd members it kills (docs/deploy.md; Debian's patroni, etcd-server, haproxy)",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to make the database on (default: ENVOI_DATABASE_URL, else an"
        " embedded PostgreSQL, which is the only one the nemesis can restart)",
    )


def run_command(args) -> None:
    import os

    modes = PATRONI_MODES if args.patroni else MODES
    mode = modes["quick" if args.quick else "smoke" if args.smoke else "full"]
    server_url = args.database_url or os.environ.get("ENVOI_DATABASE_URL") or None
    if args.replicated and args.patroni:
        sys.exit("envoi torture: --replicated or --patroni, not both")
    database = "replicated" if args.replicated else "patroni" if args.patroni else "one"
    if database != "one" and server_url:
        sys.exit(f"envoi torture: --{database} starts its own PostgreSQL nodes; no URL")
    summary = torture(mode, pathlib.Path(args.out), server_url, database)
    print(table(summary))
    if summary["violations"]:
        sys.exit(1)
