"""`envoi transfer` (send, confirm, cancel, refund, list, pending) and `envoi statement`."""

import sys

from envoi.client import EnvoiError
from envoi.core.cli.api import add_api_options, api_command, client, exit_with_error


def add_transfer(commands):
    transfer = commands.add_parser(
        "transfer", help="send, confirm, cancel, refund and list transfers"
    ).add_subparsers(dest="transfer_command", required=True, metavar="ACTION")
    p = api_command(
        transfer,
        "send",
        "initiate a transfer (held until confirmed)",
        lambda c, a: c.initiate_transfer(
            a.from_account_id,
            a.to_account_id,
            a.amount_cents,
            currency_code=a.currency,
            memo=a.memo,
        ),
    )
    p.add_argument("--from", dest="from_account_id", required=True, help="sender account id")
    p.add_argument("--to", dest="to_account_id", required=True, help="recipient account id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    p = api_command(
        transfer,
        "confirm",
        "confirm with the sender's code",
        lambda c, a: c.confirm_transfer(a.transfer_id, a.code),
    )
    p.add_argument("transfer_id")
    p.add_argument("--code", required=True)
    for action, text, method in (
        ("cancel", "cancel a pending transfer", "cancel_transfer"),
        ("get", "show a transfer", "get_transfer"),
    ):
        p = api_command(
            transfer, action, text, lambda c, a, method=method: getattr(c, method)(a.transfer_id)
        )
        p.add_argument("transfer_id")
    _add_refund(transfer)
    _add_lists(transfer)


def _add_refund(transfer):
    p = api_command(
        transfer,
        "refund",
        "pay back some or all of a completed payment to a merchant or association"
        " (a merchant's API key with the refunds scope, or the association's --code)",
        lambda c, a: c.refund_transfer(
            a.transfer_id, a.amount_cents, currency_code=a.currency, memo=a.memo, code=a.code
        ),
    )
    p.add_argument("transfer_id", help="the payment to refund")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    p.add_argument("--code", default="", help="an association's 6-digit code (wallet token)")


def _add_lists(transfer):
    p = api_command(
        transfer,
        "list",
        "history of an account, newest first",
        lambda c, a: c.list_transfers(
            a.account_id,
            states=a.state,
            direction=a.direction,
            page_size=a.page_size,
            page_token=a.page_token,
        ),
    )
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
    p = api_command(
        transfer,
        "pending",
        "the account's payments waiting for its code, oldest first",
        lambda c, a: c.list_pending_confirmations(
            a.account_id, page_size=a.page_size, page_token=a.page_token
        ),
    )
    p.add_argument("account_id")
    p.add_argument("--page-size", type=int, default=0)
    p.add_argument("--page-token", default="")


def cmd_statement(args):
    from envoi.core import statement_export

    with client(args) as envoi:
        try:
            statement = statement_export.read_statement(
                envoi, args.account_id, args.start, args.end, args.page_size
            )
        except EnvoiError as error:
            exit_with_error(error)
    write = {"csv": statement_export.write_csv, "json": statement_export.write_json}
    write[args.format](statement, sys.stdout)


def add_statement(commands):
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
    add_api_options(p, with_output=False)
    p.set_defaults(handler=cmd_statement)
