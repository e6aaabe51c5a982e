"""What `envoi demo` starts beside itself: `envoi serve` (its gateway and
webhooks worker its own children) and the wallet, each stopped with SIGTERM,
then SIGKILL; and the checks that their addresses are free."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

from envoi.core import child_process

WALLET_COMMAND = "envoi-wallet"


def check_free(listen: str, what: str) -> None:
    """SystemExit naming the setting when something already listens on listen."""
    host, _, port = listen.rpartition(":")
    try:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
    except (OSError, ValueError) as error:
        raise SystemExit(f"envoi demo: {what} cannot listen on {listen}: {error}") from None


def wait_for_port(listen: str, process: subprocess.Popen, timeout_s: float) -> bool:
    """Until listen takes connections (True), or process exits or timeout_s passes."""
    host, _, port = listen.rpartition(":")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(1.0)
            if sock.connect_ex((host, int(port))) == 0:
                return True
        time.sleep(0.1)
    return False


def wallet_executable() -> str | None:
    """envoi-wallet beside this Python (a venv), or on PATH; None when not installed."""
    beside = pathlib.Path(sys.executable).parent / WALLET_COMMAND
    return str(beside) if beside.exists() else shutil.which(WALLET_COMMAND)


def wallet_environment(variables: dict[str, str]) -> dict[str, str]:
    """The environment without any database URL or core secret, plus variables."""
    env = child_process.child_environment(os.environ)
    env = {k: v for k, v in env.items() if not k.endswith("DATABASE_URL")}
    return {**env, **variables}


def start_logged(command: list[str], env: dict, log_path: pathlib.Path) -> subprocess.Popen:
    """command in a session of its own (Ctrl-C reaches the demo, which stops it),
    its output appended to log_path."""
    with open(log_path, "ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen | None) -> None:
    if process is not None:
        child_process.stop_process(process)
