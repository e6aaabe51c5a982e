"""The embedded PostgreSQL used when no ENVOI_DATABASE_URL is given.

pgserver ships PostgreSQL 16 in a wheel. The data directory persists across
restarts, and processes that open the same directory share one server, which
stops when the last of them exits.
"""

import logging
import pathlib
import warnings

# pgserver logs every command it runs at INFO; only its problems matter here.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def start(pgdata: pathlib.Path) -> tuple[str, object]:
    """Start (or join) the server for pgdata; return its URL and the handle keeping it up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR notice
        import pgserver

        pgdata.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri(), server
