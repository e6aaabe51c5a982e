"""An `envoi serve` subprocess for tests: started on a free localhost port,
ready once the gRPC health service says SERVING."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from envoi.core.schema import db_roles

ENVOI = Path(sys.executable).with_name("envoi")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
READY_TIMEOUT_S = 30.0
# Long enough that the in-flight RPC of the graceful-shutdown test cannot run out of it.
SHUTDOWN_GRACE_S = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def envoi_env(**variables) -> dict:
    """The test's environment without any ENVOI_* setting of the caller, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOI_")}
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


def run_envoi(*args: str, timeout_s: float, **variables) -> subprocess.CompletedProcess:
    """`envoi ARGS` in a fresh process, with only `variables` of ENVOI_*."""
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        env=envoi_env(**variables),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def health_status(target: str):
    """The server's overall health status, or None when it does not answer."""
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


def wait_for(condition, what: str, timeout_s: float = READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


class ServerProcess:
    """One `envoi serve` subprocess listening on a free localhost port."""

    def __init__(self, env: dict, args, log_path: Path):
        self.target = f"127.0.0.1:{free_port()}"
        self.port = int(self.target.rsplit(":", 1)[1])
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(ENVOI), "serve", "--listen", self.target, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self):
        def serving():
            if self.process.poll() is not None:
                pytest.fail(f"envoi serve exited with {self.process.returncode}:\n{self.log()}")
            return health_status(self.target) == SERVING

        wait_for(serving, f"envoi serve on {self.target} to be SERVING")

    def terminate(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def kill(self):
        """Teardown: stop the process and its workers whatever state they are in."""
        if self.process.poll() is None:
            try:
                self.terminate(timeout_s=SHUTDOWN_GRACE_S + 5)
                return
            except subprocess.TimeoutExpired:
                pass
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
