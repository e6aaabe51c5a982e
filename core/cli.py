"""The `envoi` command: run the server, manage the database and tokens, and
call the API (accounts, transfers) through EnvoiClient.

API commands print the response as JSON on stdout; a failed call prints
{"error": {...}} on stderr and exits 1.
"""
import argparse
import json
import os
import pathlib
import sys

from google.protobuf import json_format

from envoi.client import EnvoiClient, EnvoiError
from envoi.client.client import DEFAULT_TARGET
from envoi.core import api_tokens, config, migrations, startup

DESCRIPTION = "envoi: a gRPC payment core with plug-in social channels"


def _settings(args) -> config.Settings:
    return config.from_environment(
        database_url=getattr(args, "database_url", None),
        data_dir=pathlib.Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        listen=getattr(args, "listen", None),
        workers=getattr(args, "workers", None))


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _print_message(message) -> None:
    _print_json(json_format.MessageToDict(message, preserving_proto_field_name=True,
                                            always_print_fields_with_no_presence=True))


def cmd_serve(args):
    from envoi.core import server  # grpc server parts load only for this command
    server.serve(_settings(args))


def cmd_migrate(args):
    settings = _settings(args)
    database_url, _embedded = startup.database_url(settings)
    applied = migrations.migrate(database_url)
    _print_json({"applied": applied})


