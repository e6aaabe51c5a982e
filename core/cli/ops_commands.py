"""The tooling commands (core/ops): `envoi bench`, `envoi torture`."""

# The tooling commands (core/ops), each module imported only when its command
# is parsed: (help, description).
OPS_COMMANDS = {
    "bench": (
        "measure envoi against its PostgreSQL's own limit",
        "Start an embedded PostgreSQL (or use ENVOI_DATABASE_URL's server, in "
        "databases made and dropped for the run) and an `envoi serve`, then measure pgbench, "
        "one transfer as envoi's SQL and as the least SQL of any ledger, confirmed transfers "
        "through gRPC (at several concurrencies, and to one hot account), bulk transfers "
        "against raw SQL, signed X webhooks to pending transfers through the gateway at 200 "
        "and 1,000 posts/s, and with --large the same transfers on a ledger of a million "
        "accounts. Writes OUT/results.json, OUT/results.md and two PNG plots, and prints the "
        "table (docs/performance.md).",
    ),
    "torture": (
        "a bank workload under faults, then a proof that no money was lost",
        "Start an embedded PostgreSQL (or use ENVOI_DATABASE_URL's server) and two "
        "`envoi serve` processes on one database; run confirmed transfers and balance reads "
        "from concurrent clients, retried with the same request ids, while servers are "
        "killed (SIGKILL), stopped gracefully (SIGTERM) and PostgreSQL is crash-restarted "
        "(with --replicated: a primary and its synchronous standby, the primary killed and the "
        "standby promoted); "
        "then check that every read and the final ledger sum to the known total, that every "
        "acknowledged transfer is in the ledger once, and the ledger's invariants. Writes "
        "OUT/summary.json, prints a table, exits 1 on any violation (docs/reliability.md).",
    ),
    "cluster": (
        "envoi on etcd, Patroni, HAProxy and N servers, on one machine",
        "up: start 3 etcd members, 3 PostgreSQL nodes under Patroni (synchronous mode strict), "
        "HAProxy to the leader and N `envoi serve`, and print their addresses; down: stop them; "
        "status: members, roles and servers (docs/deploy.md).",
    ),
}


def add_ops(commands):
    for name, (help_text, description) in OPS_COMMANDS.items():

        def add_arguments(p, name=name):
            import importlib

            tool = importlib.import_module(f"envoi.core.ops.{name}")
            tool.add_arguments(p)
            p.set_defaults(handler=tool.run_command)

        commands.add_parser(
            name, help=help_text, description=description, add_arguments=add_arguments
        )
