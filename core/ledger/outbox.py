"""The outbox: reading the events each transaction wrote, in commit order."""

from __future__ import annotations

from psycopg.rows import dict_row

from envoi.core.ledger import transfers


def list_events(
    conn,
    *,
    initiated_by: str | None = None,
    account_id: str | None = None,
    after: tuple[int, int] | None,
    limit: int,
    visible_below: int | None = None,
    scan_limit: int | None = None,
) -> list[dict]:
    """Outbox events in visibility order, after a (tx_id, event_id) cursor;
    only those of transfers started by `initiated_by`, or sent or received by
    `account_id` (its current side: a claimed transfer's recipient is the claimer;
    a collection's owner gets its closing or cancelling, and its completed
    contributions, payout and refunds; a webhook endpoint's owner its disabling).

    Only events below the oldest running transaction are returned, so an
    event that commits later can never land before a cursor already handed out
    (`visible_below`: that transaction id, read earlier by the caller, instead
    of now). With `scan_limit`, only the first that many events after the
    cursor, anyone's, are looked at.
    """
    scanned, params = _events_looked_at(after, visible_below, scan_limit)
    params["limit"] = limit
    # An event is about a transfer (its columns), or a top-up, a payout, a
    # collection, a code reset, a webhook endpoint or an account status change
    # (their ids).
    sql = (
        f"SELECT e.event_id, e.tx_id::text::bigint AS tx_id, e.event_type,"
        f" e.create_time AS event_time, e.top_up_id, e.payout_id,"
        f" e.collection_id AS event_collection_id, e.code_reset_id, e.webhook_endpoint_id,"
        f" e.account_status_change_id,"
        f" coalesce(tu.account_id, po.account_id, co.owner_account_id, cr.account_id,"
        f"  we.account_id, sc.account_id)"
        f"  AS subject_account_id,"
        f" t.{transfers.TRANSFER_COLUMNS.replace(', ', ', t.')},"
        # How each side wants to be told; escrow stands for someone with no account yet.
        f" fa.notification_preference AS from_notification_preference,"
        f" CASE WHEN ta.kind = 'SYSTEM' THEN 'PUBLIC_REPLY'"
        f"      ELSE ta.notification_preference END AS to_notification_preference"
        f" FROM ({scanned}) e LEFT JOIN transfers t ON t.transfer_id = e.transfer_id"
        f" LEFT JOIN accounts fa ON fa.account_id = t.from_account_id"
        f" LEFT JOIN accounts ta ON ta.account_id = t.to_account_id"
        f" LEFT JOIN card_top_ups tu ON tu.top_up_id = e.top_up_id"
        f" LEFT JOIN payouts po ON po.payout_id = e.payout_id"
        f" LEFT JOIN code_resets cr ON cr.code_reset_id = e.code_reset_id"
        f" LEFT JOIN webhook_endpoints we ON we.endpoint_id = e.webhook_endpoint_id"
        f" LEFT JOIN account_status_changes sc"
        f"  ON sc.account_status_change_id = e.account_status_change_id"
        # The collection an event is about, or a completed contribution,
        # payout or refund is of: its owner sees them.
        f" LEFT JOIN collections co ON co.collection_id = CASE"
        f"  WHEN e.event_type = 'TRANSFER_COMPLETED' THEN t.collection_id ELSE e.collection_id END"
        f" WHERE true"
    )
    if initiated_by is not None:
        sql += " AND t.initiated_by = %(initiated_by)s"
        params["initiated_by"] = initiated_by
    if account_id is not None:
        sql += (
            " AND %(account_id)s IN"
            " (t.from_account_id, t.to_account_id, tu.account_id, po.account_id,"
            "  co.owner_account_id, cr.account_id, we.account_id, sc.account_id)"
        )
        params["account_id"] = account_id
    sql += " ORDER BY e.tx_id, e.event_id LIMIT %(limit)s"
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()


def _events_looked_at(after, visible_below: int | None, scan_limit: int | None):
    """(SQL, params): the outbox rows list_events looks at: visible (below the
    oldest running transaction, or `visible_below`), after the cursor, and
    with `scan_limit` only the first that many of them."""
    visible = (
        "pg_snapshot_xmin(pg_current_snapshot())"
        if visible_below is None
        else "%(visible_below)s::text::xid8"
    )
    sql = f"SELECT * FROM outbox_events WHERE tx_id < {visible}"
    params: dict = {"visible_below": visible_below, "scan_limit": scan_limit}
    if after is not None:
        sql += " AND (tx_id, event_id) > (%(tx_id)s::text::xid8, %(event_id)s)"
        params.update(tx_id=after[0], event_id=after[1])
    if scan_limit is not None:
        sql += " ORDER BY tx_id, event_id LIMIT %(scan_limit)s"
    return sql, params


# A filtered page looks at up to this many events per event it may return.
SCAN_FACTOR = 10


def list_events_page(
    conn, *, initiated_by: str | None, after: tuple[int, int] | None, limit: int
) -> tuple[list[dict], tuple[int, int] | None]:
    """list_events, and the cursor to resume from. When fewer than `limit` of
    the caller's events came from the SCAN_FACTOR x limit events looked at, the
    cursor moves past all of those: a channel whose events are rare among
    everyone's does not scan the same events again on every call."""
    if initiated_by is None:
        rows = list_events(conn, after=after, limit=limit)
        return rows, (rows[-1]["tx_id"], rows[-1]["event_id"]) if rows else after
    # Read once, so that the page and the scan's end agree on what is visible.
    visible_below = conn.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    ).fetchone()[0]
    scan_limit = SCAN_FACTOR * limit
    rows = list_events(
        conn,
        initiated_by=initiated_by,
        after=after,
        limit=limit,
        visible_below=visible_below,
        scan_limit=scan_limit,
    )
    if len(rows) == limit:
        return rows, (rows[-1]["tx_id"], rows[-1]["event_id"])
    scanned, params = _events_looked_at(after, visible_below, scan_limit)
    scan_end = conn.execute(
        f"SELECT tx_id::text::bigint, event_id FROM ({scanned}) e"
        " ORDER BY tx_id DESC, event_id DESC LIMIT 1",
        params,
    ).fetchone()
    return rows, tuple(scan_end) if scan_end else after


def last_visible_event(conn) -> tuple[int, int] | None:
    """The (tx_id, event_id) cursor of the newest event list_events can return now."""
    return conn.execute(
        "SELECT tx_id::text::bigint, event_id FROM outbox_events"
        " WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY tx_id DESC, event_id DESC LIMIT 1"
    ).fetchone()
