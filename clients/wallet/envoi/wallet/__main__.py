"""`envoi-wallet` (or `python -m envoi.wallet`): serve the wallet, configured by environment."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from envoi.wallet import metrics
from envoi.wallet.app import create_app
from envoi.wallet.settings import HELP, Settings, SettingsError


def without_query(record: logging.LogRecord) -> bool:
    """uvicorn's access log line (client, method, path, version, status) without the query."""
    if isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        record.args = (client, method, str(path).partition("?")[0], version, status)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print(HELP, file=sys.stdout if argv[0] in ("-h", "--help") else sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"envoi-wallet: {error}\n\n{HELP}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # X's callback carries the sign-in code in its query: paths only in the access log.
    logging.getLogger("uvicorn.access").addFilter(without_query)
    metrics.serve(settings.metrics_listen)
    host, port = settings.host_port
    print(f"envoi-wallet: serving {settings.public_url} (listening on {host}:{port})", flush=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=2,  # live pages hold streams open
        limit_concurrency=1000,
        h11_max_incomplete_event_size=16 * 1024,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
