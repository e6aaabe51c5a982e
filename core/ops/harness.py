"""What bench, torture, the replication tests and tests/ start and watch: free
localhost ports, the PostgreSQL server and its throw-away databases, `envoi
serve` subprocesses, and the resident memory of a process tree.

Light on purpose (psycopg at import; grpc and psutil when used): the pytest
plugin and tests/ import it, and it imports no tool."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envoi.core import embedded_postgres
from envoi.core.schema import db_roles

SERVER_READY_TIMEOUT_S = 60.0
SERVE_STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    """A localhost TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL ---------------------------------------------------------------------


def pg_bin(name: str) -> pathlib.Path:
    """A PostgreSQL program shipped in the pgserver wheel."""
    import pgserver

    return pathlib.Path(pgserver.__file__).parent / "pginstall" / "bin" / name


def as_user(user: str | None, command: list[str]) -> list[str]:
    """The command run as user, through runuser. Not subprocess's user=:
    that makes Python fork() instead of vfork(), and the child then runs
    gRPC's fork handlers, which crashed it (SIGSEGV) in processes with gRPC
    threads."""
    return ["runuser", "-u", user, "--", *command] if user else command


def create_database(server_url: str, prefix: str) -> str:
    """A new, empty database on the server, named prefix_<random>; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(**{**conninfo_to_dict(server_url), "dbname": name})


def drop_database(server_url: str, database_url: str) -> None:
    """Drop the database of database_url, closing its connections."""
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Databases:
    """The PostgreSQL server (embedded in a temporary directory, or the given
    one) and the databases of this run, created on entry and dropped on exit."""

    def __init__(self, server_url: str | None):
        self._given_url = server_url
        self._tmp = None
        self._handle = None
        self.server_url = ""
        self._made: list[str] = []

    def __enter__(self):
        if self._given_url:
            self.server_url = self._given_url
        else:
            self._tmp = tempfile.mkdtemp(prefix="envoi-bench-pg-")
            self.server_url, self._handle = embedded_postgres.start(
                pathlib.Path(self._tmp) / "pgdata"
            )
        return self

    @property
    def pgdata(self) -> pathlib.Path | None:
        """The embedded server's data directory; None on a given server."""
        return pathlib.Path(self._tmp) / "pgdata" if self._tmp else None

    def restart_postgres(self) -> None:
        """Stop the embedded server in immediate mode (SIGQUIT: no checkpoint,
        so it recovers from its WAL on start, as after a crash), then start it
        again as pgserver does (`envoi torture`), as pgserver's user."""
        pid_file = self.pgdata / "postmaster.pid"
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        while pid_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not stop after SIGQUIT")
            time.sleep(0.05)
        socket_dir = conninfo_to_dict(self.server_url)["host"]
        log = self.pgdata / "restart.log"
        start = [pg_bin("pg_ctl"), "-D", self.pgdata, "-w", "-l", log]
        start += ["-o", '-h ""', "-o", f"-k {socket_dir}", "start"]
        done = subprocess.run(
            as_user(self._handle.system_user, list(map(str, start))),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # pg_ctl's output is in log
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start again ({done.returncode}):\n{tail}")

    def create(self, prefix: str) -> str:
        url = create_database(self.server_url, prefix)
        self._made.append(url)
        return url

    def __exit__(self, *exc_info):
        for url in self._made:
            drop_database(self.server_url, url)
        if self._handle is not None:
            self._handle.cleanup()  # stops the server, removes pgdata
            self._handle = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


# --- envoi serve --------------------------------------------------------------------


# Metrics off unless a test asks for them: their default ports are fixed ones.
METRICS_OFF = {
    "ENVOI_METRICS_LISTEN": "",
    "ENVOI_GATEWAY_METRICS_LISTEN": "",
    "ENVOI_WEBHOOKS_METRICS_LISTEN": "",
}


def envoi_env(**variables) -> dict:
    """This process's environment without any ENVOI_* setting, plus `variables`
    (metrics off unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOI_")}
    env.update(METRICS_OFF)
    env.update(variables)
    return env


def database_env(owner_url: str) -> dict:
    """The three database settings of an `envoi serve` on owner_url's database: the
    server's and the gateway's roles, and the owner to migrate (docs/operations.md)."""
    db_roles.enable_login(owner_url)
    return {
        "ENVOI_DATABASE_URL": db_roles.role_url(owner_url, db_roles.SERVER_ROLE),
        "ENVOI_MIGRATION_DATABASE_URL": owner_url,
        "ENVOI_GATEWAY_DATABASE_URL": db_roles.role_url(owner_url, db_roles.GATEWAY_ROLE),
    }


def health_status(target: str):
    """The server's overall health status, or None when it does not answer."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    # A fresh channel per check: a reused one would back off between reconnects.
    with grpc.insecure_channel(target) as channel:
        try:
            return (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                .status
            )
        except grpc.RpcError:
            return None


class ServeProcess:
    """`envoi serve --listen TARGET ARGS` as a subprocess, its output appended to
    log_path; target: a free localhost port unless given (a restart on the same
    address). command: how to run envoi."""

    def __init__(self, env: dict, args, log_path: pathlib.Path, target=None, command=None):
        self.target = target or f"127.0.0.1:{free_port()}"
        self.port = int(self.target.rsplit(":", 1)[1])
        self.log_path = log_path
        command = command or [sys.executable, "-m", "envoi.core.cli"]
        with open(log_path, "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [*command, "serve", "--listen", self.target, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self, timeout_s: float = SERVER_READY_TIMEOUT_S) -> None:
        """Until the health service says SERVING; RuntimeError (with the log)
        if the process exits first or timeout_s passes."""
        from grpc_health.v1 import health_pb2

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"envoi serve exited with {self.process.returncode}:\n{self.log()}"
                )
            if health_status(self.target) == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.1)
        raise RuntimeError(f"envoi serve on {self.target} not SERVING after {timeout_s:g} s")

    def terminate(self, timeout_s: float = SERVE_STOP_TIMEOUT_S) -> int:
        """SIGTERM (a graceful stop), then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def stop(self, timeout_s: float = SERVE_STOP_TIMEOUT_S) -> None:
        """Stop the process and its workers whatever state they are in:
        SIGTERM, and SIGKILL for all of them if it has not exited by timeout_s."""
        if self.process.poll() is not None:
            return
        try:
            self.terminate(timeout_s)
            return
        except subprocess.TimeoutExpired:
            pass
        import psutil

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.process.kill()
        self.process.wait()
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


# --- resident memory ----------------------------------------------------------------


class RssSampler:
    """Samples the resident memory of a process and its children; keeps the largest."""

    INTERVAL_S = 0.25

    def __init__(self, pid: int):
        self.max_rss_bytes = 0
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self._pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    self.max_rss_bytes = max(self.max_rss_bytes, process.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            self._stop.wait(self.INTERVAL_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
