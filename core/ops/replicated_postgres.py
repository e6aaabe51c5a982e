"""A PostgreSQL primary with a synchronous standby, for `envoi torture
--replicated` and the replication tests; docs/reliability.md shows the same
set-up for production.

Two nodes, node_a and node_b, on two ports of 127.0.0.1. Each names the
other in `synchronous_standby_names`, so whichever is primary waits, before
it answers a COMMIT, until the standby has flushed that commit's WAL: an
acknowledged transaction is on both. Clients use a multi-host URL with
`target_session_attrs=read-write`, which finds the primary whichever it is.

`fail_over()` is the worst case for a standby: the link to it stalls (the
primary's WAL sender is stopped with SIGSTOP) while the primary goes on,
then the primary's machine dies (SIGKILL of all its processes); then it does
what an operator (or Patroni) does: promote the standby and rebuild the lost
node as the new standby (pg_basebackup). Had the primary acknowledged a
commit during the stall (asynchronous replication), that commit would be
gone; synchronous, it acknowledged none.
Until the new standby is in sync, the new primary's commits wait: no
transaction is ever acknowledged from one copy only.

The programs are Debian's (/usr/lib/postgresql/N/bin, the postgresql
package), else those in the pgserver wheel.
"""

import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import psutil
import psycopg
from psycopg.conninfo import make_conninfo

from envoi.core.ops.harness import as_user, free_port

READY_TIMEOUT_S = 60.0
NODES = ("node_a", "node_b")
SUPERUSER = "postgres"

# Both nodes, primary or standby. `FIRST 1 (...)`: the one standby there is
# must confirm each commit (sync_state 'sync'); a node never waits on itself.
SHARED_SETTINGS = f"""
listen_addresses = '127.0.0.1'
wal_level = replica
hot_standby = on
synchronous_commit = on
synchronous_standby_names = 'FIRST 1 ({", ".join(NODES)})'
"""


