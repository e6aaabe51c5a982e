"""envoi's metrics, logs and traces (docs/operations.md).

Each process (`envoi serve`, `envoi gateway`, `envoi webhooks`) calls
setup_process once at start: logs in the format of ENVOI_LOG_FORMAT, traces
when the OTEL_* variables ask for them. Then it serves its metrics with
metrics_server.serve on its own address (a variable per process, so that
serve and the children it starts never share a port)."""

from envoi.core.observability.logs import setup_logging
from envoi.core.observability.tracing import setup_tracing


def setup_process(service_name: str, env=None) -> None:
    """Logs, then traces, for the process called service_name (envoi-serve, ...)."""
    import os

    env = os.environ if env is None else env
    setup_logging(env)
    setup_tracing(service_name, env)


def serve_metrics(variable: str, database_url: str, reads, registry=None):
    """Serve this process's metrics, with the database gauges of `reads`
    (db_metrics), on the address in `variable`; return the stop function."""
    from envoi.core.observability import db_metrics, metrics_server
    from envoi.core.runtime import open_pool

    listen = metrics_server.listen_address(variable)
    if not listen:
        return lambda: None
    metrics_server.parse_listen(listen)  # a bad address fails before a pool is opened
    collector = db_metrics.DatabaseCollector(
        open_pool(database_url, 1), reads, metrics_server.database_interval_s()
    )
    stop_http = metrics_server.serve(listen, [collector], registry)

    def stop():
        stop_http()
        collector.close()

    return stop
