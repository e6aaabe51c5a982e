"""A child process of `envoi serve` (the channel gateway, the webhooks worker):
started in a session of its own (a terminal's Ctrl-C reaches serve, which
stops it), watched (if it exits on its own, serve stops too, non-zero, so that
a supervisor restarts them together) and stopped with SIGTERM, then SIGKILL."""

import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger("envoi.child_process")

STOP_TIMEOUT_S = 30.0
# The core's secrets: never in a child's environment.
CORE_ONLY_VARIABLES = ("ENVOI_DATABASE_URL", "ENVOI_MIGRATION_DATABASE_URL", "ENVOI_CODE_KEY")
# The server workers' metrics directory: a child's metrics are its own.
WORKERS_ONLY_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR",)


def child_environment(env) -> dict:
    hidden = CORE_ONLY_VARIABLES + WORKERS_ONLY_VARIABLES
    return {k: v for k, v in env.items() if k not in hidden}


def start(name: str, args: list[str], env: dict):
    """Run `envoi ARGS` as serve's child; return its stop function, which raises
    SystemExit when the child had exited on its own."""
    child = subprocess.Popen(
        [sys.executable, "-m", "envoi.core.cli", *args], env=env, start_new_session=True
    )
    log.info("%s: process %d", name, child.pid)
    stopping = threading.Event()
    watch = threading.Thread(
        target=_stop_serve_if_it_exits, args=(name, child, stopping), name=name, daemon=True
    )
    watch.start()

    def stop():
        stopping.set()
        died = child.poll() is not None
        stop_process(child)
        if died:
            raise SystemExit(
                f"envoi: the {name} exited unexpectedly (exit code {child.returncode})"
            )

    return stop


def stop_process(child: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM (a graceful stop), then SIGKILL after timeout_s; nothing if it has exited."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _stop_serve_if_it_exits(name: str, child: subprocess.Popen, stopping: threading.Event):
    child.wait()
    if not stopping.is_set():
        log.error("the %s exited (code %s): stopping", name, child.returncode)
        os.kill(os.getpid(), signal.SIGTERM)  # serve's graceful stop
