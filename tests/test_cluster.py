"""`envoi cluster`: etcd, PostgreSQL under Patroni (synchronous mode strict),
HAProxy and three `envoi serve`, all started by the command; a payment goes
through one server, Patroni switches the leader over, a payment goes through
another server, and neither is lost. Needs Debian's patroni, etcd-server and
haproxy (docs/deploy.md); skipped without them, except on CI."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import psutil
import psycopg
import pytest
from failover_client import confirmed_transfer

from envoi.client import EnvoiClient
from envoi.core.auth import api_tokens
from envoi.core.ledger.invariants import assert_ledger_invariants
from envoi.core.ops import bench, cluster_config
from envoi.core.ops.harness import envoi_env
from envoi.core.ops.patroni_cluster import Cluster, missing_programs
from envoi.core.schema import db_roles
from envoi.v1 import transfer_pb2

COMMAND_TIMEOUT_S = 240


def envoi(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        env=envoi_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"envoi {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def cluster_dir():
    missing = missing_programs()
    if missing:
        reason = f"needs {', '.join(missing)}: {cluster_config.APT_LINE}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must install them: {reason}")
        pytest.skip(reason)
    # Not tmp_path: as root, PostgreSQL runs as another user, who must reach it.
    directory = tempfile.mkdtemp(prefix="envoi-cluster-")
    os.chmod(directory, 0o755)
    yield directory
    try:
        Cluster.load(pathlib.Path(directory)).stop()  # after a failure
    except FileNotFoundError:
        pass
    shutil.rmtree(directory, ignore_errors=True)


def tokens(cluster: Cluster) -> tuple[str, str]:
    """An admin and a wallet token, made as `envoi token create` does."""
    with psycopg.connect(cluster.layout.database_url(user=db_roles.SERVER_ROLE)) as conn:
        return tuple(api_tokens.create_token(conn, role)[1] for role in ("admin", "wallet"))


def every_process(cluster: Cluster) -> list[psutil.Process]:
    """The parts' processes and every PostgreSQL process of the nodes."""
    from envoi.core.ops import cluster_processes

    found = [p for pgid in cluster.pids.values() for p in cluster_processes.group_members(pgid)]
    for n in range(cluster_config.MEMBERS):
        found += cluster_processes.postgres_processes(cluster.data_dir(n))
    return found


def test_payments_go_on_through_a_switchover_and_down_stops_everything(cluster_dir):
    printed = envoi("cluster", "up", "--dir", cluster_dir)
    cluster = Cluster.load(pathlib.Path(cluster_dir))
    targets = cluster.layout.server_targets()
    assert len(targets) == 3 and all(target in printed for target in targets)
    assert f"export ENVOI_TARGET=ipv4:{','.join(targets)}" in printed
    assert cluster.healthy()
    admin_token, wallet_token = tokens(cluster)

    # One target of the three servers: the client holds a connection to each.
    with (
        EnvoiClient("ipv4:" + ",".join(targets), admin_token) as admin,
        EnvoiClient("ipv4:" + ",".join(targets), wallet_token) as wallet,
    ):
        alice = wallet.open_account("PERSON", "Alice", bench.CODE).account_id
        bob = wallet.open_account("PERSON", "Bob", bench.CODE).account_id
        admin.credit_account(alice, 5_000)
        for _ in range(6):
            wallet.get_balance(alice)
        ports = {c.raddr.port for c in psutil.Process().net_connections("tcp") if c.raddr}
        assert set(cluster.layout.servers) <= ports

    with EnvoiClient(targets[0], wallet_token) as first_server:
        first = confirmed_transfer(first_server, alice, bob, 1_050)
    old_leader, new_leader = cluster.switchover()
    assert old_leader != new_leader == cluster.leader()
    with EnvoiClient(targets[1], wallet_token) as second_server:
        second = confirmed_transfer(second_server, alice, bob, 250)
        assert second_server.get_transfer(first.transfer_id).state == (
            transfer_pb2.TRANSFER_STATE_COMPLETED
        )
        assert second.state == transfer_pb2.TRANSFER_STATE_COMPLETED
        assert second_server.get_balance(alice).balance.amount_cents == 5_000 - 1_050 - 250

    # Both are on the new leader's own copy, and the ledger holds together.
    new_index = cluster.layout.node_index(new_leader)
    with psycopg.connect(cluster.layout.node_url(new_index, "envoi")) as conn:
        found = conn.execute(
            "SELECT count(*) FROM transfers WHERE transfer_id = ANY(%s) AND state = 'COMPLETED'",
            ([first.transfer_id, second.transfer_id],),
        ).fetchone()[0]
        assert found == 2
        assert_ledger_invariants(conn)

    status = envoi("cluster", "status", "--dir", cluster_dir)
    assert f"| {new_leader} " in status and "Leader" in status
    assert f"| haproxy | 127.0.0.1:{cluster.layout.haproxy} | running, to {new_leader} |" in status
    running = every_process(cluster)
    assert len(running) > 3 * 2 + 3  # etcd, Patroni and PostgreSQL, HAProxy, servers
    envoi("cluster", "down", "--dir", cluster_dir)
    gone, alive = psutil.wait_procs(running, timeout=5)
    assert alive == [] and every_process(cluster) == []
