"""What `envoi cluster` runs, as text: the ports and directories of each part
(Layout), and the command line of each etcd member, the Patroni
configuration of each PostgreSQL node and HAProxy's configuration.

The settings that matter for money are in DCS_SETTINGS (docs/deploy.md says
why each is there). Patroni reads YAML; JSON is YAML, so no YAML library is
needed to write it.
"""

import dataclasses
import json
import pathlib
import socket

from envoi.core.ops.harness import free_port

SCOPE = "envoi"
DATABASE = "envoi"
SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
MEMBERS = 3  # etcd members and PostgreSQL nodes: a majority survives one loss
APT_PACKAGES = ("patroni", "etcd-server", "haproxy", "postgresql-15")
APT_LINE = "apt-get install -y " + " ".join(APT_PACKAGES)

# etcd's v2 API, not v3 ("etcd3"): Debian 12's Patroni (3.0.2) renews its
# leader key through v3 with an unconditional put, so a leader paused past
# its ttl overwrote, on waking, the key another node had taken meanwhile:
# two primaries (found by `envoi torture --patroni`; fixed in Patroni 3.0.3,
# patroni/patroni#2689). Through v2 the renewal is a compare-and-swap on
# the key's value, which fails, and the old leader demotes itself.
DCS_API = "etcd"

# Written once into etcd by the first node (Patroni's "global configuration").
DCS_SETTINGS = {
    # The leader key lives ttl seconds; a lost leader is replaced within it.
    # Patroni wants loop_wait + 2 * retry_timeout <= ttl.
    "ttl": 10,
    "loop_wait": 1,
    "retry_timeout": 4,
    # A replica further behind than this (bytes of WAL) is never promoted.
    # In synchronous mode only the synchronous standby is a candidate anyway.
    "maximum_lag_on_failover": 1048576,
    # A commit returns once the synchronous standby has flushed it; with
    # strict, commits wait rather than go on without a standby.
    "synchronous_mode": True,
    "synchronous_mode_strict": True,
    "synchronous_node_count": 1,
    "postgresql": {
        "use_pg_rewind": True,
        "use_slots": True,
        # A former leader whose timeline diverged is rebuilt from the leader.
        "remove_data_directory_on_rewind_failure": True,
        "remove_data_directory_on_diverged_timelines": True,
        "parameters": {
            "synchronous_commit": "on",
            "wal_level": "replica",
            "hot_standby": "on",
            "wal_log_hints": "on",
            "max_connections": 300,
            "max_wal_senders": 10,
            "max_replication_slots": 10,
            "wal_keep_size": "256MB",
        },
    },
}