def _with_database(args, work):
    import psycopg
    settings = _settings(args)
    database_url, _embedded = startup.database_url(settings)
    migrations.migrate(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        return work(conn)


def cmd_token_create(args):
    token_id, token = _with_database(args, lambda conn: api_tokens.create_token(
        conn, args.role, channel_name=args.channel, merchant_account_id=args.account))
    _print_json({"token_id": token_id, "role": args.role, "token": token})


def cmd_token_revoke(args):
    if not _with_database(args, lambda conn: api_tokens.revoke_token(conn, args.token_id)):
        sys.exit(f"no live token {args.token_id}")
    _print_json({"revoked": args.token_id})


def _client(args) -> EnvoiClient:
    if not args.token:
        sys.exit("an API command needs a token: --token or ENVOI_TOKEN (envoi token create)")
    return EnvoiClient(args.target, args.token)


API_COMMANDS = {
    "account open": lambda c, a: c.open_account(a.kind, a.name, a.code, currency_code=a.currency),
    "account get": lambda c, a: c.get_account(a.account_id),
    "account balance": lambda c, a: c.get_balance(a.account_id),
    "account change-code": lambda c, a: c.change_code(a.account_id, a.code),
    "account credit": lambda c, a: c.credit_account(
        a.account_id, a.amount_cents, currency_code=a.currency, memo=a.memo),
    "transfer send": lambda c, a: c.initiate_transfer(
        a.from_account, a.to_account, a.amount_cents, currency_code=a.currency, memo=a.memo),
    "transfer confirm": lambda c, a: c.confirm_transfer(a.transfer_id, a.code),
    "transfer cancel": lambda c, a: c.cancel_transfer(a.transfer_id),
    "transfer get": lambda c, a: c.get_transfer(a.transfer_id),
    "transfer list": lambda c, a: c.list_transfers(
        a.account_id, states=a.state, direction=a.direction, page_size=a.page_size,
        page_token=a.page_token),
}


def cmd_api(args):
    with _client(args) as client:
        try:
            result = API_COMMANDS[args.api_command](client, args)
        except EnvoiError as error:
            print(json.dumps({"error": {"reason": error.reason, "message": error.message,
                                        "metadata": error.metadata,
                                        "field_violations": error.field_violations}}),
                  file=sys.stderr)
            sys.exit(1)
    _print_message(result)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envoi", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def database_options(p):
        p.add_argument("--database-url", help="PostgreSQL URL (default: ENVOI_DATABASE_URL, "
                                              "else the embedded PostgreSQL)")
        p.add_argument("--data-dir", help="embedded database directory (default: ENVOI_DATA_DIR "
                                          "or ~/.local/share/envoi)")

    serve = commands.add_parser(
        "serve", help="run the gRPC server", epilog=config.SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve envoi over gRPC, with health checking and reflection. Applies "
                    "migrations first. SIGTERM: health turns NOT_SERVING, in-flight RPCs finish.")
    serve.add_argument("--listen", help="address to serve on (default: ENVOI_LISTEN or "
                                        "localhost:50051)")
    serve.add_argument("--workers", type=int, help="server processes sharing the port "
                                                   "(default: ENVOI_WORKERS or 1)")
    database_options(serve)
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    database_options(migrate)
    migrate.set_defaults(handler=cmd_migrate)

    token = commands.add_parser("token", help="create and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    create = token.add_parser("create", help="create a bearer token; it is printed once")
    create.add_argument("--role", required=True, choices=api_tokens.ROLES)
    create.add_argument("--channel", help="channel name, for --role channel (e.g. twitter)")
    create.add_argument("--account", help="merchant account id, for --role merchant")
    database_options(create)
    create.set_defaults(handler=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token by its token_id")
    revoke.add_argument("token_id")
    database_options(revoke)
    revoke.set_defaults(handler=cmd_token_revoke)

    def api_options(p, name):
        p.add_argument("--target", default=os.environ.get("ENVOI_TARGET", DEFAULT_TARGET),
                       help="server address (default: ENVOI_TARGET or localhost:50051)")
        p.add_argument("--token", default=os.environ.get("ENVOI_TOKEN"),
                       help="bearer token (default: ENVOI_TOKEN)")
        p.set_defaults(handler=cmd_api, api_command=name)

    account = commands.add_parser("account", help="open, read and credit accounts") \
        .add_subparsers(dest="account_command", required=True, metavar="ACTION")
    p = account.add_parser("open", help="open an account")
    p.add_argument("--kind", default="PERSON", choices=["PERSON", "ASSOCIATION", "MERCHANT"])
    p.add_argument("--name", required=True, help="display name")
    p.add_argument("--code", required=True, help="the 6-digit confirmation code")
    p.add_argument("--currency", default="", help="ISO 4217 code (default: the server's)")
    api_options(p, "account open")
    for action, text in (("get", "show an account"), ("balance", "show balance, held, available")):
        p = account.add_parser(action, help=text)
        p.add_argument("account_id")
        api_options(p, f"account {action}")
    p = account.add_parser("change-code", help="set a new code (lifts a code lock)")
    p.add_argument("account_id")
    p.add_argument("--code", required=True, help="the new 6-digit code")
    api_options(p, "account change-code")
    p = account.add_parser("credit", help="admin: move money in from the funding account")
    p.add_argument("account_id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    api_options(p, "account credit")

    transfer = commands.add_parser("transfer", help="send, confirm, cancel and list transfers") \
        .add_subparsers(dest="transfer_command", required=True, metavar="ACTION")
    p = transfer.add_parser("send", help="initiate a transfer (held until confirmed)")
    p.add_argument("--from", dest="from_account", required=True, help="sender account id")
    p.add_argument("--to", dest="to_account", required=True, help="recipient account id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    api_options(p, "transfer send")
    p = transfer.add_parser("confirm", help="confirm with the sender's code")
    p.add_argument("transfer_id")
    p.add_argument("--code", required=True)
    api_options(p, "transfer confirm")
    for action, text in (("cancel", "cancel a pending transfer"), ("get", "show a transfer")):
        p = transfer.add_parser(action, help=text)
        p.add_argument("transfer_id")
        api_options(p, f"transfer {action}")
    p = transfer.add_parser("list", help="history of an account, newest first")
    p.add_argument("account_id")
    p.add_argument("--state", action="append", default=[],
                   choices=["PENDING_CONFIRMATION", "COMPLETED", "CANCELLED", "EXPIRED"])
    p.add_argument("--direction", default="UNSPECIFIED",
                   choices=["UNSPECIFIED", "INCOMING", "OUTGOING"])
    p.add_argument("--page-size", type=int, default=0)
    p.add_argument("--page-token", default="")
    api_options(p, "transfer list")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (config.ConfigError, ValueError) as error:
        sys.exit(f"envoi: {error}")


if __name__ == "__main__":
    main()
