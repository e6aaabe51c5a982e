"""`envoi torture --patroni`: the cluster of `envoi cluster` (etcd, PostgreSQL
under Patroni, HAProxy) under the workload, and the nemesis's faults on it.

Each fault injects, then waits until the cluster is whole again (a leader,
a synchronous standby, a replica, all running, and HAProxy sending to the
leader alone), bringing back what a real host would bring back by itself
(a lost host's Patroni, a killed etcd member). Then it checks that every
transfer acknowledged so far is COMPLETED on the leader's own copy (read
from the node, not through HAProxy): a fail-over that lost one is a
violation.
"""

import contextlib
import os
import pathlib
import random
import shutil
import signal
import tempfile
import time
import uuid

import psycopg

from envoi.core.ops import cluster_config as config
from envoi.core.ops import cluster_processes as processes
from envoi.core.ops.patroni_cluster import Cluster, missing_programs, wait_for

HEAL_TIMEOUT_S = 120.0
# The order the nemesis goes round (with the servers' kill and term).
FAULTS = (
    "kill_postgres",
    "kill",
    "lose_host",
    "switchover",
    "term",
    "pause_leader",
    "kill_etcd",
)
LEADER_CHANGES = ("lose_host", "switchover", "pause_leader")


class PatroniDatabases:
    """The cluster, without envoi servers, in a directory of its own (as root,
    PostgreSQL's user must reach it); create() makes a database and returns
    its URL through HAProxy. A context manager, as harness.Databases; on
    exit it copies the parts' logs into logs_to, if given."""

    def __init__(self, logs_to: pathlib.Path | None = None):
        self.logs_to = logs_to
        missing = missing_programs()
        if missing:
            raise RuntimeError(f"missing {', '.join(missing)}: {config.APT_LINE}")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="envoi-cluster-torture-"))
        os.chmod(self.dir, 0o755)
        self.cluster = Cluster(config.Layout.pick(self.dir, 0, None))
        self.server_url = self.cluster.layout.database_url(dbname="postgres")

    def __enter__(self):
        self.cluster.start()
        return self

    def __exit__(self, *exc_info):
        self.cluster.stop()
        if self.logs_to:
            shutil.copytree(self.cluster.layout.path("logs"), self.logs_to, dirs_exist_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.cluster.layout.database_url(dbname=name)


class Faults:
    """The nemesis's database faults, by name; acknowledged() gives the
    transfer ids acknowledged so far, violation(text) records one."""

    def __init__(self, cluster: Cluster, dbname: str, acknowledged, violation):
        self.cluster = cluster
        self.dbname = dbname
        self.acknowledged = acknowledged
        self.violation = violation
        self.rng = random.Random(11)

    def actions(self) -> dict:
        return {name: getattr(self, name) for name in FAULTS if name not in ("kill", "term")}

    def _leader_index(self) -> int:
        leader = wait_for("a leader", self.cluster.leader, HEAL_TIMEOUT_S)
        return self.cluster.layout.node_index(leader)

    def kill_postgres(self) -> None:
        """SIGKILL the leader's PostgreSQL (every process of it); Patroni
        starts it again (crash recovery), or fails over."""
        index = self._leader_index()
        processes.signal_processes(
            processes.postgres_processes(self.cluster.data_dir(index)), signal.SIGKILL
        )
        self._heal()

    def lose_host(self) -> None:
        """SIGKILL the leader's Patroni and PostgreSQL at once: its host is
        lost. Another node takes over once the leader key expires; then the
        host comes back (its Patroni, which rejoins as a standby)."""
        index = self._leader_index()
        old = self.cluster.layout.node_name(index)
        processes.signal_group(self.cluster.pids[f"patroni{index}"], signal.SIGKILL)
        processes.signal_processes(
            processes.postgres_processes(self.cluster.data_dir(index)), signal.SIGKILL
        )
        self._wait_new_leader(old)
        processes.reap(self.cluster.children)
        self.cluster.start_patroni(index)
        self._heal()

    def switchover(self) -> None:
        """A planned switchover (patronictl) to the synchronous standby."""
        self.cluster.switchover()
        self._heal()

    def pause_leader(self) -> None:
        """SIGSTOP the leader's Patroni and PostgreSQL until another node
        leads, then SIGCONT: the old leader wakes up still a primary, and
        must not take a write (its commits wait for a standby that is now
        the leader; HAProxy no longer sends to it)."""
        index = self._leader_index()
        old = self.cluster.layout.node_name(index)
        paused = [*self._patroni_processes(index), *self._postgres(index)]
        processes.signal_processes(paused, signal.SIGSTOP)
        try:
            self._wait_new_leader(old)
        finally:
            processes.signal_processes(paused, signal.SIGCONT)
        self._heal()

    def kill_etcd(self) -> None:
        """SIGKILL one etcd member (two keep the quorum), then start it again."""
        index = self.rng.randrange(config.MEMBERS)
        processes.signal_group(self.cluster.pids[f"etcd{index}"], signal.SIGKILL)
        time.sleep(1.0)  # a member down for a while, not a restart
        processes.reap(self.cluster.children)
        self.cluster.start_etcd(index)
        wait_for(f"etcd{index} back", lambda: self.cluster.etcd_healthy(index), HEAL_TIMEOUT_S)
        self._heal()

    def _patroni_processes(self, index: int):
        return processes.group_members(self.cluster.pids[f"patroni{index}"])

    def _postgres(self, index: int):
        return processes.postgres_processes(self.cluster.data_dir(index))

    def _wait_new_leader(self, old: str) -> None:
        wait_for(
            f"a leader other than {old}",
            lambda: self.cluster.leader() not in (None, old),
            HEAL_TIMEOUT_S,
        )

    def _heal(self) -> None:
        """Until the cluster is whole and HAProxy leads to the leader alone;
        then no acknowledged transfer may be missing on the leader."""
        wait_for("the cluster whole again", self.cluster.healthy, HEAL_TIMEOUT_S)
        wait_for(
            "HAProxy to the leader alone",
            lambda: self.cluster.haproxy_up() == [self.cluster.leader()],
            HEAL_TIMEOUT_S,
        )
        self.check_leader()

    def check_leader(self) -> None:
        """Every transfer acknowledged so far is COMPLETED on the leader's node
        (asked again while it is still starting)."""
        acknowledged = sorted(self.acknowledged())
        leader, completed = wait_for(
            "the leader's own copy", lambda: self._completed_on_leader(acknowledged), HEAL_TIMEOUT_S
        )
        if completed != len(acknowledged):
            self.violation(
                f"{len(acknowledged) - completed} acknowledged transfer(s) not COMPLETED"
                f" on the leader {leader}"
            )

    def _completed_on_leader(self, transfer_ids: list[str]) -> tuple[str, int] | None:
        leader = self.cluster.leader()
        if leader is None:
            return None
        url = self.cluster.layout.node_url(self.cluster.layout.node_index(leader), self.dbname)
        try:
            with contextlib.closing(psycopg.connect(url)) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return None  # no longer the leader
                completed = conn.execute(
                    "SELECT count(*) FROM transfers WHERE transfer_id = ANY(%s::uuid[])"
                    " AND state = 'COMPLETED'",
                    (transfer_ids,),
                ).fetchone()[0]
        except psycopg.OperationalError:
            return None
        return leader, completed
