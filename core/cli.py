"""The `envoi` command: run the server, manage the database and tokens, and
call the API (accounts, transfers) through EnvoiClient.

API commands print the response as JSON on stdout; a failed call prints
{"error": {...}} on stderr and exits 1.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import sys

from google.protobuf import json_format

from envoi.client import EnvoiClient, EnvoiError
from envoi.client.client import DEFAULT_TARGET
from envoi.core import config, startup, tls

DESCRIPTION = "envoi: a gRPC payment core with plug-in social channels"
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

"""

PROVIDERS_HELP = """
payment providers (money in by card, out to an IBAN):
  ENVOI_PROVIDERS                  comma-separated provider plugin names to load
                                   (default: all installed; each loads only when
                                   configured)
"""


def _settings(args) -> config.Settings:
    return config.from_environment(
        database_url=getattr(args, "database_url", None),
        data_dir=pathlib.Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        listen=getattr(args, "listen", None),
        workers=getattr(args, "workers", None),
    )


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _print_message(message) -> None:
    _print_json(
        json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    )


# api_tokens is imported where a token is made (here and in bench), never at
# import: `envoi gateway` runs this module and must not be able to mint one.


def cmd_serve(args):
    # grpc server parts load only for this command
    from envoi.core import gateway_process, server, webhooks_process

    settings = _settings(args)

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
    import logging
    import signal
    import threading

    from envoi import plugins
    from envoi.channels import gateway
    from envoi.channels.gateway_store import GatewayStore
    from envoi.core.runtime import open_pool

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
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
    running.start()
    stopping.wait()
    running.stop()
    pool.close()


def cmd_webhooks(args):
    """The webhooks worker alone, with its own database role (docs/operations.md)."""
    import logging
    import signal
    import threading

    from envoi.core.runtime import open_pool
    from envoi.core.schema import db_roles
    from envoi.core.webhooks import settings as webhook_settings
    from envoi.core.webhooks.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
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
    Worker(pool, settings).run(stopping)
    pool.close()


def _with_plugin_settings(format_help, group: str, separator: str):
    """format_help, followed by the settings help of each installed plugin of
    the entry point group (docs/plugins.md, Shipping), loaded only when help
    is asked for."""

    def formatted() -> str:
        from envoi import plugins

        return format_help() + "".join(separator + text for text in plugins.settings_help(group))

    return formatted


def cmd_plugins(args):
    from envoi import plugins

    _print_json([dataclasses.asdict(plugin) for plugin in plugins.installed_plugins()])


def cmd_plugins_new(args):
    from envoi.plugins import new_plugin

    try:
        root = new_plugin.create(args.name, pathlib.Path(args.into))
    except ValueError as error:
        sys.exit(f"envoi plugins new: {error}")
    _print_json({"created": str(root)})


def cmd_migrate(args):
    settings = config.from_environment(
        data_dir=pathlib.Path(args.data_dir) if args.data_dir else None
    )
    owner_url = args.database_url or settings.migration_database_url
    if not owner_url and settings.database_url:
        sys.exit(
            "envoi migrate runs as the tables' owner: set ENVOI_MIGRATION_DATABASE_URL "
            "(docs/operations.md)"
        )
    if owner_url:
        applied = startup.migrate(owner_url)
    else:  # the embedded database, migrated as it is set up
        applied = list(startup.database_urls(settings).applied_now)
    _print_json({"applied": applied})


def _with_database(args, work):
    """work(conn) as the server's role, on a current schema (never as the owner)."""
    import psycopg

    urls = startup.server_database(_settings(args))
    with psycopg.connect(urls.server, autocommit=True) as conn:
        return work(conn)


def cmd_token_create(args):
    from envoi.core.auth import api_tokens

    token_id, token = _with_database(
        args,
        lambda conn: api_tokens.create_token(
            conn, args.role, channel_name=args.channel, merchant_account_id=args.account
        ),
    )
    _print_json({"token_id": token_id, "role": args.role, "token": token})


