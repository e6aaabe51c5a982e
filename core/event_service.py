"""envoi.v1.EventService: the outbox, read in order from a cursor."""

import base64

from envoi.client import errors
from envoi.core import card_top_ups, ledger, payouts, proto_rows
from envoi.core.caller import current_caller
from envoi.core.runtime import Runtime
from envoi.core.transactions import run_in_transaction
from envoi.v1 import event_service_pb2, event_service_pb2_grpc

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


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
        field_violations={"after_cursor": "use next_cursor from ListEvents"},
    )


class EventService(event_service_pb2_grpc.EventServiceServicer):
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def ListEvents(self, request, context):
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            raise errors.InvalidArgument(
                "invalid request: page_size",
                field_violations={"page_size": f"must be between 0 and {MAX_PAGE_SIZE}"},
            )
        after = decode_cursor(request.after_cursor)
        caller = current_caller.get()
        # A channel sees the events of the transfers it started; an admin all.
        initiated_by = caller.principal if caller.role == "channel" else None

        def read(conn):
            rows = ledger.list_events(
                conn,
                initiated_by=initiated_by,
                after=after,
                limit=request.page_size or DEFAULT_PAGE_SIZE,
            )
            # Events about a top-up or a payout carry it as it is now.
            subjects = {
                **card_top_ups.get_many(conn, [r["top_up_id"] for r in rows if r["top_up_id"]]),
                **payouts.get_many(conn, [r["payout_id"] for r in rows if r["payout_id"]]),
            }
            return rows, subjects

        rows, subjects = run_in_transaction(self.runtime.pool, read)
        response = event_service_pb2.ListEventsResponse(next_cursor=request.after_cursor)
        for row in rows:
            cursor = encode_cursor(row["tx_id"], row["event_id"])
            subject = subjects.get(row["top_up_id"] or row["payout_id"])
            response.events.append(proto_rows.event(row, cursor, subject))
            response.next_cursor = cursor
        return response
