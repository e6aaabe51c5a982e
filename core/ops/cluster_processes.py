"""The processes of `envoi cluster`: each part started in a session of its
own (its process group is its pid), its output in DIR/logs/NAME.log, and
its pid saved in DIR/cluster.json, so that `envoi cluster down`, run later
from another process, finds and stops every one of them.

Patroni starts PostgreSQL in a session of PostgreSQL's own (so that a
restarted Patroni finds it running): a node's postmaster is found from its
data directory's postmaster.pid, not from Patroni's group.
"""

import contextlib
import os
import pathlib
import signal
import subprocess
import time

import psutil

from envoi.core.ops.harness import as_user

STOP_TIMEOUT_S = 30.0
POLL_S = 0.1


def spawn(name: str, command: list[str], logs: pathlib.Path, **popen) -> subprocess.Popen:
    """command in a new session, stdout and stderr appended to logs/NAME.log;
    popen: user (run as that user through runuser), cwd, env."""
    user = popen.pop("user", None)
    with open(logs / f"{name}.log", "ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            as_user(user, command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (not zombie) processes of a process group."""
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
    return members


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def reap(children: dict[int, subprocess.Popen]) -> None:
    """Collect the exit of our own children, so that none stays a zombie."""
    for child in children.values():
        child.poll()


def stop_groups(pgids: list[int], sig=signal.SIGTERM, children=None, timeout_s=STOP_TIMEOUT_S):
    """sig to each group, then SIGKILL to what is left of them after timeout_s."""
    children = children or {}
    for pgid in pgids:
        signal_group(pgid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reap(children)
        if not any(group_members(pgid) for pgid in pgids):
            return
        time.sleep(POLL_S)
    for pgid in pgids:
        signal_group(pgid, signal.SIGKILL)
    psutil.wait_procs([p for pgid in pgids for p in group_members(pgid)], timeout=timeout_s)
    reap(children)


def postmaster(data_dir: pathlib.Path) -> psutil.Process | None:
    """The running postmaster of a data directory, or None."""
    pid_file = data_dir / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, IndexError, psutil.NoSuchProcess):
        process = psutil.Process(int(pid_file.read_text().split()[0]))
        if process.status() != psutil.STATUS_ZOMBIE and "postgres" in process.name():
            return process
    return None


def postgres_processes(data_dir: pathlib.Path) -> list[psutil.Process]:
    """The postmaster of data_dir and all its children (backends, WAL sender...)."""
    root = postmaster(data_dir)
    if root is None:
        return []
    with contextlib.suppress(psutil.NoSuchProcess):
        return [root, *root.children(recursive=True)]
    return []


def signal_processes(processes: list[psutil.Process], sig: signal.Signals) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(sig)