def cmd_token_revoke(args):
    from envoi.core.auth import api_tokens

    if not _with_database(args, lambda conn: api_tokens.revoke_token(conn, args.token_id)):
        sys.exit(f"no live token {args.token_id}")
    _print_json({"revoked": args.token_id})


def _post_parser(args):
    """The grammar of --channel's channel (configured from the environment,
    as for `envoi gateway`), else X's with --bot."""
    from envoi.channels import grammar  # no database, no server: just the parser

    if not args.channel:
        bot = args.bot or os.environ.get("ENVOI_TWITTER_BOT_HANDLE") or "SmoneyFR"
        return grammar.Grammar(bot.removeprefix("@"), grammar.keywords_from_env(os.environ))
    from envoi.plugins import load_channels

    channels = {channel.name: channel for channel in load_channels(os.environ)}
    if args.channel not in channels:
        raise ValueError(
            f"no channel {args.channel!r} is configured here (configured: "
            f"{', '.join(sorted(channels)) or 'none'}): set its variables as for envoi gateway"
        )
    return channels[args.channel].grammar


def cmd_parse(args):
    from envoi.channels import grammar

    try:
        parser = _post_parser(args)
    except ValueError as error:
        print(f"envoi parse: {error}", file=sys.stderr)
        sys.exit(2)  # not 1, which means "the post was rejected"
    result = parser.parse(args.text, direct_message=args.dm)
    if isinstance(result, grammar.Rejection):
        _print_json({"error": {"reason": result.reason, "message": result.message}})
        sys.exit(1)
    if isinstance(result, grammar.RequestIntent):
        _print_json(
            {
                "amount_cents": result.amount_cents,
                "currency": result.currency,
                "payers": list(result.payers),
                "shares_cents": list(result.shares_cents()),
                "memo": result.memo,
            }
        )
        return
    _print_json(
        {
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "recipient": result.recipient,
            "memo": result.memo,
        }
    )


PARSE_HELP = """\
Prints one JSON object on stdout. Accepted, exit 0:
  {"amount_cents": 1050, "currency": "EUR", "recipient": "alice", "memo": "..."}
A collection, named by its hashtag when nobody is mentioned:
  {"amount_cents": 500, "currency": "EUR", "recipient": "#TelethonACF", "memo": ""}
A request (#demander; #partage shares it, the first-named paying the odd cents):
  {"amount_cents": 1000, "currency": "EUR", "payers": ["bob", "carol", "dan"],
   "shares_cents": [334, 333, 333], "memo": ""}
Rejected, exit 1:
  {"error": {"reason": "UPPER_SNAKE", "message": "..."}}
A bad --bot or keyword list, or a --channel not configured, exits 2, with a
message on stderr.

environment:
  ENVOI_TWITTER_BOT_HANDLE  the bot's X handle, without @ (default: SmoneyFR)
  ENVOI_CHANNEL_KEYWORDS    payment hashtags, comma-separated, without #
                            (default: envoyer,send)
  with --channel, the channel's own settings (envoi gateway --help)

example:
  envoi parse '@SmoneyFR #envoyer 10,50€ @alice merci'
  envoi parse '@SmoneyFR #envoyer 5€ #TelethonACF'
  envoi parse '@SmoneyFR #demander 10€ @bob @carol @dan #partage'
  envoi parse -- '-10€ ...'    (a text starting with - comes after --)
  envoi parse --channel messenger --dm 'envoyer 10€ @alice'
"""


def _client(args) -> EnvoiClient:
    if not args.token:
        sys.exit("an API command needs a token: --token or ENVOI_TOKEN (envoi token create)")
    return EnvoiClient(args.target, args.token, credentials=tls.client_credentials())


