"""`envoi serve`'s channel gateway, as a separate `envoi gateway` process.

The gateway faces the internet, so it holds none of the core's secrets: serve
mints a channel token per channel (it has the server's role), hands each to the
child in ENVOI_CHANNEL_TOKEN_<NAME> with the gateway's own database URL only,
and revokes them when it stops. If the child exits on its own, serve stops too
(non-zero exit), as when a worker exits: a supervisor restarts both together.
"""

import logging
import os

import psycopg

from envoi.core import child_process
from envoi.core.auth import api_tokens
from envoi.core.config import ConfigError
from envoi.core.startup import DatabaseUrls

log = logging.getLogger("envoi.gateway_process")


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
    child_env = child_process.child_environment(env)
    child_env["ENVOI_GATEWAY_DATABASE_URL"] = urls.gateway
    made_token_ids = []
    with psycopg.connect(urls.server, autocommit=True) as conn:
        for name in channel_names:
            if not env.get(token_variable(name)):
                token_id, token = api_tokens.create_token(conn, "channel", channel_name=name)
                made_token_ids.append(token_id)
                child_env[token_variable(name)] = token
    stop_child = child_process.start(
        "channel gateway", ["gateway", "--target", target, "--listen", listen], child_env
    )
    log.info("channel gateway: %s", ", ".join(channel_names))

    def stop():
        try:
            stop_child()
        finally:
            revoke_tokens(urls.server, made_token_ids)

    return stop


def revoke_tokens(server_url: str, token_ids: list[str]) -> None:
    if not token_ids:
        return
    with psycopg.connect(server_url, autocommit=True) as conn:
        for token_id in token_ids:
            api_tokens.revoke_token(conn, token_id)
