"""The long-running commands: `envoi serve`, `envoi gateway`, `envoi webhooks`."""

import argparse
import os
import sys

from envoi.client import EnvoiClient
from envoi.client.client import DEFAULT_TARGET
from envoi.core import config, tls
from envoi.core.cli import options
from envoi.core.cli.options import database_options

DEFAULT_GATEWAY_LISTEN = "localhost:8080"
# Each plugin's own settings follow, through its envoi_settings_help hook.
GATEWAY_HELP = """\
environment variables:
  ENVOI_CHANNELS                   comma-separated plugin names to load (default: all)
  ENVOI_CHANNEL_TOKEN_<NAME>       the channel token of channel NAME (e.g.
                                   ENVOI_CHANNEL_TOKEN_TWITTER), required for each
                                   channel (envoi token create --role channel);
                                   `envoi serve` mints them for its gateway
  ENVOI_GATEWAY_DATABASE_URL       the gateway's own state, as a member of
                                   envoi_gateway (docs/operations.md); required
  ENVOI_GATEWAY_LISTEN             webhook address (default: localhost:8080)
  ENVOI_GATEWAY_METRICS_LISTEN     its Prometheus metrics (default: localhost:9465;
                                   empty: off); ENVOI_LOG_FORMAT and OTEL_* as for serve

"""

PROVIDERS_HELP = """
payment providers (money in by card, out to an IBAN):
  ENVOI_PROVIDERS                  comma-separated provider plugin names to load
                                   (default: all installed; each loads only when
                                   configured)
"""


# api_tokens is imported where a token is made (here and in bench), never at
# import: `envoi gateway` runs this module and must not be able to mint one.


def cmd_serve(args):
    # grpc server parts load only for this command
    from envoi.core import gateway_process, server, webhooks_process

    settings = options.settings(args)

    def companion(urls):
        """The child processes beside the server; one function stops them all."""
        stops = []
        if not args.no_gateway:
            stops.append(gateway_process.start(settings.listen, urls, args.gateway_listen))
        if not args.no_webhooks:
            stops.append(webhooks_process.start(urls))
        stops = [stop for stop in stops if stop]
        return lambda: _stop_all(stops)

    server.serve(settings, companion)


def _stop_all(stops) -> None:
    """Stop each child; then raise the first one's SystemExit (one exited on its own)."""
    exits = []
    for stop in stops:
        try:
            stop()
        except SystemExit as exit_:
            exits.append(exit_)
    if exits:
        raise exits[0]


def cmd_gateway(args):
    """The gateway alone: channel tokens from the environment, its own database role;
    nothing here can read the ledger or mint a token (docs/operations.md)."""
    import signal
    import threading

    from envoi import plugins
    from envoi.channels import gateway
    from envoi.channels.gateway_store import GatewayStore
    from envoi.core import observability
    from envoi.core.observability import db_metrics
    from envoi.core.runtime import open_pool

    observability.setup_process("envoi-gateway")
    database_url = getattr(args, "database_url", None) or os.environ.get(
        "ENVOI_GATEWAY_DATABASE_URL"
    )
    if not database_url:
        sys.exit("envoi gateway: set ENVOI_GATEWAY_DATABASE_URL (a member of envoi_gateway)")
    try:
        channels = plugins.load_channels()
    except ValueError as error:  # a plugin's bad configuration, named without its values
        sys.exit(f"envoi gateway: {error}")
    if not channels:
        sys.exit("envoi gateway: no channel is configured (see envoi plugins)")
    missing = [gateway.token_variable(c.name) for c in channels]
    missing = [name for name in missing if not os.environ.get(name)]
    if missing:
        sys.exit(f"envoi gateway: set {', '.join(missing)} (envoi token create --role channel)")
    clients = {
        c.name: EnvoiClient(
            args.target,
            os.environ[gateway.token_variable(c.name)],
            credentials=tls.client_credentials(),
        )
        for c in channels
    }
    pool = open_pool(database_url, 4)
    running = gateway.Gateway(channels, clients, GatewayStore(pool), listen=args.listen)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stop_metrics = observability.serve_metrics(
        "ENVOI_GATEWAY_METRICS_LISTEN", database_url, [db_metrics.channel_backlog]
    )
    running.start()
    stopping.wait()
    running.stop()
    stop_metrics()
    pool.close()
    observability.tracing.shutdown()