# Loopback only, no password: one machine's test bed. docs/deploy.md gives
# the production lines (scram-sha-256 over TLS, per host).
PG_HBA = [
    "local all all trust",
    f"host replication {REPLICATION_USER} 127.0.0.1/32 trust",
    "host all all 127.0.0.1/32 trust",
]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Every port and directory of one cluster; saved in DIR/cluster.json."""

    dir: str
    etcd_client: tuple[int, ...]
    etcd_peer: tuple[int, ...]
    patroni_rest: tuple[int, ...]
    postgres: tuple[int, ...]
    haproxy: int
    servers: tuple[int, ...]

    @classmethod
    def pick(cls, directory: pathlib.Path, servers: int, base_port: int | None) -> "Layout":
        """Consecutive ports from base_port (each checked free), else free ones."""
        count = 4 * MEMBERS + 1 + servers
        ports = _ports_from(base_port, count) if base_port else _free_ports(count)
        cut = [ports[n * MEMBERS : (n + 1) * MEMBERS] for n in range(4)]
        return cls(
            str(directory.resolve()),
            *map(tuple, cut),
            ports[4 * MEMBERS],
            tuple(ports[4 * MEMBERS + 1 :]),
        )

    @classmethod
    def from_json(cls, data: dict) -> "Layout":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def path(self, *parts: str) -> pathlib.Path:
        return pathlib.Path(self.dir, *parts)

    def node_name(self, index: int) -> str:
        return f"pg{index}"

    def node_index(self, name: str) -> int:
        return int(name.removeprefix("pg"))

    def server_targets(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.servers]

    def database_url(self, user: str = SUPERUSER, dbname: str = DATABASE) -> str:
        """Through HAProxy: always the leader."""
        return f"postgresql://{user}@127.0.0.1:{self.haproxy}/{dbname}?connect_timeout=3"

    def node_url(self, index: int, dbname: str = "postgres") -> str:
        """One node, whatever its role."""
        port = self.postgres[index]
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{dbname}?connect_timeout=3"


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _ports_from(base_port: int, count: int) -> list[int]:
    ports = list(range(base_port, base_port + count))
    for port in ports:
        with socket.socket() as sock:
            # As the servers bind: a port that only TIME_WAIT holds is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as error:
                raise ValueError(
                    f"port {port} is in use (cluster ports: {ports[0]}-{ports[-1]})"
                ) from error
    return ports


def etcd_command(layout: Layout, index: int) -> list[str]:
    peers = ",".join(f"etcd{n}=http://127.0.0.1:{port}" for n, port in enumerate(layout.etcd_peer))
    client = f"http://127.0.0.1:{layout.etcd_client[index]}"
    peer = f"http://127.0.0.1:{layout.etcd_peer[index]}"
    return [
        "etcd",
        *("--name", f"etcd{index}", "--data-dir", str(layout.path(f"etcd{index}", "data"))),
        *("--listen-client-urls", client, "--advertise-client-urls", client),
        *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
        *("--initial-cluster", peers, "--initial-cluster-state", "new"),
        # A token of this cluster's own: members of another never join it.
        *("--initial-cluster-token", f"envoi-{layout.etcd_peer[0]}"),
        *("--logger", "zap", "--log-outputs", "stderr"),
        "--enable-v2=true",  # Patroni's DCS_API
    ]


def etcd_hosts(layout: Layout) -> list[str]:
    return [f"127.0.0.1:{port}" for port in layout.etcd_client]


def patroni_config(layout: Layout, index: int, bin_dir: pathlib.Path) -> dict:
    node = layout.node_name(index)
    rest = f"127.0.0.1:{layout.patroni_rest[index]}"
    postgres = f"127.0.0.1:{layout.postgres[index]}"
    return {
        "scope": SCOPE,
        "name": node,
        "restapi": {"listen": rest, "connect_address": rest},
        DCS_API: {"hosts": etcd_hosts(layout)},
        "bootstrap": {
            "dcs": DCS_SETTINGS,
            "initdb": [{"encoding": "UTF8"}, "data-checksums"],
        },
        "postgresql": {
            "listen": postgres,
            "connect_address": postgres,
            "data_dir": str(layout.path(node, "data")),
            "bin_dir": str(bin_dir),
            "pgpass": str(layout.path(node, "pgpass")),
            "pg_hba": PG_HBA,
            "authentication": {
                "superuser": {"username": SUPERUSER},
                "replication": {"username": REPLICATION_USER},
                "rewind": {"username": SUPERUSER},
            },
            "parameters": {"unix_socket_directories": str(layout.path(node))},
        },
    }


def patronictl_config(layout: Layout) -> dict:
    """What patronictl needs: the scope and where etcd is."""
    return {"scope": SCOPE, DCS_API: {"hosts": etcd_hosts(layout)}}


def haproxy_config(layout: Layout) -> str:
    """Writes go to the one node whose Patroni answers /primary with 200 (it
    holds the leader key). A node marked down has its sessions cut, so that
    no connection stays on a former leader."""
    servers = [
        f"    server pg{n} 127.0.0.1:{port} check port {layout.patroni_rest[n]}"
        for n, port in enumerate(layout.postgres)
    ]
    return "\n".join(
        [
            "global",
            "    maxconn 2000",
            f"    stats socket {layout.path('haproxy', 'stats.sock')} mode 600 level admin",
            "defaults",
            "    mode tcp",
            "    timeout connect 2s",
            # envoi's connections idle between transactions, its LISTEN one for long.
            "    timeout client 24h",
            "    timeout server 24h",
            "    timeout check 2s",
            "listen postgres_primary",
            f"    bind 127.0.0.1:{layout.haproxy}",
            "    option httpchk",
            "    http-check send meth GET uri /primary",
            "    http-check expect status 200",
            "    default-server inter 500ms fastinter 250ms fall 2 rise 1"
            " on-marked-down shutdown-sessions",
            *servers,
            "",
        ]
    )


def write_json(path: pathlib.Path, value) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")
