"""`envoi statement`: an account's statement, read page by page through
ListStatement, written as CSV or as one JSON document (docs/statements.md)."""

import csv
import datetime
import json
from decimal import Decimal

from google.protobuf import json_format

from envoi.v1 import transfer_pb2

CENT_DIGITS = 2  # envoi counts every currency in hundredths (amount_cents)
CSV_COLUMNS = (
    "row",
    "post_time",
    "transfer_id",
    "kind",
    "counterparty",
    "memo",
    "amount_cents",
    "balance_after_cents",
    "currency_code",
    "amount",
    "balance_after",
)


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time or date (a date is its midnight); UTC when no offset is given."""
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def decimal_text(amount_cents: int) -> str:
    return str(Decimal(amount_cents).scaleb(-CENT_DIGITS))


def _time_text(stamp) -> str:
    return stamp.ToDatetime(datetime.timezone.utc).isoformat()


def read_statement(client, account_id: str, start, end, page_size: int = 0) -> dict:
    """Every page of the statement: the first page's ends and balances, all lines."""
    pages = list(client.iter_statement(account_id, start, end, page_size=page_size))
    first = pages[0]
    return {
        "first": first,
        "lines": [line for page in pages for line in page.lines],
    }


def write_csv(statement: dict, out) -> None:
    """A header, an OPENING row, one row per line, a CLOSING row."""
    first = statement["first"]
    currency = first.opening_balance.currency_code
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def balance_row(name: str, stamp, cents: int) -> list:
        blanks = ["", "", "", "", ""]  # transfer_id to amount_cents
        return [name, _time_text(stamp), *blanks, cents, currency, "", decimal_text(cents)]

    writer.writerow(balance_row("OPENING", first.start_time, first.opening_balance.amount_cents))
    for line in statement["lines"]:
        writer.writerow(
            [
                "LINE",
                _time_text(line.post_time),
                line.transfer_id,
                transfer_pb2.TransferKind.Name(line.kind).removeprefix("TRANSFER_KIND_"),
                line.counterparty_display_name,
                line.memo,
                line.amount.amount_cents,
                line.balance_after.amount_cents,
                currency,
                decimal_text(line.amount.amount_cents),
                decimal_text(line.balance_after.amount_cents),
            ]
        )
    writer.writerow(balance_row("CLOSING", first.end_time, first.closing_balance.amount_cents))


def write_json(statement: dict, out) -> None:
    """One document: the account, the ends, both balances and every line."""
    first = statement["first"]

    def as_dict(message) -> dict:
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    document = {
        "account_id": first.account_id,
        "start_time": _time_text(first.start_time),
        "end_time": _time_text(first.end_time),
        "opening_balance": as_dict(first.opening_balance),
        "closing_balance": as_dict(first.closing_balance),
        "lines": [as_dict(line) for line in statement["lines"]],
    }
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
