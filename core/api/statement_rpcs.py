"""GetBalance's as_of and ListStatement: balances in the past and statements,
read from the postings (core/ledger/statements.py, docs/statements.md)."""

import datetime

from google.protobuf import timestamp_pb2

from envoi.core.api import page_tokens
from envoi.core.api.request_validation import RequestCheck
from envoi.core.enums import TransferKind
from envoi.core.ledger import statements
from envoi.v1 import account_pb2, account_service_pb2, money_pb2

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# A statement covers at most this long: each page sums the lines of the range
# before it, so one page's work stays bounded.
MAX_RANGE = datetime.timedelta(days=366)
# Page positions are microseconds since this time (never negative).
EPOCH = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)
MICROSECOND = datetime.timedelta(microseconds=1)


def check_time(check: RequestCheck, field: str, request) -> datetime.datetime | None:
    """An optional Timestamp field in whole microseconds (PostgreSQL's precision:
    a time between two microseconds would be rounded, and a balance at it
    could count a posting it should not)."""
    value = check.timestamp(field, request)
    if value is not None and getattr(request, field).nanos % 1000:
        check.fail(field, "must be in whole microseconds")
        return None
    return value


def balance_as_of(
    conn, account: dict, as_of: datetime.datetime, settle_s: float
) -> account_pb2.Balance:
    """The account's balance at as_of: only `balance` (held is not kept in the past)."""
    statements.settled_before(conn, as_of, "as_of", settle_s)
    cents = statements.balance_before(conn, str(account["account_id"]), as_of)
    return account_pb2.Balance(
        account_id=str(account["account_id"]),
        balance=money_pb2.Money(currency_code=account["currency_code"], amount_cents=cents),
    )


class StatementQuery:
    """A checked ListStatementRequest: its times, and where its page starts."""

    def __init__(self, request):
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            check.fail("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
        if not request.HasField("start_time"):
            check.fail("start_time", "required")
        self.start = check_time(check, "start_time", request)
        self.end = check_time(check, "end_time", request)
        if self.start and self.end and self.end < self.start:
            check.fail("end_time", "must not be before start_time")
        check.raise_if_any()
        self.account_id = request.account_id
        self.page_size = request.page_size or DEFAULT_PAGE_SIZE
        self.digest = page_tokens.filters_digest(
            "statement", request.account_id, self.start, self.end
        )
        # (end, time of the last line shown, its posting_id): end is kept for
        # a statement whose end the first page chose (the settled time).
        position = page_tokens.decode_position(request.page_token, self.digest, 3)
        self.after = None
        if position is not None:
            self.end = EPOCH + position[0] * MICROSECOND
            self.after = statements.Position(EPOCH + position[1] * MICROSECOND, position[2])

    def resolve_end(self, conn, settle_s: float) -> None:
        """Take the settled time as the end when none was given; check the
        end is settled and the range not too long."""
        if self.end is None:
            self.end = statements.settled_horizon(conn, settle_s)
        statements.settled_before(conn, self.end, "end_time", settle_s)
        if self.end - self.start > MAX_RANGE:
            check = RequestCheck()
            check.fail("start_time", f"at most {MAX_RANGE.days} days before end_time")
            check.raise_if_any()

    def next_token(self, last_line: dict) -> str:
        position = (
            (self.end - EPOCH) // MICROSECOND,
            (last_line["create_time"] - EPOCH) // MICROSECOND,
            last_line["posting_id"],
        )
        return page_tokens.encode_position(position, self.digest)


def statement_response(
    query: StatementQuery, currency_code: str, page: statements.Page
) -> account_service_pb2.ListStatementResponse:
    def money(cents: int) -> money_pb2.Money:
        return money_pb2.Money(currency_code=currency_code, amount_cents=cents)

    return account_service_pb2.ListStatementResponse(
        account_id=query.account_id,
        opening_balance=money(page.opening_cents),
        closing_balance=money(page.closing_cents),
        lines=[
            account_service_pb2.StatementLine(
                post_time=_stamp(line["create_time"]),
                amount=money(line["amount_cents"]),
                balance_after=money(line["balance_after_cents"]),
                transfer_id=str(line["transfer_id"]),
                kind=TransferKind(line["kind"]).proto(),
                counterparty_display_name=line["counterparty_display_name"] or "",
                counterparty_account_id=str(line["counterparty_account_id"] or ""),
                memo=line["memo"],
                posting_id=line["posting_id"],
            )
            for line in page.lines
        ],
        next_page_token=query.next_token(page.lines[-1]) if page.more else "",
        start_time=_stamp(query.start),
        end_time=_stamp(query.end),
    )


def _stamp(value: datetime.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp
