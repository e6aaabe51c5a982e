"""Serve a process's metrics over HTTP for Prometheus (GET /metrics).

Each process has its own address, so that `envoi serve` and the children it
starts never share a port on one host: ENVOI_METRICS_LISTEN (envoi serve,
default localhost:9464), ENVOI_GATEWAY_METRICS_LISTEN (envoi gateway, 9465),
ENVOI_WEBHOOKS_METRICS_LISTEN (envoi webhooks, 9466); an empty value turns a
process's metrics off.

With several server workers (ENVOI_WORKERS > 1), each worker writes its
counters to files in a directory of its own (prometheus-client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR) and serve's parent process adds
them up when scraped: one address for all the workers."""

import logging
import os
import shutil
import tempfile

import prometheus_client
from prometheus_client import multiprocess
from prometheus_client.registry import CollectorRegistry

from envoi.core.config import ConfigError

log = logging.getLogger("envoi.observability")

DEFAULT_LISTEN = {
    "ENVOI_METRICS_LISTEN": "localhost:9464",
    "ENVOI_GATEWAY_METRICS_LISTEN": "localhost:9465",
    "ENVOI_WEBHOOKS_METRICS_LISTEN": "localhost:9466",
}
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def listen_address(variable: str, env=os.environ) -> str:
    """The address in `variable`, its default when unset, "" when turned off."""
    value = env.get(variable)
    return DEFAULT_LISTEN[variable] if value is None else value.strip()


def database_interval_s(env=os.environ) -> float:
    """ENVOI_METRICS_DATABASE_INTERVAL_S: the database gauges are read at most this
    often (default 10; 0 reads them at every scrape)."""
    raw = (env.get("ENVOI_METRICS_DATABASE_INTERVAL_S") or "").strip()
    try:
        value = float(raw) if raw else 10.0
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError("ENVOI_METRICS_DATABASE_INTERVAL_S must be seconds from 0 to 3600")
    return value


def parse_listen(listen: str) -> tuple[str, int]:
    """("host", port) from host:port, [v6]:port or :port (all interfaces)."""
    host, separator, port = listen.rpartition(":")
    if not separator or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"metrics address {listen!r}: expected host:port, e.g. localhost:9464")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(listen: str, collectors=(), registry=None):
    """Serve registry (default: this process's) plus collectors on listen; return a
    stop function. An address already in use is logged and skipped: metrics
    are not worth refusing to serve payments."""
    host, port = parse_listen(listen)
    registry = registry or prometheus_client.REGISTRY
    for collector in collectors:
        registry.register(collector)
    try:
        http_server, thread = prometheus_client.start_http_server(port, host, registry)
    except OSError as error:
        log.warning("metrics: not served, cannot listen on %s: %s", listen, error.strerror)
        return lambda: None
    log.info("metrics on http://%s/metrics", listen)

    def stop():
        http_server.shutdown()
        http_server.server_close()
        thread.join()
        for collector in collectors:
            registry.unregister(collector)

    return stop


def start_multiprocess() -> tuple[CollectorRegistry, callable]:
    """For serve's workers (spawned after this): a directory for their metrics,
    a registry adding them up, and a function removing the directory."""
    directory = tempfile.mkdtemp(prefix="envoi-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = directory  # the spawned workers inherit it
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)

    def remove():
        os.environ.pop(MULTIPROCESS_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)

    return registry, remove
