"""A production-shaped envoi on one machine: etcd (3 members), PostgreSQL (3
nodes under Patroni, one synchronous standby, one asynchronous), HAProxy in
front of the leader, and N `envoi serve` processes behind gRPC round robin.
`envoi cluster` (core/ops/cluster.py) and the tests drive it; docs/deploy.md
shows the same parts one host each.

Every part listens on 127.0.0.1 only, runs from its own directory under DIR
and is stopped by stop(). PostgreSQL refuses to run as root: as root, Patroni
(and so PostgreSQL) runs as pgserver's user.
"""

import contextlib
import csv
import io
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg

from envoi.core.ops import cluster_config as config
from envoi.core.ops import cluster_processes as processes
from envoi.core.ops.cluster_config import Layout
from envoi.core.ops.harness import envoi_env, health_status

STATE_FILE = "cluster.json"
READY_TIMEOUT_S = 120.0
HTTP_TIMEOUT_S = 1.0
POLL_S = 0.2


def postgres_bin_dir() -> pathlib.Path | None:
    """Debian's newest PostgreSQL server programs (the postgresql-NN package)."""
    found = sorted(
        pathlib.Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    return found[-1].parent if found else None


def missing_programs() -> list[str]:
    """What the cluster needs and this machine lacks."""
    missing = [name for name in ("etcd", "patroni", "patronictl", "haproxy") if not _which(name)]
    if postgres_bin_dir() is None:
        missing.append("postgres (/usr/lib/postgresql/NN/bin)")
    return missing


def _which(name: str) -> str | None:
    # /usr/sbin holds haproxy, and is not on every user's PATH.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


def http_json(url: str):
    """The JSON answer of a GET, or None when nothing answers (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        with contextlib.suppress(ValueError):
            return json.load(error)
    except (OSError, ValueError):
        pass
    return None


def wait_for(what: str, ready, timeout_s: float = READY_TIMEOUT_S):
    """ready() until it returns something true; RuntimeError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = ready()
        if result:
            return result
        time.sleep(POLL_S)
    raise RuntimeError(f"{what}: not ready after {timeout_s:g} s")


class Cluster:
    def __init__(self, layout: Layout, pids: dict[str, int] | None = None):
        self.layout = layout
        self.pids = dict(pids or {})
        self.children: dict[int, subprocess.Popen] = {}
        self.user = _postgres_user()

    @classmethod
    def load(cls, directory: pathlib.Path) -> "Cluster":
        """The cluster saved in directory; FileNotFoundError if none."""
        state = json.loads((directory / STATE_FILE).read_text())
        return cls(Layout.from_json(state["layout"]), state["pids"])

    def save(self) -> None:
        state = {"layout": self.layout.__dict__, "pids": self.pids}
        config.write_json(self.layout.path(STATE_FILE), state)

    def running(self) -> list[str]:
        """The parts with a live process."""
        return [name for name, pid in self.pids.items() if processes.group_members(pid)]

    # --- start ----------------------------------------------------------------------

    def start(self) -> None:
        """Every part, in order, each waited for; on failure, what started is stopped."""
        try:
            self._prepare_directories()
            self._start_etcd()
            self._start_patroni()
            self._start_haproxy()
            self._prepare_database()
            self._start_servers()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, command: list[str], **popen) -> None:
        child = processes.spawn(name, command, self.layout.path("logs"), **popen)
        self.children[child.pid] = child
        self.pids[name] = child.pid
        self.save()

    def _prepare_directories(self) -> None:
        root = self.layout.path()
        root.mkdir(mode=0o755, parents=True, exist_ok=True)
        for name in ("logs", "haproxy", *(f"etcd{n}" for n in range(config.MEMBERS))):
            self.layout.path(name).mkdir(mode=0o700, exist_ok=True)
        for n in range(config.MEMBERS):
            node_dir = self.layout.path(self.layout.node_name(n))
            node_dir.mkdir(mode=0o700, exist_ok=True)
            if self.user:
                shutil.chown(node_dir, self.user)
        for n in range(len(self.layout.servers)):
            self.layout.path(f"server{n}").mkdir(exist_ok=True)
        self.save()

    def start_etcd(self, index: int) -> None:
        """One member (again: its data directory makes it rejoin)."""
        self._spawn(f"etcd{index}", config.etcd_command(self.layout, index))

    def etcd_healthy(self, index: int) -> bool:
        port = self.layout.etcd_client[index]
        return (http_json(f"http://127.0.0.1:{port}/health") or {}).get("health") == "true"

    def _start_etcd(self) -> None:
        for n in range(config.MEMBERS):
            self.start_etcd(n)
        for n in range(config.MEMBERS):
            wait_for(f"etcd{n}", lambda n=n: self.etcd_healthy(n))

    def start_patroni(self, index: int) -> None:
        """One node's Patroni (again: it finds its data and rejoins)."""
        node_dir = self.layout.path(self.layout.node_name(index))
        config_file = node_dir / "patroni.yml"
        if not config_file.exists():
            patroni = config.patroni_config(self.layout, index, postgres_bin_dir())
            config.write_json(config_file, patroni)
            if self.user:
                shutil.chown(config_file, self.user)
        command = [_which("patroni"), str(config_file)]
        self._spawn(f"patroni{index}", command, user=self.user, cwd=node_dir)

    def _start_patroni(self) -> None:
        config.write_json(self.layout.path("patronictl.yml"), config.patronictl_config(self.layout))
        for n in range(config.MEMBERS):
            self.start_patroni(n)
        wait_for("Patroni: a leader, a synchronous standby and a replica", self.healthy)

    def _start_haproxy(self) -> None:
        config_file = self.layout.path("haproxy", "haproxy.cfg")
        config_file.write_text(config.haproxy_config(self.layout))
        self._spawn("haproxy", [_which("haproxy"), "-db", "-f", str(config_file)])
        # HAProxy counts a server up until its checks say otherwise: wait
        # until they have, and only the leader is left.
        wait_for("HAProxy to the leader alone", lambda: self.haproxy_up() == [self.leader()])
        wait_for("HAProxy to the leader", self.writable)

    def _prepare_database(self) -> None:
        """The database, migrated once through HAProxy (under envoi's advisory
        lock: the servers that migrate on start find nothing to do), and the
        group roles allowed to log in (docs/operations.md)."""
        from envoi.core import schema
        from envoi.core.schema import db_roles

        with psycopg.connect(self.layout.database_url(dbname="postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (config.DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{config.DATABASE}"')
        owner_url = self.layout.database_url()
        schema.migrate(owner_url)
        db_roles.enable_login(owner_url)

    def server_env(self) -> dict:
        from envoi.core.schema import db_roles

        owner_url = self.layout.database_url()
        return envoi_env(
            ENVOI_DATABASE_URL=self.layout.database_url(user=db_roles.SERVER_ROLE),
            ENVOI_MIGRATION_DATABASE_URL=owner_url,
            ENVOI_CODE_KEY=self.code_key(),
            ENVOI_METRICS_LISTEN="",  # N servers on one machine: no shared port
        )

    def start_server(self, index: int) -> None:
        target = self.layout.server_targets()[index]
        command = [sys.executable, "-m", "envoi.core.cli", "serve", "--listen", target]
        command += ["--no-gateway", "--no-webhooks"]
        cwd = self.layout.path(f"server{index}")
        self._spawn(f"server{index}", command, env=self.server_env(), cwd=cwd)

    def _start_servers(self) -> None:
        for n in range(len(self.layout.servers)):
            self.start_server(n)
        for n, target in enumerate(self.layout.server_targets()):
            wait_for(f"envoi serve on {target}", lambda n=n: self.server_serving(n))

    def code_key(self) -> str:
        """The confirmation codes' key: made at the first start, kept in DIR/code_key."""
        path = self.layout.path("code_key")
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(36))
        return path.read_text().strip()

    # --- state ----------------------------------------------------------------------

    def members(self) -> list[dict]:
        """Patroni's view of the nodes (name, role, state, lag...), from the
        first node that answers; [] when none does."""
        for port in self.layout.patroni_rest:
            answer = http_json(f"http://127.0.0.1:{port}/cluster")
            if answer and "members" in answer:
                return answer["members"]
        return []

    def role_of(self, role: str) -> str | None:
        """The name of the running member with that role (leader, sync_standby)."""
        for member in self.members():
            if member.get("role") == role and member.get("state") == "running":
                return member["name"]
        return None

    def healthy(self) -> bool:
        """A leader, a synchronous standby and an asynchronous replica, all running."""
        roles = sorted(m.get("role") for m in self.members() if m.get("state") == "running")
        return roles == ["leader", "replica", "sync_standby"]

    def leader(self) -> str | None:
        return self.role_of("leader")

    def haproxy_up(self) -> list[str]:
        """The nodes HAProxy sends connections to now (its checks passed)."""
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.layout.path("haproxy", "stats.sock")))
                sock.sendall(b"show stat\n")
                answer = b"".join(iter(lambda: sock.recv(65536), b""))
            except OSError:
                return []
        rows = csv.DictReader(io.StringIO(answer.decode().removeprefix("# ")))
        return [
            row["svname"]
            for row in rows
            if row["pxname"] == "postgres_primary"
            and row["svname"] not in ("FRONTEND", "BACKEND")
            # "UP 1/2": a check failed, but not yet fall times: still sent to.
            and row["status"].startswith("UP")
        ]

    def writable(self) -> bool:
        """HAProxy leads to a node that takes writes."""
        try:
            with psycopg.connect(self.layout.database_url(dbname="postgres")) as conn:
                return not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        except psycopg.Error:
            return False

    def server_serving(self, index: int) -> bool:
        from grpc_health.v1 import health_pb2

        pid = self.pids.get(f"server{index}")
        if pid and not processes.group_members(pid):
            log = self.layout.path("logs", f"server{index}.log").read_text(errors="replace")
            raise RuntimeError(f"envoi serve {index} exited:\n{log[-3000:]}")
        target = self.layout.server_targets()[index]
        return health_status(target) == health_pb2.HealthCheckResponse.SERVING

    def patronictl(self, *args: str) -> str:
        done = subprocess.run(
            [_which("patronictl"), "-c", str(self.layout.path("patronictl.yml")), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"patronictl {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def switchover(self) -> tuple[str, str]:
        """A planned switchover to the synchronous standby; (old, new) leader,
        once the cluster is whole again."""
        old, new = wait_for("a leader and a synchronous standby", self._leader_and_sync)
        self.patronictl("switchover", "--leader", old, "--candidate", new, "--force")
        wait_for(f"{new} as the leader", lambda: self.role_of("leader") == new)
        wait_for("the cluster whole again", self.healthy)
        return old, new

    def _leader_and_sync(self):
        leader, sync = self.role_of("leader"), self.role_of("sync_standby")
        return (leader, sync) if leader and sync else None

    # --- stop -----------------------------------------------------------------------

    def stop(self) -> None:
        """Every part, the servers first and etcd last; SIGKILL for what does
        not stop in time, PostgreSQL left behind by a killed Patroni included."""
        kinds = (("server",), ("haproxy",), ("patroni",), ("etcd",))
        for prefixes in kinds:
            pgids = [pid for name, pid in self.pids.items() if name.startswith(prefixes)]
            processes.stop_groups(pgids, children=self.children)
            if prefixes == ("patroni",):
                self._stop_postgres()
        self.pids = {}
        if self.layout.path().exists():
            self.save()

    def _stop_postgres(self) -> None:
        for n in range(config.MEMBERS):
            left = processes.postgres_processes(self.data_dir(n))
            processes.signal_processes(left[:1], signal.SIGINT)  # a fast shutdown
            with contextlib.suppress(RuntimeError):
                wait_for("PostgreSQL to stop", lambda n=n: not self.postmaster(n), 30.0)
            processes.signal_processes(
                processes.postgres_processes(self.data_dir(n)), signal.SIGKILL
            )

    def data_dir(self, index: int) -> pathlib.Path:
        return self.layout.path(self.layout.node_name(index), "data")

    def postmaster(self, index: int):
        return processes.postmaster(self.data_dir(index))


def _postgres_user() -> str | None:
    """Who runs Patroni and PostgreSQL: pgserver's user when we are root."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_user_exists

    return ensure_user_exists("pgserver").pw_name
