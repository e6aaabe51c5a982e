"""`envoi serve`'s channel gateway, as a separate `envoi gateway` process.

The gateway faces the internet, so it holds none of the core's secrets: serve
mints a channel token per channel (it has the server's role), hands each to the
child in ENVOI_CHANNEL_TOKEN_<NAME> with the gateway's own database URL only,
and revokes them when it stops. If the child exits on its own, serve stops too
(non-zero exit), as when a worker exits: a supervisor restarts both together.
"""

import logging
import os
import signal
import subprocess
import sys
import threading

import psycopg

from envoi.core.auth import api_tokens
from envoi.core.config import ConfigError
from envoi.core.startup import DatabaseUrls

log = logging.getLogger("envoi.gateway_process")

STOP_TIMEOUT_S = 30.0
# The core's secrets: never in the gateway's environment.
CORE_ONLY_VARIABLES = ("ENVOI_DATABASE_URL", "ENVOI_MIGRATION_DATABASE_URL", "ENVOI_CODE_KEY")


def start(target: str, urls: DatabaseUrls, listen: str, env=os.environ):
    """Start `envoi gateway` for the configured channels; return its stop function
    (None when no channel is configured)."""
    from envoi import plugins
    from envoi.channels.gateway import token_variable

    channel_names = [channel.name for channel in plugins.load_channels(env)]
    if not channel_names:
        return None
    if not urls.gateway:
        raise ConfigError(
            "a channel is configured: set ENVOI_GATEWAY_DATABASE_URL (a member of "
            "envoi_gateway, docs/operations.md) or run `envoi serve --no-gateway`"
        )
    child_env = {k: v for k, v in env.items() if k not in CORE_ONLY_VARIABLES}
    child_env["ENVOI_GATEWAY_DATABASE_URL"] = urls.gateway
    made_token_ids = []
    with psycopg.connect(urls.server, autocommit=True) as conn:
        for name in channel_names:
            if not env.get(token_variable(name)):
                token_id, token = api_tokens.create_token(conn, "channel", channel_name=name)
                made_token_ids.append(token_id)
                child_env[token_variable(name)] = token
    child = subprocess.Popen(
        [sys.executable, "-m", "envoi.core.cli", "gateway", "--target", target, "--listen", listen],
        env=child_env,
        start_new_session=True,  # a terminal's Ctrl-C reaches serve, which stops the child
    )
    log.info("channel gateway: process %d (%s)", child.pid, ", ".join(channel_names))
    stopping = threading.Event()
    watch = threading.Thread(
        target=_stop_serve_if_it_exits, args=(child, stopping), name="envoi-gateway", daemon=True
    )
    watch.start()

    def stop():
        stopping.set()
        died = child.poll() is not None
        if not died:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        revoke_tokens(urls.server, made_token_ids)
        if died:
            raise SystemExit(
                f"envoi: the channel gateway exited unexpectedly (exit code {child.returncode})"
            )

    return stop


def _stop_serve_if_it_exits(child: subprocess.Popen, stopping: threading.Event) -> None:
    child.wait()
    if not stopping.is_set():
        log.error("the channel gateway exited (code %s): stopping", child.returncode)
        os.kill(os.getpid(), signal.SIGTERM)  # serve's graceful stop


def revoke_tokens(server_url: str, token_ids: list[str]) -> None:
    if not token_ids:
        return
    with psycopg.connect(server_url, autocommit=True) as conn:
        for token_id in token_ids:
            api_tokens.revoke_token(conn, token_id)
