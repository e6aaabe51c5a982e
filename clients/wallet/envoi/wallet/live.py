"""Live updates: server-sent events fed by envoi's WatchEvents for the person's account.

Each open page holds one stream; a thread reads the gRPC stream (the client is
synchronous) and hands events to the page's coroutine. The browser's
EventSource sends Last-Event-ID when it reconnects, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse

from envoi.v1 import event_pb2
from envoi.wallet import metrics, views
from envoi.wallet.pages import balance_texts
from envoi.wallet.web import account_of, lang_of, t_of

MAX_STREAMS = 200  # per process; each holds a thread and a gRPC stream
KEEPALIVE_S = 15.0
CURSOR = re.compile(r"[A-Za-z0-9_=:.-]{1,200}")
_open_streams = threading.BoundedSemaphore(MAX_STREAMS)
# account id -> (the newest event id streamed here, its create time in ms); events
# come in cursor order, and their create times may disagree with it by a moment.
MAX_REMEMBERED = 10_000
ORDER_MARGIN_MS = 60_000
_last_seen: collections.OrderedDict[str, tuple[str, int]] = collections.OrderedDict()
_last_seen_lock = threading.Lock()


async def events(request: Request):
    account_id = account_of(request)
    if not account_id:
        return PlainTextResponse("sign in first", 401)
    if not _open_streams.acquire(blocking=False):
        return PlainTextResponse("too many live pages; reload later", 503)
    cursor = request.headers.get("last-event-id", "")
    if not CURSOR.fullmatch(cursor):
        cursor = ""
    since = request.query_params.get("since", "0")
    since_ms = 0 if cursor or not since.isdigit() else int(since)
    cursor = cursor or _known_before(account_id, since_ms)
    stream = request.app.state.client.watch_events(account_id, after_cursor=cursor)
    return StreamingResponse(
        _feed(request, account_id, stream, since_ms),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


def _known_before(account_id: str, since_ms: int) -> str:
    """The newest event of the account seen here well before since_ms, to start
    after it rather than replay the account's whole history; "" if none."""
    with _last_seen_lock:
        event_id, create_ms = _last_seen.get(account_id, ("", since_ms))
    return event_id if create_ms < since_ms - ORDER_MARGIN_MS else ""


def _remember(account_id: str, event) -> None:
    with _last_seen_lock:
        _last_seen[account_id] = (event.event_id, event.create_time.ToMilliseconds())
        _last_seen.move_to_end(account_id)
        if len(_last_seen) > MAX_REMEMBERED:
            _last_seen.popitem(last=False)


def _read(stream, loop, queue: asyncio.Queue) -> None:
    """In a thread: every event of the gRPC stream onto the queue; None at its end."""
    try:
        for event in stream:
            loop.call_soon_threadsafe(queue.put_nowait, event)
    except Exception:  # cancelled by the page leaving, or envoi gone: the page reconnects
        pass
    finally:
        loop.call_soon_threadsafe(queue.put_nowait, None)


async def _feed(request: Request, account_id: str, stream, since_ms: int):
    loop, queue = asyncio.get_running_loop(), asyncio.Queue()
    metrics.LIVE_STREAMS.inc()
    reader = threading.Thread(target=_read, args=(stream, loop, queue), daemon=True)
    try:
        with stream:
            reader.start()
            yield "retry: 3000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                _remember(account_id, event)
                if event.create_time.ToMilliseconds() <= since_ms:
                    continue  # already on the page
                yield await _message(request, account_id, event)
    finally:
        stream.cancel()
        metrics.LIVE_STREAMS.dec()
        _open_streams.release()


async def _message(request: Request, account_id: str, event) -> str:
    lang, t = lang_of(request), t_of(request)
    client = request.app.state.client
    balance = await run_in_threadpool(client.get_balance, account_id)
    data = {"balance": balance_texts(balance, lang)}
    transfer = event.transfer
    # A payment to this person that its payer has not confirmed yet is no news
    # (the event carries the transfer as it is now, so its type tells, not its state).
    if transfer.transfer_id and not (
        views.is_incoming(transfer, account_id)
        and event.type == event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
    ):
        data["row"] = views.row(transfer, account_id, lang, t)
    return f"id: {event.event_id}\nevent: update\ndata: {json.dumps(data)}\n\n"