API_COMMANDS = {
    "account open": lambda c, a: c.open_account(a.kind, a.name, a.code, currency_code=a.currency),
    "account get": lambda c, a: c.get_account(a.account_id),
    "account balance": lambda c, a: c.get_balance(a.account_id, as_of=a.as_of),
    "account change-code": lambda c, a: c.change_code(a.account_id, a.current_code, a.code),
    "account reset-code": lambda c, a: c.reset_code(a.account_id, a.code, a.reason),
    "account credit": lambda c, a: c.credit_account(
        a.account_id, a.amount_cents, currency_code=a.currency, memo=a.memo
    ),
    "account debit-mandate": lambda c, a: c.set_debit_mandate(
        a.account_id, active=a.active, reason=a.reason
    ),
    "account freeze": lambda c, a: c.freeze_account(a.account_id, a.reason),
    "account unfreeze": lambda c, a: c.unfreeze_account(a.account_id, a.reason),
    "account close": lambda c, a: c.close_account(a.account_id, code=a.code, reason=a.reason),
    "transfer send": lambda c, a: c.initiate_transfer(
        a.from_account, a.to_account, a.amount_cents, currency_code=a.currency, memo=a.memo
    ),
    "transfer confirm": lambda c, a: c.confirm_transfer(a.transfer_id, a.code),
    "transfer cancel": lambda c, a: c.cancel_transfer(a.transfer_id),
    "transfer get": lambda c, a: c.get_transfer(a.transfer_id),
    "transfer list": lambda c, a: c.list_transfers(
        a.account_id,
        states=a.state,
        direction=a.direction,
        page_size=a.page_size,
        page_token=a.page_token,
    ),
}


def _exit_with_error(error: EnvoiError):
    print(
        json.dumps(
            {
                "error": {
                    "reason": error.reason,
                    "message": error.message,
                    "metadata": error.metadata,
                    "field_violations": error.field_violations,
                }
            }
        ),
        file=sys.stderr,
    )
    sys.exit(1)


def cmd_api(args):
    with _client(args) as client:
        try:
            result = API_COMMANDS[args.api_command](client, args)
        except EnvoiError as error:
            _exit_with_error(error)
    _print_message(result)


def cmd_statement(args):
    from envoi.core import statement_export

    with _client(args) as client:
        try:
            statement = statement_export.read_statement(
                client, args.account_id, args.start, args.end, args.page_size
            )
        except EnvoiError as error:
            _exit_with_error(error)
    write = {"csv": statement_export.write_csv, "json": statement_export.write_json}
    write[args.format](statement, sys.stdout)


