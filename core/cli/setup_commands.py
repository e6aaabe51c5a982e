"""The commands that set envoi up: `envoi plugins`, `envoi migrate`, `envoi token`."""

import dataclasses
import pathlib
import sys

from envoi.core import config, startup
from envoi.core.cli.options import database_options, print_json, settings


def cmd_plugins(args):
    from envoi import plugins

    print_json([dataclasses.asdict(plugin) for plugin in plugins.installed_plugins()])


def cmd_plugins_new(args):
    from envoi.plugins import new_plugin

    try:
        root = new_plugin.create(args.name, pathlib.Path(args.into))
    except ValueError as error:
        sys.exit(f"envoi plugins new: {error}")
    print_json({"created": str(root)})


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
    print_json({"applied": applied})


def _with_database(args, work):
    """work(conn) as the server's role, on a current schema (never as the owner)."""
    import psycopg

    urls = startup.server_database(settings(args))
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
    if args.output == "token":
        print(token)
    else:
        print_json({"token_id": token_id, "role": args.role, "token": token})


def cmd_token_revoke(args):
    from envoi.core.auth import api_tokens

    if not _with_database(args, lambda conn: api_tokens.revoke_token(conn, args.token_id)):
        sys.exit(f"no live token {args.token_id}")
    print_json({"revoked": args.token_id})


def add_plugins_and_migrate(commands):
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
    database_options(migrate, "ENVOI_MIGRATION_DATABASE_URL")
    migrate.set_defaults(handler=cmd_migrate)


def add_token(commands):
    token = commands.add_parser("token", help="create and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    create = token.add_parser("create", help="create a bearer token; it is printed once")
    create.add_argument(
        "--role", required=True, help="the token's role, as in docs/roles.md (e.g. admin)"
    )
    create.add_argument("--channel", help="channel name, for --role channel (e.g. twitter)")
    create.add_argument("--account", help="merchant account id, for --role merchant")
    create.add_argument(
        "--output",
        choices=["json", "token"],
        default="json",
        help="json (default: token_id, role, token) or token (the token alone, for"
        " ADMIN=$(envoi token create --role admin --output token))",
    )
    database_options(create)
    create.set_defaults(handler=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token by its token_id")
    revoke.add_argument("token_id")
    database_options(revoke)
    revoke.set_defaults(handler=cmd_token_revoke)
