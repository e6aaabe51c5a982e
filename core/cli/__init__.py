"""The `envoi` command: run the server, manage the database and tokens, and
call the API through EnvoiClient. One module per role:

- processes: serve, gateway, webhooks (the long-running commands)
- setup_commands: plugins, migrate, token
- parse_command: parse (the grammar, offline); ops_commands: bench, torture
- accounts, transfers, operators: the API commands, on api (options, client,
  errors with hints) and output (--output json|table|id)

API commands print the reply on stdout (JSON by default); a failed call prints
its error on stderr ({"error": {...}} with --output json) and exits 1.
A new command lives in a module of its own, registered by one line in
COMMAND_GROUPS: "envoi.core.cli.MODULE:add_COMMAND", its function that adds
the command to the subparsers it is given.
"""

import argparse
import importlib
import sys

from envoi.core import config
from envoi.core.cli.accounts import add_account
from envoi.core.cli.operators import (
    add_api_key,
    add_collection,
    add_identity,
    add_request,
    add_webhook,
)
from envoi.core.cli.ops_commands import add_ops
from envoi.core.cli.parse_command import add_parse
from envoi.core.cli.processes import add_gateway, add_serve, add_webhooks
from envoi.core.cli.setup_commands import add_plugins_and_migrate, add_token
from envoi.core.cli.transfers import add_statement, add_transfer

DESCRIPTION = "envoi: a gRPC payment core with plug-in social channels"


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


# Each adds one command group, a function or "module:function"; the order is
# the order `envoi --help` lists them.
COMMAND_GROUPS = (
    add_serve,
    add_gateway,
    add_webhooks,
    add_plugins_and_migrate,
    add_token,
    add_parse,
    add_ops,
    add_account,
    add_transfer,
    add_statement,
    add_identity,
    add_collection,
    add_request,
    add_api_key,
    add_webhook,
    "envoi.core.cli.funding:add_events",
    "envoi.core.cli.funding:add_money_out_and_in",
    "envoi.core.demo_command:add_commands",  # envoi demo, envoi x-emulator
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envoi",
        description=DESCRIPTION,
        epilog="API commands talk to the server in ENVOI_TARGET (default localhost:50051)"
        " with the bearer token in ENVOI_TOKEN (or --target, --token).",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
    for add_group in COMMAND_GROUPS:
        if isinstance(add_group, str):  # "module:function", imported here
            module, _, name = add_group.partition(":")
            add_group = getattr(importlib.import_module(module), name)
        add_group(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (config.ConfigError, ValueError) as error:
        sys.exit(f"envoi: {error}")
