"""The database pools' use, sampled every second into gauges (a sample
rather than a read at scrape time, so that it also works across workers)."""

import asyncio

from envoi.core.observability import metrics

SAMPLE_INTERVAL_S = 1.0


def sample(pools: dict) -> None:
    """pools: name -> a psycopg_pool pool (sync or async; get_stats blocks on nothing)."""
    for name, pool in pools.items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        metrics.POOL_CONNECTIONS.labels(name, "open").set(size)
        metrics.POOL_CONNECTIONS.labels(name, "in_use").set(size - idle)
        metrics.POOL_CONNECTIONS.labels(name, "max").set(stats.get("pool_max", 0))
        metrics.POOL_WAITING.labels(name).set(stats.get("requests_waiting", 0))


async def sample_forever(pools: dict, interval_s: float = SAMPLE_INTERVAL_S) -> None:
    """Sample until cancelled."""
    while True:
        sample(pools)
        await asyncio.sleep(interval_s)