def cmd_webhooks(args):
    """The webhooks worker alone, with its own database role (docs/operations.md)."""
    import signal
    import threading

    from envoi.core import observability
    from envoi.core.observability import db_metrics
    from envoi.core.runtime import open_pool
    from envoi.core.schema import db_roles
    from envoi.core.webhooks import settings as webhook_settings
    from envoi.core.webhooks.worker import Worker

    observability.setup_process("envoi-webhooks")
    try:
        settings = webhook_settings.from_environment(database_url=args.database_url)
        db_roles.check_schema_current(settings.database_url)
    except config.ConfigError as error:
        sys.exit(f"envoi webhooks: {error}")
    # A connection per sending thread at most, for the short writes after each POST.
    pool = open_pool(settings.database_url, min(settings.concurrency + 1, 32))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stop_metrics = observability.serve_metrics(
        "ENVOI_WEBHOOKS_METRICS_LISTEN", settings.database_url, [db_metrics.webhook_backlog]
    )
    Worker(pool, settings).run(stopping)
    stop_metrics()
    pool.close()
    observability.tracing.shutdown()


def _with_plugin_settings(format_help, group: str, separator: str):
    """format_help, followed by the settings help of each installed plugin of
    the entry point group (docs/plugins.md, Shipping), loaded only when help
    is asked for."""

    def formatted() -> str:
        from envoi import plugins

        return format_help() + "".join(separator + text for text in plugins.settings_help(group))

    return formatted


def add_serve(commands):
    serve = commands.add_parser(
        "serve",
        help="run the gRPC server",
        epilog=config.SETTINGS_HELP + PROVIDERS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve envoi over gRPC, with health checking and reflection, as the "
        "server's database role. Applies migrations first with the owner's URL (embedded "
        "database, or ENVOI_MIGRATION_DATABASE_URL), else checks the schema is current. "
        "Runs the channel gateway and the webhooks worker as separate processes. "
        "SIGTERM: health turns "
        "NOT_SERVING, in-flight RPCs finish.",
    )
    serve.add_argument(
        "--listen", help="address to serve on (default: ENVOI_LISTEN or localhost:50051)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (default: ENVOI_WORKERS or 1)",
    )
    serve.add_argument(
        "--no-gateway", action="store_true", help="do not start the channel gateway's process"
    )
    serve.add_argument(
        "--no-webhooks",
        action="store_true",
        help="do not start the webhooks worker's process (run `envoi webhooks` apart)",
    )
    serve.add_argument(
        "--gateway-listen",
        default=os.environ.get("ENVOI_GATEWAY_LISTEN", DEFAULT_GATEWAY_LISTEN),
        help="address of the channel webhooks (default: ENVOI_GATEWAY_LISTEN "
        f"or {DEFAULT_GATEWAY_LISTEN})",
    )
    database_options(serve)
    serve.set_defaults(handler=cmd_serve)
    # Each payment provider's settings, under the providers' heading.
    serve.format_help = _with_plugin_settings(serve.format_help, "envoi.providers", "")


def add_gateway(commands):
    gateway = commands.add_parser(
        "gateway",
        help="run the channel gateway (webhooks, pollers, notifications)",
        epilog=GATEWAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the channel gateway alone: each configured channel's webhooks, its "
        "poller and its notifications, talking to envoi over gRPC with a channel "
        "token. `envoi serve` runs it too (as a child process), unless --no-gateway.",
    )
    gateway.add_argument(
        "--listen",
        default=os.environ.get("ENVOI_GATEWAY_LISTEN", DEFAULT_GATEWAY_LISTEN),
        help=f"webhook address (default: ENVOI_GATEWAY_LISTEN or {DEFAULT_GATEWAY_LISTEN})",
    )
    gateway.add_argument(
        "--target",
        default=os.environ.get("ENVOI_TARGET", DEFAULT_TARGET),
        help="envoi's gRPC address (default: ENVOI_TARGET or localhost:50051)",
    )
    gateway.add_argument(
        "--database-url",
        help="the gateway's PostgreSQL URL, a member of envoi_gateway "
        "(default: ENVOI_GATEWAY_DATABASE_URL)",
    )
    gateway.set_defaults(handler=cmd_gateway)
    # Each channel plugin's settings, a block of its own.
    gateway.format_help = _with_plugin_settings(gateway.format_help, "envoi.channels", "\n")


def add_webhooks(commands):
    from envoi.core.webhooks.settings import WEBHOOKS_HELP

    webhooks = commands.add_parser(
        "webhooks",
        help="run the worker that delivers events to merchants' webhook endpoints",
        epilog=WEBHOOKS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Deliver outbox events to merchants' webhook endpoints (signed JSON "
        "POSTs, at least once, in order per endpoint, retried with backoff for 3 days). "
        "`envoi serve` runs one (as a child process) when it knows the worker's database "
        "URL, unless --no-webhooks; more may run apart. SIGTERM finishes the sends in flight.",
    )
    webhooks.add_argument(
        "--database-url",
        help="the worker's PostgreSQL URL, a member of envoi_webhooks "
        "(default: ENVOI_WEBHOOKS_DATABASE_URL)",
    )
    webhooks.set_defaults(handler=cmd_webhooks)
