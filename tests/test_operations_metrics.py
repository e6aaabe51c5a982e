"""docs/operations.md and its Grafana dashboard name only metrics envoi
exports: every envoi_ name in them is a sample of a family that the
processes' registries and database gauges produce, read from a real database."""

import json
import pathlib
import re

import prometheus_client
import psycopg_pool
from prometheus_client.parser import text_string_to_metric_families

from envoi.core.observability import db_metrics, metrics  # noqa: F401 (registers them)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"
DASHBOARD = ROOT / "docs" / "grafana" / "envoi.json"
NAME = re.compile(r"\benvoi_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("", "_bucket", "_count", "_sum", "_created"),  # the doc names the family
    "gauge": ("",),
}


def exported_families(database_url: str) -> dict[str, set[str]]:
    """Each envoi family's sample names, the database's gauges read for real."""
    pool = psycopg_pool.ConnectionPool(database_url, min_size=1, max_size=1, open=True)
    reads = [db_metrics.transfers, db_metrics.webhook_backlog, db_metrics.channel_backlog]
    collector = db_metrics.DatabaseCollector(pool, reads, min_interval_s=0)
    try:
        families = [*prometheus_client.REGISTRY.collect(), *collector.collect()]
    finally:
        collector.close()
    return {
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in families
        # The wallet's own (envoi_wallet_) register here too when its tests ran
        # in this process; its README documents them.
        if family.name.startswith("envoi_") and not family.name.startswith("envoi_wallet_")
    }


def metrics_section() -> str:
    """The doc's metrics part (the rest names database roles: envoi_server...)."""
    return OPERATIONS.read_text().split("## Metrics, logs and traces", 1)[1]


def test_the_dashboard_and_the_doc_name_only_exported_metrics(database_url):
    families = exported_families(database_url)
    assert {"envoi_rpcs", "envoi_transfers", "envoi_outbox_lag_seconds"} <= families.keys()
    exported = set().union(*families.values())
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    in_dashboard = {name for expr in expressions for name in NAME.findall(expr)}
    in_doc = set(NAME.findall(metrics_section()))
    assert not in_dashboard - exported, in_dashboard - exported
    assert not in_doc - exported, in_doc - exported
    # And the other way: every family is in the doc, and on the dashboard.
    assert not [f for f, names in families.items() if not names & in_doc]
    assert not [f for f, names in families.items() if not names & in_dashboard]


def test_what_a_scrape_shows_parses_as_prometheus_text():
    text = prometheus_client.generate_latest().decode()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"envoi_rpcs", "envoi_rpc_duration_seconds", "envoi_maintenance_sweeps"} <= names
