"""What every API command shares: the server and token options, the client,
the reply's output (envoi.core.cli.output) and failures printed with a hint
naming the command that helps."""

import json
import os
import re
import sys

from envoi.client import EnvoiClient, EnvoiError
from envoi.client.client import DEFAULT_TARGET
from envoi.core import tls
from envoi.core.cli import output

# How long a command waits for the server's connection: a server that is not
# there is reported (UNAVAILABLE, naming the target) after this, not after the
# call's whole deadline.
CONNECT_TIMEOUT_S = 5.0

# A transfer id cut to its first 8 hex digits, as channels' replies showed it
# before they carried the whole id. The API takes only whole ids: a prefix would
# have to be looked up among transfers the caller may read, and could match several.
SHORT_REFERENCE = re.compile(r"[0-9a-f]{8}")

# A failure's reason -> what to run about it. tests/test_cli_output.py checks
# that each names a command of this CLI.
HINTS = {
    "UNAVAILABLE": "start the server (envoi serve) or name it: --target or ENVOI_TARGET",
    "UNAUTHENTICATED": "give a live token, --token or ENVOI_TOKEN: envoi token create --role ROLE",
    "PERMISSION_DENIED": "this token's role may not call it (docs/roles.md says which may): "
    "envoi token create --role ROLE makes a token of another role",
    "ACCOUNT_NOT_FOUND": "check the whole account id: envoi account get ACCOUNT_ID",
    "TRANSFER_NOT_FOUND": "check the whole transfer id: envoi transfer list ACCOUNT_ID "
    "--output table lists an account's transfers",
    "SHORT_REFERENCE": "give the whole transfer id (the wallet's link carries it): "
    "envoi transfer list ACCOUNT_ID --output table lists an account's transfers",
    "INSUFFICIENT_FUNDS": "see what is available with envoi account balance ACCOUNT_ID; "
    "an admin adds money with envoi account credit ACCOUNT_ID --amount-cents N",
    "RECIPIENT_NOT_VERIFIED": "an admin verifies the business first: envoi account "
    "verify-business ACCOUNT_ID --legal-name NAME --siren NUMBER",
    "INVALID_CODE": "try again with the right code; a forgotten one is reset by an admin: "
    "envoi account reset-code ACCOUNT_ID --code NEW --reason TEXT",
    "CODE_LOCKED": "only an admin unlocks it, after checking who asks: envoi account "
    "reset-code ACCOUNT_ID --code NEW --reason TEXT",
    "CODE_RESET_HOLD": "money out waits until the hold ends: envoi account get ACCOUNT_ID "
    "shows code_reset_hold_end_time",
    "ACCOUNT_FROZEN": "an admin lifts the freeze: envoi account unfreeze ACCOUNT_ID --reason TEXT",
    "IDENTITY_NOT_LINKED": "link it first: envoi identity link ACCOUNT_ID --namespace NAME "
    "--subject-id ID",
    "IDENTITY_ALREADY_LINKED": "unlink it from the account that holds it: envoi identity "
    "unlink ACCOUNT_ID --namespace NAME --subject-id ID (envoi identity resolve finds it)",
    "TRANSFER_NOT_PENDING": "see its state: envoi transfer get TRANSFER_ID",
    "COLLECTION_NOT_FOUND": "see the owner's collections: envoi collection list ACCOUNT_ID",
    "API_KEY_NOT_FOUND": "see the merchant's keys: envoi api-key list ACCOUNT_ID",
    "WEBHOOK_ENDPOINT_NOT_FOUND": "see the merchant's endpoints: envoi webhook list ACCOUNT_ID",
}


def add_api_options(p, *, with_output: bool = True, outputs=output.OUTPUTS) -> None:
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
    if not with_output:
        return
    p.add_argument(
        "--output",
        choices=outputs,
        default="json",
        help="json (default: the whole reply, for scripts), table (for people, amounts"
        " as 39.50 EUR) or id (only the reply's id)"
        + (", or secret (only the secret, shown once)" if "secret" in outputs else ""),
    )


def api_command(actions, name: str, help_text: str, call, *, outputs=output.OUTPUTS):
    """A subcommand NAME of actions that runs call(client, args) and prints its reply."""
    p = actions.add_parser(name, help=help_text, description=help_text)
    add_api_options(p, outputs=outputs)
    p.set_defaults(handler=run_api, api_call=call)
    return p


def client(args) -> EnvoiClient:
    if not args.token:
        sys.exit("an API command needs a token: --token or ENVOI_TOKEN (envoi token create)")
    return EnvoiClient(
        args.target,
        args.token,
        credentials=tls.client_credentials(),
        connect_timeout_s=CONNECT_TIMEOUT_S,
    )


def run_api(args) -> None:
    _refuse_short_references(args)
    with client(args) as envoi:
        try:
            reply = args.api_call(envoi, args)
        except EnvoiError as error:
            exit_with_error(error, args)
    output.print_reply(reply, args.output)


def _refuse_short_references(args) -> None:
    # Only a transfer's: a channel's subject_id may well be 8 digits.
    value = getattr(args, "transfer_id", None)
    if isinstance(value, str) and SHORT_REFERENCE.fullmatch(value):
        error = EnvoiError(
            f"{value} is the short reference channels' replies used to show, not an id",
            metadata={"reference": value},
        )
        error.reason = "SHORT_REFERENCE"
        exit_with_error(error, args)


def exit_with_error(error: EnvoiError, args=None):
    """The failure on stderr, exit 1: JSON with --output json, else a line of text."""
    hint = HINTS.get(error.reason, "")
    if getattr(args, "output", "json") == "json":
        failure = {
            "reason": error.reason,
            "message": error.message,
            "metadata": error.metadata,
            "field_violations": error.field_violations,
        }
        print(json.dumps({"error": failure | ({"hint": hint} if hint else {})}), file=sys.stderr)
    else:
        print(f"envoi: {error.reason}: {error.message}", file=sys.stderr)
        for field, text in error.field_violations.items():
            print(f"  {field}: {text}", file=sys.stderr)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
    sys.exit(1)
