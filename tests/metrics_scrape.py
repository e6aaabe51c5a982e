"""Read a process's Prometheus metrics over HTTP, as Prometheus does."""

import requests
from prometheus_client.parser import text_string_to_metric_families


def scrape(listen: str) -> dict:
    """{(sample name, sorted label pairs): value} from http://listen/metrics."""
    answer = requests.get(f"http://{listen}/metrics", timeout=10)
    answer.raise_for_status()
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    """A sample's value; 0 when it is not there (a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names(samples: dict) -> set[str]:
    return {name for name, _ in samples}
