"""From the outbox to the deliveries: each event, in outbox order, becomes one
delivery per live endpoint of an account it concerns that wants its type.

The worker's cursor (webhook_cursor) moves in the same transaction as the
deliveries are written, under the cursor row's lock: no event is skipped or
fanned out twice, whatever the number of workers or their crashes.
"""

import json

from google.protobuf import json_format
from psycopg.rows import dict_row

from envoi.core.api import proto_rows
from envoi.core.api.event_service import encode_cursor, read_events

BATCH_SIZE = 200


def body(row: dict, subject: dict | None) -> str:
    """The JSON POSTed: the event id to drop duplicates by (the same as the
    Event's event_id and as EventService's), its type, and the Event itself
    as protobuf's JSON mapping writes it."""
    cursor = encode_cursor(row["tx_id"], row["event_id"])
    event = proto_rows.event(row, cursor, subject)
    return json.dumps(
        {
            "id": cursor,
            "type": "EVENT_TYPE_" + row["event_type"],
            "event": json_format.MessageToDict(event),
        },
        separators=(",", ":"),
    )


def fan_out(conn) -> int:
    """One batch of events (in a transaction of the caller's): how many were read."""
    cursor = conn.execute(
        "SELECT tx_id::text::bigint, event_id FROM webhook_cursor FOR UPDATE"
    ).fetchone()
    events = read_events(conn, after=tuple(cursor), limit=BATCH_SIZE)
    if not events:
        return 0
    concerned = [_accounts(row) for row, _ in events]
    endpoints = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT endpoint_id, account_id::text, event_types FROM webhook_endpoints"
            " WHERE account_id::text = ANY(%s) AND delete_time IS NULL AND disable_time IS NULL"
            " ORDER BY endpoint_id",
            (sorted(set().union(*concerned)),),
        )
        .fetchall()
    )
    deliveries = [
        (endpoint["endpoint_id"], row["event_id"], row["event_type"], body(row, subject))
        for (row, subject), accounts in zip(events, concerned, strict=True)
        for endpoint in endpoints
        if endpoint["account_id"] in accounts and row["event_type"] in endpoint["event_types"]
    ]
    if deliveries:
        conn.cursor().executemany(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body)"
            " VALUES (%s, %s, %s, %s)",
            deliveries,
        )
    last = events[-1][0]
    conn.execute(
        "UPDATE webhook_cursor SET tx_id = %s::text::xid8, event_id = %s",
        (last["tx_id"], last["event_id"]),
    )
    return len(events)


def _accounts(row: dict) -> set[str]:
    """The accounts an event concerns, as WatchEvents sends it to them."""
    sides = (row["from_account_id"], row["to_account_id"], row["subject_account_id"])
    return {str(side) for side in sides if side is not None}
