"""`envoi cluster up|down|status`: envoi as production runs it, on one machine
(core/ops/patroni_cluster.py; docs/deploy.md).

`up` starts etcd, PostgreSQL under Patroni, HAProxy and the servers, waits
for each, and prints every address; its processes outlive it. `down` stops
them all (and with --clean removes DIR). `status` shows Patroni's members
and roles (patronictl list), where HAProxy sends writes, and each server's
health. A second `up` on the same DIR starts the same cluster again, on the
same ports, with its data.
"""

import argparse
import os
import pathlib
import shutil
import sys

from envoi.core.ops import cluster_config as config

DEFAULT_SERVERS = 3


def default_dir() -> pathlib.Path:
    return pathlib.Path(f"/tmp/envoi-cluster-{os.geteuid()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="cluster_action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the cluster and print its addresses")
    up.add_argument(
        "--servers",
        type=int,
        default=DEFAULT_SERVERS,
        help=f"envoi serve processes (default: {DEFAULT_SERVERS})",
    )
    up.add_argument(
        "--base-port",
        type=int,
        help="use consecutive ports from this one (default: free ports the system picks)",
    )
    down = actions.add_parser("down", help="stop every process of the cluster")
    down.add_argument("--clean", action="store_true", help="then remove DIR and its data")
    actions.add_parser("status", help="members and roles, HAProxy's leader, the servers")
    for action in (up, down, actions.choices["status"]):
        action.add_argument(
            "--dir",
            type=pathlib.Path,
            default=default_dir(),
            help=f"the cluster's directory (default: {default_dir()})",
        )


def run_command(args) -> None:
    {"up": up, "down": down, "status": status}[args.cluster_action](args)


def up(args) -> None:
    from envoi.core.ops.patroni_cluster import Cluster, missing_programs

    missing = missing_programs()
    if missing:
        sys.exit(
            f"envoi cluster: missing {', '.join(missing)}; install them with:\n  {config.APT_LINE}"
        )
    if args.servers < 1:
        sys.exit("envoi cluster: --servers must be 1 or more")
    try:
        cluster = Cluster.load(args.dir)
        if cluster.running():
            sys.exit(f"envoi cluster: already running in {args.dir} (envoi cluster down first)")
        print(f"starting the cluster of {args.dir} again, its data kept", flush=True)
    except FileNotFoundError:
        layout = config.Layout.pick(args.dir, args.servers, args.base_port)
        cluster = Cluster(layout)
    _check_reachable(args.dir, cluster.user)
    cluster.start()
    print(describe(cluster))


def _check_reachable(directory: pathlib.Path, user: str | None) -> None:
    """Patroni runs as another user when we are root: it must reach DIR."""
    if user is None:
        return
    for parent in directory.resolve().parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            sys.exit(
                f"envoi cluster: {parent} is closed to other users, and PostgreSQL runs as "
                f"{user}: choose a --dir it can reach (e.g. under /tmp)"
            )


def down(args) -> None:
    from envoi.core.ops.patroni_cluster import Cluster

    try:
        cluster = Cluster.load(args.dir)
    except FileNotFoundError:
        sys.exit(f"envoi cluster: no cluster in {args.dir}")
    cluster.stop()
    print(f"stopped the cluster of {args.dir}")
    if args.clean:
        shutil.rmtree(args.dir)
        print(f"removed {args.dir}")


def status(args) -> None:
    from envoi.core.ops.patroni_cluster import Cluster

    try:
        cluster = Cluster.load(args.dir)
    except FileNotFoundError:
        sys.exit(f"envoi cluster: no cluster in {args.dir}")
    running = cluster.running()
    print(describe(cluster, running))
    if any(name.startswith("etcd") for name in running):
        print(cluster.patronictl("list"))


def describe(cluster, running: list[str] | None = None) -> str:
    """Each part's address and state; the settings a client needs."""
    layout = cluster.layout
    running = cluster.running() if running is None else running
    rows = [
        *((f"etcd{n}", f"127.0.0.1:{port}") for n, port in enumerate(layout.etcd_client)),
        *((f"patroni{n}", f"127.0.0.1:{port}") for n, port in enumerate(layout.patroni_rest)),
        *((f"postgres pg{n}", f"127.0.0.1:{port}") for n, port in enumerate(layout.postgres)),
        ("haproxy", f"127.0.0.1:{layout.haproxy}"),
        *((f"server{n}", target) for n, target in enumerate(layout.server_targets())),
    ]
    lines = ["| part | address | state |", "|---|---|---|"]
    for name, address in rows:
        lines.append(f"| {name} | {address} | {_state(cluster, name, running)} |")
    targets = ",".join(layout.server_targets())
    lines += [
        "",
        f"directory: {layout.dir} (logs in {layout.path('logs')})",
        f"export ENVOI_TARGET=ipv4:{targets}",
        f"export ENVOI_DATABASE_URL={cluster.server_env()['ENVOI_DATABASE_URL']}",
        f"export ENVOI_MIGRATION_DATABASE_URL={layout.database_url()}",
    ]
    return "\n".join(lines)


def _state(cluster, name: str, running: list[str]) -> str:
    if name.startswith("postgres"):
        index = cluster.layout.node_index(name.split()[1])
        member = next((m for m in cluster.members() if m["name"] == f"pg{index}"), None)
        return f"{member['role']}, {member['state']}" if member else "down"
    if name == "haproxy" and name in running:
        return "running, to " + (", ".join(cluster.haproxy_up()) or "no node")
    if name.startswith("server") and name in running:
        return "serving" if cluster.server_serving(int(name.removeprefix("server"))) else "up"
    return "running" if name in running else "down"
