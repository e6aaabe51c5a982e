"""envoi on a PostgreSQL primary with a synchronous standby (Debian's
PostgreSQL, else the pgserver wheel's), reached by a multi-host URL with
target_session_attrs=read-write: a payment is acknowledged only once the
standby has it, and one `envoi serve` process goes on through a fail-over
without losing an acknowledged transfer."""

import dataclasses
import signal
import uuid

import psutil
import psycopg
import pytest
from failover_client import confirmed_transfer

from envoi.client import EnvoiClient, errors
from envoi.core.auth import api_tokens
from envoi.core.ops import bench, torture
from envoi.core.ops.replicated_postgres import ReplicatedPostgres


@dataclasses.dataclass(frozen=True)
class Ledger:
    accounts: int = 4


@pytest.fixture
def replicated(tmp_path):
    """Two PostgreSQL nodes, a funded ledger on them and one envoi server:
    (nodes, database URL, server, wallet client, person ids, total)."""
    with ReplicatedPostgres() as nodes:
        url = nodes.create("envoi_replicated")
        person_ids, _ = bench.prepare_ledger(url, Ledger(), bench.BENCH_CODE_KEY)
        with psycopg.connect(url, autocommit=True) as conn:
            total_cents = conn.execute(torture.SUM_OF_PEOPLE).fetchone()[0]
            _, token = api_tokens.create_token(conn, "wallet")
        server = bench.EnvoiServer(url, bench.BENCH_CODE_KEY, 1, tmp_path / "serve.log")
        try:
            server.wait_until_serving()
            with EnvoiClient(server.target, token, timeout_s=10.0, max_attempts=1) as client:
                yield nodes, url, server, client, person_ids, total_cents
        finally:
            server.stop()


def test_the_multi_host_url_finds_the_primary_and_the_standby_is_synchronous(replicated):
    nodes, url, *_ = replicated
    assert nodes.sync_standbys() == [(nodes.standby, "sync")]
    with psycopg.connect(url) as conn:
        assert conn.info.port == nodes.ports[nodes.primary]
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    with psycopg.connect(nodes.node_url(nodes.standby)) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True


def test_a_payment_is_acknowledged_only_once_the_standby_has_it(replicated):
    nodes, url, _, client, (alice, bob, *_), _ = replicated
    request_id = f"frozen-{uuid.uuid4().hex}"
    nodes.signal(nodes.standby, signal.SIGSTOP)
    try:
        client.timeout_s = 3.0
        with pytest.raises(errors.EnvoiError) as waited:
            client.initiate_transfer(alice, bob, 150, request_id=request_id)
        assert waited.value.code.name == "DEADLINE_EXCEEDED"
        # Committed on the primary but not acknowledged: nobody sees it yet.
        with psycopg.connect(url) as conn:
            seen = conn.execute(
                "SELECT count(*) FROM transfers WHERE from_account_id = %s", (alice,)
            ).fetchone()[0]
        assert seen == 0
    finally:
        nodes.signal(nodes.standby, signal.SIGCONT)
        client.timeout_s = 10.0
    transfer = client.initiate_transfer(alice, bob, 150, request_id=request_id)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT transfer_id::text FROM transfers WHERE from_account_id = %s", (alice,)
        ).fetchall()
    assert rows == [(transfer.transfer_id,)]  # the retry got the one it made


def test_one_server_goes_on_through_a_fail_over_and_loses_no_acknowledged_transfer(replicated):
    nodes, url, server, client, person_ids, total_cents = replicated
    first_primary = nodes.primary
    run = torture.Run()
    for n in range(10):
        done = confirmed_transfer(client, person_ids[n % 4], person_ids[(n + 1) % 4], 100 + n)
        run.acknowledged.add(done.transfer_id)
    nodes.fail_over()
    assert nodes.primary != first_primary
    assert nodes.sync_standbys() == [(first_primary, "sync")]  # the lost node came back
    for n in range(10):
        done = confirmed_transfer(client, person_ids[n % 4], person_ids[(n + 2) % 4], 200 + n)
        run.acknowledged.add(done.transfer_id)
    assert server.process.poll() is None  # the same process, not a restarted one
    assert psutil.Process(server.process.pid).is_running()
    torture.check(url, total_cents, run)
    assert run.violations == []
    assert len(run.acknowledged) == 20
    with psycopg.connect(url) as conn:
        assert conn.info.port == nodes.ports[nodes.primary]


def test_a_write_that_reaches_a_standby_is_unavailable_not_internal(replicated):
    """Across a fail-over a connection can land on a node being demoted: the
    client must retry that (UNAVAILABLE), as it does a lost connection."""
    import grpc

    from envoi.core.api.rpc_errors import status_for

    nodes, *_ = replicated
    with psycopg.connect(nodes.node_url(nodes.standby)) as standby:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as refused:
            standby.execute("CREATE TABLE refused (n integer)")
    assert status_for("Test/Write", refused.value).code == grpc.StatusCode.UNAVAILABLE
