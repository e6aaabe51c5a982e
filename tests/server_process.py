"""An `envoi serve` subprocess for tests: started on a free localhost port,
ready once the gRPC health service says SERVING."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from envoi.core.ops.harness import (  # noqa: F401 (the tests import them from here)
    ServeProcess,
    database_env,
    envoi_env,
    free_port,
    health_status,
)

ENVOI = Path(sys.executable).with_name("envoi")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
READY_TIMEOUT_S = 30.0
# Long enough that the in-flight RPC of the graceful-shutdown test cannot run out of it.
SHUTDOWN_GRACE_S = 15


def run_envoi(*args: str, timeout_s: float, **variables) -> subprocess.CompletedProcess:
    """`envoi ARGS` in a fresh process, with only `variables` of ENVOI_*."""
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        env=envoi_env(**variables),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def wait_for(condition, what: str, timeout_s: float = READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


class ServerProcess(ServeProcess):
    """One `envoi serve` subprocess (the `envoi` script) listening on a free localhost port."""

    def __init__(self, env: dict, args, log_path: Path):
        super().__init__(env, args, log_path, command=[str(ENVOI)])

    def wait_until_serving(self):
        try:
            super().wait_until_serving(READY_TIMEOUT_S)
        except RuntimeError as not_serving:
            pytest.fail(str(not_serving))

    def kill(self):
        """Teardown: stop the process and its workers whatever state they are in."""
        self.stop(SHUTDOWN_GRACE_S + 5)


def serve_env(owner_url: str, data_dir: Path, **variables) -> dict:
    """The environment of an `envoi serve` on owner_url's database, with its
    webhooks worker's role, a small pool, and `variables`."""
    from envoi.core.schema import db_roles
    from envoi.core.testing import TEST_CODE_KEY

    return envoi_env(
        **database_env(owner_url),
        ENVOI_WEBHOOKS_DATABASE_URL=db_roles.role_url(owner_url, db_roles.WEBHOOKS_ROLE),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_DATA_DIR=str(data_dir),
        ENVOI_DB_POOL_SIZE="2",
        **variables,
    )
