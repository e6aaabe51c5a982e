"""Run calls at the same moment from real threads, and collect what each got."""

import threading
from concurrent.futures import ThreadPoolExecutor

from envoi.client.errors import EnvoiError


def run_together(calls) -> list:
    """Start every call at once (a barrier); return each result or EnvoiError."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except EnvoiError as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
