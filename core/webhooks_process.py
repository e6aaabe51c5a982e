"""`envoi serve`'s webhooks worker, as a separate `envoi webhooks` process.

Started when serve knows the worker's database URL (ENVOI_WEBHOOKS_DATABASE_URL,
or the embedded database's envoi_webhooks role), with that URL only: none of
the core's secrets. Supervised like the gateway (core/child_process.py).
"""

import logging
import os

from envoi.core import child_process
from envoi.core.startup import DatabaseUrls

log = logging.getLogger("envoi.webhooks_process")


def start(urls: DatabaseUrls, env=os.environ):
    """Start `envoi webhooks`; return its stop function (None without its URL)."""
    if not urls.webhooks:
        log.info(
            "webhooks: not started (set ENVOI_WEBHOOKS_DATABASE_URL, or run envoi webhooks apart)"
        )
        return None
    child_env = child_process.child_environment(env)
    child_env["ENVOI_WEBHOOKS_DATABASE_URL"] = urls.webhooks
    return child_process.start("webhooks worker", ["webhooks"], child_env)