class _CommandParser(argparse.ArgumentParser):
    """A command's parser whose arguments may be added when it is first used
    (add_arguments), so that a command imports only the tooling it runs."""

    def __init__(self, *args, add_arguments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def parse_known_args(self, args=None, namespace=None):
        if self._add_arguments:
            add_arguments, self._add_arguments = self._add_arguments, None
            add_arguments(self)
        return super().parse_known_args(args, namespace)


def _database_options(p, variable="ENVOI_DATABASE_URL"):
    p.add_argument(
        "--database-url",
        help=f"PostgreSQL URL (default: {variable}, else the embedded PostgreSQL)",
    )
    p.add_argument(
        "--data-dir",
        help="embedded database directory (default: ENVOI_DATA_DIR or ~/.local/share/envoi)",
    )


def _api_options(p, name):
    p.add_argument(
        "--target",
        default=os.environ.get("ENVOI_TARGET", DEFAULT_TARGET),
        help="server address (default: ENVOI_TARGET or localhost:50051)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("ENVOI_TOKEN"),
        help="bearer token (default: ENVOI_TOKEN)",
    )
    p.set_defaults(handler=cmd_api, api_command=name)


def _add_serve(commands):
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
    _database_options(serve)
    serve.set_defaults(handler=cmd_serve)
    # Each payment provider's settings, under the providers' heading.
    serve.format_help = _with_plugin_settings(serve.format_help, "envoi.providers", "")


def _add_gateway(commands):
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


def _add_webhooks(commands):
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


def _add_plugins_and_migrate(commands):
    plugins_command = commands.add_parser(
        "plugins",
        help="list the installed channel and payment provider plugins and their versions",
        description="List the plugins of the envoi.channels (channels) and envoi.providers "
        "(payment providers) entry point groups, with their distribution and version; "
        "ENVOI_CHANNELS and ENVOI_PROVIDERS (comma-separated names) limit which load.",
    )
    plugins_command.set_defaults(handler=cmd_plugins)
    new = plugins_command.add_subparsers(metavar="{new}").add_parser(
        "new",
        help="make a channel plugin's package that works as made",
        description="Write envoi-channel-NAME/ into DIR: a channel plugin (signed webhooks "
        "in, messages out), an emulator of its network, and end-to-end tests on a real "
        "envoi serve; then `pip install -e 'envoi-channel-NAME[test]'` and `pytest` in it "
        "(docs/plugins.md).",
    )
    new.add_argument("name", metavar="NAME", help="the channel's name: 1 to 32 of a-z 0-9 _")
    new.add_argument("--into", metavar="DIR", default=".", help="where to write it (default: .)")
    new.set_defaults(handler=cmd_plugins_new)
    migrate = commands.add_parser(
        "migrate",
        help="apply database migrations, as the tables' owner",
        description="Apply the pending migrations as the owner of the tables: "
        "--database-url or ENVOI_MIGRATION_DATABASE_URL, else the embedded PostgreSQL "
        "(docs/operations.md).",
    )
    _database_options(migrate, "ENVOI_MIGRATION_DATABASE_URL")
    migrate.set_defaults(handler=cmd_migrate)


def _add_token(commands):
    token = commands.add_parser("token", help="create and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    create = token.add_parser("create", help="create a bearer token; it is printed once")
    create.add_argument(
        "--role", required=True, help="the token's role, as in docs/roles.md (e.g. admin)"
    )
    create.add_argument("--channel", help="channel name, for --role channel (e.g. twitter)")
    create.add_argument("--account", help="merchant account id, for --role merchant")
    _database_options(create)
    create.set_defaults(handler=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token by its token_id")
    revoke.add_argument("token_id")
    _database_options(revoke)
    revoke.set_defaults(handler=cmd_token_revoke)


def _add_parse(commands):
    parse = commands.add_parser(
        "parse",
        help="parse a post as a payment, offline (the channels' grammar)",
        description="Parse TEXT with the post grammar (@bot #envoyer 10€ @alice) and print "
        "the transfer it asks for, or why it is rejected. No server, no database.",
        epilog=PARSE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parse.add_argument("text", metavar="TEXT", help="the post's text, as the network sends it")
    grammar = parse.add_mutually_exclusive_group()
    grammar.add_argument(
        "--bot",
        metavar="HANDLE",
        help="the bot's X handle (default: ENVOI_TWITTER_BOT_HANDLE or SmoneyFR)",
    )
    grammar.add_argument(
        "--channel",
        metavar="NAME",
        help="parse with that channel plugin's grammar instead of X's (envoi plugins)",
    )
    parse.add_argument(
        "--dm",
        action="store_true",
        help="TEXT is a private message to the bot: no mention of it needed",
    )
    parse.set_defaults(handler=cmd_parse)


# The tooling commands (core/ops), each module imported only when its command
# is parsed: (help, description).
OPS_COMMANDS = {
    "bench": (
        "measure envoi against its PostgreSQL's own limit",
        "Start an embedded PostgreSQL (or use ENVOI_DATABASE_URL's server, in "
        "databases made and dropped for the run) and an `envoi serve`, then measure pgbench, "
        "one transfer as envoi's SQL and as the least SQL of any ledger, confirmed transfers "
        "through gRPC (at several concurrencies, and to one hot account), bulk transfers "
        "against raw SQL, signed X webhooks to pending transfers through the gateway at 200 "
        "and 1,000 posts/s, and with --large the same transfers on a ledger of a million "
        "accounts. Writes OUT/results.json, OUT/results.md and two PNG plots, and prints the "
        "table (docs/performance.md).",
    ),
    "torture": (
        "a bank workload under faults, then a proof that no money was lost",
        "Start an embedded PostgreSQL (or use ENVOI_DATABASE_URL's server) and two "
        "`envoi serve` processes on one database; run confirmed transfers and balance reads "
        "from concurrent clients, retried with the same request ids, while servers are "
        "killed (SIGKILL), stopped gracefully (SIGTERM) and PostgreSQL is crash-restarted "
        "(with --replicated: a primary and its synchronous standby, the primary killed and the "
        "standby promoted); "
        "then check that every read and the final ledger sum to the known total, that every "
        "acknowledged transfer is in the ledger once, and the ledger's invariants. Writes "
        "OUT/summary.json, prints a table, exits 1 on any violation (docs/reliability.md).",
    ),
    "cluster": (
        "envoi on etcd, Patroni, HAProxy and N servers, on one machine",
        "up: start 3 etcd members, 3 PostgreSQL nodes under Patroni (synchronous mode strict), "
        "HAProxy to the leader and N `envoi serve`, and print their addresses; down: stop them; "
        "status: members, roles and servers (docs/deploy.md).",
    ),
}


def _add_ops(commands):
    for name, (help_text, description) in OPS_COMMANDS.items():

        def add_arguments(p, name=name):
            import importlib

            tool = importlib.import_module(f"envoi.core.ops.{name}")
            tool.add_arguments(p)
            p.set_defaults(handler=tool.run_command)

        commands.add_parser(
            name, help=help_text, description=description, add_arguments=add_arguments
        )


def _add_account(commands):
    from envoi.core.statement_export import parse_time

    account = commands.add_parser(
        "account", help="open, read, credit, freeze and close accounts"
    ).add_subparsers(dest="account_command", required=True, metavar="ACTION")
    p = account.add_parser("open", help="open an account")
    p.add_argument(
        "--kind",
        default="PERSON",
        choices=["PERSON", "ASSOCIATION", "MERCHANT", "SETTLEMENT"],
        help="PERSON (the wallet's); the others need an admin token. SETTLEMENT: one of"
        " envoi's clearing accounts, moved only by batches (CreateTransfers)",
    )
    p.add_argument("--name", required=True, help="display name")
    p.add_argument("--code", required=True, help="the 6-digit confirmation code")
    p.add_argument("--currency", default="", help="ISO 4217 code (default: the server's)")
    _api_options(p, "account open")
    p = account.add_parser("get", help="show an account")
    p.add_argument("account_id")
    _api_options(p, "account get")
    p = account.add_parser("balance", help="show balance, held, available (or a past balance)")
    p.add_argument("account_id")
    p.add_argument(
        "--as-of",
        type=parse_time,
        help="the balance at this ISO 8601 time instead (held and available are not kept"
        " in the past); UTC without offset",
    )
    _api_options(p, "account balance")
    _add_account_codes(account)
    _add_account_status(account)
    p = account.add_parser("credit", help="admin: move money in from the funding account")
    p.add_argument("account_id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    _api_options(p, "account credit")
    p = account.add_parser(
        "debit-mandate",
        help="admin: let batches (CreateTransfers) debit a merchant or association, or stop",
    )
    p.add_argument("account_id")
    grant = p.add_mutually_exclusive_group(required=True)
    grant.add_argument("--grant", dest="active", action="store_true", help="record a mandate")
    grant.add_argument("--revoke", dest="active", action="store_false", help="revoke it")
    p.add_argument("--reason", required=True, help="why: kept with who and when (280 at most)")
    _api_options(p, "account debit-mandate")


def _add_account_codes(account):
    p = account.add_parser(
        "change-code",
        help="wallet: set a new code, given the current one (a wrong one counts toward the lock)",
    )
    p.add_argument("account_id")
    p.add_argument("--current-code", required=True, help="the account's 6-digit code now")
    p.add_argument("--code", required=True, help="the new 6-digit code")
    _api_options(p, "account change-code")
    p = account.add_parser(
        "reset-code",
        help="admin: set a forgotten or locked code; money out is held for"
        " ENVOI_CODE_RESET_HOLD_S (default 24 h) and the owner is told",
    )
    p.add_argument("account_id")
    p.add_argument("--code", required=True, help="the new 6-digit code")
    p.add_argument("--reason", required=True, help="why, for the audit trail (1 to 500 characters)")
    _api_options(p, "account reset-code")


def _add_account_status(account):
    for action, text in (
        (
            "freeze",
            "admin: no money leaves the account by any path until unfrozen (money in"
            " still arrives); the owner is told",
        ),
        ("unfreeze", "admin: lift a freeze; the owner is told"),
    ):
        p = account.add_parser(action, help=text)
        p.add_argument("account_id")
        p.add_argument("--reason", required=True, help="why, kept (1 to 280 characters)")
        _api_options(p, f"account {action}")
    p = account.add_parser(
        "close",
        help="close an empty account for good (its identities are unlinked): the owner"
        " with --code (wallet token), or an admin with --reason",
    )
    p.add_argument("account_id")
    p.add_argument("--code", default="", help="the owner's 6-digit code (wallet token)")
    p.add_argument("--reason", default="", help="why (an admin's: required; 280 at most)")
    _api_options(p, "account close")


def _add_transfer(commands):
    transfer = commands.add_parser(
        "transfer", help="send, confirm, cancel and list transfers"
    ).add_subparsers(dest="transfer_command", required=True, metavar="ACTION")
    p = transfer.add_parser("send", help="initiate a transfer (held until confirmed)")
    p.add_argument("--from", dest="from_account", required=True, help="sender account id")
    p.add_argument("--to", dest="to_account", required=True, help="recipient account id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    _api_options(p, "transfer send")
    p = transfer.add_parser("confirm", help="confirm with the sender's code")
    p.add_argument("transfer_id")
    p.add_argument("--code", required=True)
    _api_options(p, "transfer confirm")
    for action, text in (("cancel", "cancel a pending transfer"), ("get", "show a transfer")):
        p = transfer.add_parser(action, help=text)
        p.add_argument("transfer_id")
        _api_options(p, f"transfer {action}")
    p = transfer.add_parser("list", help="history of an account, newest first")
    p.add_argument("account_id")
    p.add_argument(
        "--state",
        action="append",
        default=[],
        choices=["PENDING_CONFIRMATION", "COMPLETED", "CANCELLED", "EXPIRED"],
    )
    p.add_argument(
        "--direction", default="UNSPECIFIED", choices=["UNSPECIFIED", "INCOMING", "OUTGOING"]
    )
    p.add_argument("--page-size", type=int, default=0)
    p.add_argument("--page-token", default="")
    _api_options(p, "transfer list")


def _add_statement(commands):
    from envoi.core.statement_export import parse_time

    p = commands.add_parser(
        "statement",
        help="an account's statement: its postings between two times, with the"
        " opening and closing balances (CSV or JSON)",
        description="Every posting of ACCOUNT_ID dated at or after --from and before --to,"
        " oldest first, each with the balance after it, between the balance at --from"
        " (OPENING) and at --to (CLOSING): OPENING plus the lines' amounts is CLOSING."
        " Amounts are integer cents (amount_cents, balance_after_cents) with their"
        " currency, and in units (amount, balance_after). Read page by page through"
        " AccountService.ListStatement; docs/statements.md.",
    )
    p.add_argument("account_id")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        type=parse_time,
        help="start, ISO 8601 (2026-12-01 or 2026-12-01T08:00:00+01:00; UTC without offset)",
    )
    p.add_argument(
        "--to",
        dest="end",
        type=parse_time,
        help="end (excluded), at most 366 days after --from (default: the latest settled"
        " time, about now)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv", help="default: csv")
    p.add_argument("--page-size", type=int, default=500, help="lines per call (at most 500)")
    _api_options(p, "statement")
    p.set_defaults(handler=cmd_statement)


# Each adds one command group; the order is the order `envoi --help` lists them.
COMMAND_GROUPS = (
    _add_serve,
    _add_gateway,
    _add_webhooks,
    _add_plugins_and_migrate,
    _add_token,
    _add_parse,
    _add_ops,
    _add_account,
    _add_transfer,
    _add_statement,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envoi", description=DESCRIPTION)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
    for add_group in COMMAND_GROUPS:
        add_group(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (config.ConfigError, ValueError) as error:
        sys.exit(f"envoi: {error}")


if __name__ == "__main__":
    main()
