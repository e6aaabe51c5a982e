"""The metrics every envoi process may update: names start with envoi_.

The counters and histograms are module-level (prometheus-client's default
registry); with several server workers they live in PROMETHEUS_MULTIPROC_DIR
(metrics_server.py), so each gauge says how its workers' values add up."""

from prometheus_client import Counter, Gauge, Histogram

# Most envoi RPCs answer in milliseconds; a slow one is a queue or a lock.
RPC_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPCS = Counter(
    "envoi_rpcs",
    "RPCs answered, by full method name and gRPC status code",
    ["method", "code"],
)
RPC_DURATION = Histogram(
    "envoi_rpc_duration_seconds",
    "Time to answer a unary RPC, by method (streams are counted, not timed)",
    ["method"],
    buckets=RPC_BUCKETS_S,
)
MAINTENANCE_SWEEPS = Counter(
    "envoi_maintenance_sweeps",
    "Maintenance sweeps run (one a second per server process), by outcome",
    ["outcome"],
)
MAINTENANCE_ITEMS = Counter(
    "envoi_maintenance_items",
    "What maintenance sweeps did, by task (expired, folded, payouts, refunds)",
    ["task"],
)
POOL_CONNECTIONS = Gauge(
    "envoi_db_pool_connections",
    "Database connections of a pool (open, idle, max), summed over the server's workers",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "envoi_db_pool_requests_waiting",
    "Requests waiting for a connection of a pool, summed over the server's workers",
    ["pool"],
    multiprocess_mode="livesum",
)
