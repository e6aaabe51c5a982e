"""Balances in the past and statements, summed from the postings
(docs/statements.md).

A posting's time is its create_time: the start of the transaction that wrote
it (when the transfer completed, as its resolve_time says). The balance at T
is the sum of the account's postings with create_time < T. A transaction that
began before T may still be open, and commit postings dated before T later:
an answer about T is given only once no such transaction is left (T is
"settled"), so that it never changes afterwards.
"""

import dataclasses
import datetime

from psycopg.rows import dict_row

from envoi.client import errors

# Postings are written by envoi_server's client sessions; pg_stat_activity
# shows the server's role every session of its own role (and no other's;
# autovacuum's are left out, being no client's). A transaction takes its start
# time a moment before pg_stat_activity shows it: the margin.
SETTLED_HORIZON_SQL = """
SELECT statement_timestamp() AS now,
       least(statement_timestamp() - make_interval(secs => %(margin_s)s),
             (SELECT min(xact_start) FROM pg_stat_activity
               WHERE datname = current_database() AND backend_type = 'client backend'
                 AND pid <> pg_backend_pid())) AS horizon
"""

SUM_BEFORE_SQL = """
SELECT coalesce(sum(amount_cents), 0)::bigint FROM postings
 WHERE account_id = %(account)s AND create_time < %(time)s
"""

PAGE_SUMS_SQL = """
SELECT
  (SELECT coalesce(sum(amount_cents), 0) FROM postings
    WHERE account_id = %(account)s AND create_time < %(start)s)::bigint AS opening_cents,
  (SELECT coalesce(sum(amount_cents), 0) FROM postings
    WHERE account_id = %(account)s AND create_time >= %(start)s
      AND create_time < %(end)s)::bigint AS range_cents,
  (SELECT coalesce(sum(amount_cents), 0) FROM postings
    WHERE account_id = %(account)s AND create_time >= %(start)s
      AND (create_time, posting_id) <= (%(after_time)s, %(after_posting_id)s))::bigint
    AS before_page_cents
"""

# The line's other side: the transfer's other account; on a leg of neither
# side (envoi's fee revenue), both sides.
LINES_SQL = """
SELECT p.posting_id, p.create_time, p.amount_cents, p.transfer_id, t.kind, t.memo,
       CASE WHEN t.from_account_id = p.account_id THEN t.to_account_id
            WHEN t.to_account_id = p.account_id THEN t.from_account_id END
         AS counterparty_account_id,
       CASE WHEN t.from_account_id = p.account_id THEN t.to_display_name
            WHEN t.to_account_id = p.account_id THEN t.from_display_name
            ELSE t.from_display_name || ' -> ' || t.to_display_name END
         AS counterparty_display_name
  FROM postings p JOIN transfers_named t USING (transfer_id)
 WHERE p.account_id = %(account)s AND p.create_time >= %(start)s AND p.create_time < %(end)s
"""
LINES_ORDER_SQL = " ORDER BY p.create_time, p.posting_id LIMIT %(limit)s"
# After the first page: where it starts, an index condition (no OR with the
# first page's case, which would leave it a filter over the pages before).
AFTER_POSITION_SQL = " AND (p.create_time, p.posting_id) > (%(after_time)s, %(after_posting_id)s)"


def settled_before(conn, time: datetime.datetime, field: str, margin_s: float) -> None:
    """Raise unless every posting dated before `time` is committed already:
    INVALID_ARGUMENT for a time in the future, HISTORY_NOT_SETTLED while a
    transaction that began before it is still open, or it is less than
    margin_s ago (retry in a moment).
    Run it before the sums, each in a statement (a snapshot) of its own."""
    now, horizon = conn.execute(SETTLED_HORIZON_SQL, {"margin_s": margin_s}).fetchone()
    if time > now:
        raise errors.InvalidArgument(
            f"{field} is in the future",
            field_violations={field: "must not be after the server's current time"},
        )
    if time > horizon:
        raise errors.HistoryNotSettled(
            f"postings dated before {field} may still be committed; retry in a moment",
            metadata={"settled_time": horizon.isoformat()},
        )


def settled_horizon(conn, margin_s: float) -> datetime.datetime:
    """The latest time whose balance is final now."""
    return conn.execute(SETTLED_HORIZON_SQL, {"margin_s": margin_s}).fetchone()[1]


def balance_before(conn, account_id: str, time: datetime.datetime) -> int:
    """The sum of the account's postings dated before `time`."""
    return conn.execute(SUM_BEFORE_SQL, {"account": account_id, "time": time}).fetchone()[0]


@dataclasses.dataclass(frozen=True)
class Position:
    """The last line of the page before: (its time, its posting_id)."""

    time: datetime.datetime
    posting_id: int


@dataclasses.dataclass
class Page:
    opening_cents: int
    closing_cents: int
    lines: list[dict]  # each with balance_after_cents
    more: bool


def statement_page(
    conn,
    account_id: str,
    start: datetime.datetime,
    end: datetime.datetime,
    after: Position | None,
    limit: int,
) -> Page:
    """The account's postings dated in [start, end), in (time, posting_id)
    order, after `after`, at most `limit`, each with the balance after it."""
    params = {
        "account": account_id,
        "start": start,
        "end": end,
        "after_time": after.time if after else start,
        "after_posting_id": after.posting_id if after else None,
        "limit": limit + 1,
    }
    sums = conn.cursor(row_factory=dict_row).execute(PAGE_SUMS_SQL, params).fetchone()
    lines_sql = LINES_SQL + (AFTER_POSITION_SQL if after else "") + LINES_ORDER_SQL
    rows = conn.cursor(row_factory=dict_row).execute(lines_sql, params).fetchall()
    balance_cents = sums["opening_cents"] + (sums["before_page_cents"] if after else 0)
    for row in rows[:limit]:
        balance_cents += row["amount_cents"]
        row["balance_after_cents"] = balance_cents
    return Page(
        opening_cents=sums["opening_cents"],
        closing_cents=sums["opening_cents"] + sums["range_cents"],
        lines=rows[:limit],
        more=len(rows) > limit,
    )
