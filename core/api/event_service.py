"""envoi.v1.EventService: the outbox, read in order from a cursor (ListEvents),
or streamed live for one account (WatchEvents)."""

import asyncio
import base64

from envoi.client import errors
from envoi.core.api import proto_rows
from envoi.core.api.event_wakeups import EventWakeups
from envoi.core.api.request_validation import RequestCheck
from envoi.core.auth.access import require_money_access, require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.enums import Role
from envoi.core.ledger import (
    account_status,
    accounts,
    card_top_ups,
    code_resets,
    collections,
    outbox,
    payouts,
)
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.v1 import event_service_pb2, event_service_pb2_grpc

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
WATCH_READ_SIZE = 100  # events a stream reads per query


def read_events(conn, **filters) -> list[tuple[dict, dict | None]]:
    """outbox.list_events, each with the top-up, payout, collection, code
    reset or account status change it is about, as it is now."""
    return _with_subjects(conn, outbox.list_events(conn, **filters))


def read_events_page(conn, **filters) -> tuple[list[tuple[dict, dict | None]], tuple | None]:
    """outbox.list_events_page, each event with its top-up or payout."""
    rows, next_cursor = outbox.list_events_page(conn, **filters)
    return _with_subjects(conn, rows), next_cursor


def _with_subjects(conn, rows: list[dict]) -> list[tuple[dict, dict | None]]:
    subjects = {
        **card_top_ups.get_many(conn, [r["top_up_id"] for r in rows if r["top_up_id"]]),
        **payouts.get_many(conn, [r["payout_id"] for r in rows if r["payout_id"]]),
        **collections.get_many(
            conn, [r["event_collection_id"] for r in rows if r["event_collection_id"]]
        ),
        **code_resets.get_many(conn, [r["code_reset_id"] for r in rows if r["code_reset_id"]]),
        **account_status.get_many(
            conn, [r["account_status_change_id"] for r in rows if r["account_status_change_id"]]
        ),
    }
    return [
        (
            row,
            subjects.get(
                row["top_up_id"]
                or row["payout_id"]
                or row["event_collection_id"]
                or row["code_reset_id"]
                or row["account_status_change_id"]
            ),
        )
        for row in rows
    ]


def encode_cursor(tx_id: int, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e1:{tx_id}:{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    if not cursor:
        return None
    try:
        version, tx_id, event_id = (
            base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii").split(":")
        )
        if version == "e1" and tx_id.isdigit() and event_id.isdigit():
            return int(tx_id), int(event_id)
    except (ValueError, UnicodeError):
        pass
    raise errors.InvalidPageToken(
        "after_cursor is not a cursor this service returned",
        field_violations={"after_cursor": "use an event_id or a next_cursor from EventService"},
    )


class EventService(event_service_pb2_grpc.EventServiceServicer):
    def __init__(self, runtime: Runtime, wakeups: EventWakeups):
        self.runtime = runtime
        self.wakeups = wakeups

    def ListEvents(self, request, context):
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            raise errors.InvalidArgument(
                "invalid request: page_size",
                field_violations={"page_size": f"must be between 0 and {MAX_PAGE_SIZE}"},
            )
        after = decode_cursor(request.after_cursor)
        caller = current_caller.get()
        # A channel sees the events of the transfers it started; an admin all.
        initiated_by = caller.principal if caller.role == Role.CHANNEL else None

        rows, next_cursor = run_in_transaction(
            self.runtime.pool,
            lambda conn: read_events_page(
                conn,
                initiated_by=initiated_by,
                after=after,
                limit=request.page_size or DEFAULT_PAGE_SIZE,
            ),
        )
        response = event_service_pb2.ListEventsResponse(next_cursor=request.after_cursor)
        for row, subject in rows:
            cursor = encode_cursor(row["tx_id"], row["event_id"])
            response.events.append(proto_rows.event(row, cursor, subject))
        if next_cursor is not None:
            # Past the last event returned, or past others' events looked at.
            response.next_cursor = encode_cursor(*next_cursor)
        return response

    async def WatchEvents(self, request, context):
        """An async generator on the server's event loop: an idle stream holds no
        thread, only a subscription; database reads run on executor threads."""
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check.raise_if_any()
        after = decode_cursor(request.after_cursor)
        caller = current_caller.get()
        require_own_account(caller, request.account_id)
        account = await self._read(lambda conn: accounts.get_account(conn, request.account_id))
        require_money_access(caller, account["kind"])

        # Subscribed before the first read: an event that becomes readable
        # after any read of this stream rings its subscription.
        with self.wakeups.subscribe(request.account_id) as subscription:
            # Tells the client the stream is open: what commits from now on reaches it.
            await context.send_initial_metadata(())
            while True:
                subscription.clear()
                rows = await self._read(
                    lambda conn, after=after: read_events(
                        conn, account_id=request.account_id, after=after, limit=WATCH_READ_SIZE
                    )
                )
                for row, subject in rows:
                    cursor = encode_cursor(row["tx_id"], row["event_id"])
                    yield event_service_pb2.WatchEventsResponse(
                        event=proto_rows.event(row, cursor, subject)
                    )
                    after = (row["tx_id"], row["event_id"])
                if len(rows) < WATCH_READ_SIZE:
                    await subscription.wait()

    async def _read(self, work):
        return await asyncio.to_thread(run_in_transaction, self.runtime.pool, work)
