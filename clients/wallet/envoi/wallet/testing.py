"""The wallet on a real uvicorn server in a thread, for tests: `with serving(settings, client)`."""

from __future__ import annotations

import contextlib
import threading
import time

import uvicorn

from envoi.wallet.app import create_app

START_TIMEOUT_S = 10.0


@contextlib.contextmanager
def serving(settings, client=None):
    """Serve the wallet on settings.listen until the block ends; yields the uvicorn Server."""
    host, port = settings.host_port
    config = uvicorn.Config(
        create_app(settings, client),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the wallet did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