def bin_dir() -> pathlib.Path:
    """Debian's newest PostgreSQL, else the pgserver wheel's."""
    debian = sorted(
        pathlib.Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    if debian:
        return debian[-1].parent
    import pgserver

    return pathlib.Path(pgserver.__file__).parent / "pginstall" / "bin"


class ReplicatedPostgres:
    """The two nodes in a temporary directory; a context manager. `create()`
    makes a database and returns its multi-host URL."""

    def __init__(self):
        self.bin = bin_dir()
        self._tmp = pathlib.Path(tempfile.mkdtemp(prefix="envoi-pg-ha-"))
        self.ports = {node: free_port() for node in NODES}
        self.primary, self.standby = NODES
        # PostgreSQL refuses to run as root: run it as pgserver's user then.
        self._user = None
        if os.geteuid() == 0:
            from pgserver.utils import ensure_user_exists

            self._user = ensure_user_exists("pgserver").pw_name
            self._tmp.chmod(0o755)
            shutil.chown(self._tmp, self._user)
        self.server_url = self.url("postgres")

    def url(self, dbname: str) -> str:
        """Both nodes; libpq connects to the one that accepts writes."""
        hosts = ",".join(f"127.0.0.1:{self.ports[node]}" for node in NODES)
        return (
            f"postgresql://{SUPERUSER}@{hosts}/{dbname}"
            "?target_session_attrs=read-write&connect_timeout=2"
        )

    def node_url(self, node: str, dbname: str = "postgres") -> str:
        return make_conninfo(host="127.0.0.1", port=self.ports[node], user=SUPERUSER, dbname=dbname)

    def data_dir(self, node: str) -> pathlib.Path:
        return self._tmp / node

    # --- start and stop ---------------------------------------------------------------

    def __enter__(self):
        try:
            self._run("initdb", "-D", self.data_dir(self.primary), "-U", SUPERUSER, "-A", "trust")
            with open(self.data_dir(self.primary) / "postgresql.conf", "a") as conf:
                conf.write(SHARED_SETTINGS)
            self._configure(self.primary, standby_of=None)
            self._start(self.primary)
            self._build_standby()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        for node in NODES:
            self._kill(node)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def create(self, prefix: str) -> str:
        """A new database (on the primary, so on both); its multi-host URL."""
        import uuid

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def fail_over(self, stall_s: float = 0.5) -> None:
        """Replication stalls for stall_s, the primary's machine dies; the
        standby becomes the primary; the lost node comes back as the new
        standby, in sync."""
        lost = self.primary
        with psycopg.connect(self.node_url(lost), autocommit=True) as conn:
            senders = [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_replication")]
        for pid in senders:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).send_signal(signal.SIGSTOP)
        time.sleep(stall_s)
        self._kill(lost)
        self._run(
            "pg_ctl",
            "promote",
            "-w",
            "-t",
            str(int(READY_TIMEOUT_S)),
            "-D",
            self.data_dir(self.standby),
        )
        self.primary, self.standby = self.standby, lost
        shutil.rmtree(self.data_dir(lost))
        self._build_standby()

    def sync_standbys(self) -> list[tuple[str, str]]:
        """(application_name, sync_state) of the primary's standbys."""
        with psycopg.connect(self.node_url(self.primary), autocommit=True) as conn:
            return conn.execute(
                "SELECT application_name, sync_state FROM pg_stat_replication"
                " ORDER BY application_name"
            ).fetchall()

    def postmaster(self, node: str) -> psutil.Process | None:
        pid_file = self.data_dir(node) / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, psutil.NoSuchProcess):
            return psutil.Process(int(pid_file.read_text().split()[0]))
        return None

    def signal(self, node: str, sig: signal.Signals) -> None:
        """Send sig to every process of the node (SIGSTOP: it stalls)."""
        postmaster = self.postmaster(node)
        for process in [postmaster, *postmaster.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(sig)

    # --- the steps ------------------------------------------------------------------

    def _build_standby(self) -> None:
        """Copy the primary into the standby's directory, start it following
        the primary, and wait until the primary counts it as its sync standby."""
        node = self.standby
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.ports[self.primary]), "-U", SUPERUSER),
            *("-D", self.data_dir(node), "-X", "stream", "--checkpoint=fast"),
        )
        (self.data_dir(node) / "standby.signal").touch()
        if self._user:
            shutil.chown(self.data_dir(node) / "standby.signal", self._user)
        self._configure(node, standby_of=self.primary)
        self._start(node)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while (node, "sync") not in self.sync_standbys():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node} did not become the synchronous standby")
            time.sleep(0.1)

    def _configure(self, node: str, standby_of: str | None) -> None:
        """What differs between the nodes. pg_basebackup copies the other
        node's postgresql.auto.conf; a setting written later wins."""
        lines = [
            f"port = {self.ports[node]}",
            f"unix_socket_directories = '{self.data_dir(node)}'",
            f"cluster_name = '{node}'",
        ]
        if standby_of:
            conninfo = make_conninfo(
                host="127.0.0.1",
                port=self.ports[standby_of],
                user=SUPERUSER,
                application_name=node,
            )
            lines.append(f"primary_conninfo = '{conninfo}'")
        with open(self.data_dir(node) / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(lines) + "\n")

    def _start(self, node: str) -> None:
        log = self._tmp / f"{node}.log"
        self._run(
            "pg_ctl",
            *("-D", self.data_dir(node), "-l", log, "-w", "-t", str(int(READY_TIMEOUT_S))),
            "start",
        )

    def _kill(self, node: str) -> None:
        """SIGKILL the postmaster and every backend at once: a lost machine,
        no shutdown of any kind."""
        postmaster = self.postmaster(node)
        if postmaster is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            processes = [postmaster, *postmaster.children(recursive=True)]
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGKILL)
            psutil.wait_procs(processes, timeout=READY_TIMEOUT_S)

    def _run(self, program: str, *args) -> None:
        command = as_user(self._user, [str(self.bin / program), *map(str, args)])
        done = subprocess.run(command, cwd=self._tmp, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr[-2000:]}")
