"""Wakes the WatchEvents streams of an account when new events of it become readable.

One per server process, on its event loop:

- one PostgreSQL connection LISTENs on 'envoi_outbox': every transaction
  that writes outbox events notifies it at commit, with its transaction id
  (migration 0006);
- one task follows the outbox tail with the rule every reader uses
  (outbox.list_events: only below the oldest running transaction), sees
  which accounts the new events belong to, and wakes their streams, which
  then read their own events from their own cursor. While no stream is
  open it reads nothing; the first notification after one opens makes it
  start again from the outbox's end and wake every stream once.

A notification comes at commit, but an event becomes readable only once
every older transaction has ended too. So when a notified transaction's
events are not readable yet, the follower looks again soon, backing off:
one query for the whole process, however many streams wait. As a safety
net (a notification lost while the listening connection reconnects, an
error while reading), it also reads every `recheck_s` without one.
"""

import asyncio
import contextlib
import logging

import psycopg
import psycopg_pool

from envoi.client import errors
from envoi.core.error_causes import cause
from envoi.core.ledger import outbox
from envoi.core.ledger.transactions import run_in_transaction

log = logging.getLogger("envoi.event_wakeups")

NOTIFY_CHANNEL = "envoi_outbox"
READ_PAGE_SIZE = 1000
# While a notified transaction's events wait for an older transaction to end:
# look again after FIRST_RETRY_S, doubling up to MAX_RETRY_S.
FIRST_RETRY_S = 0.05
MAX_RETRY_S = 0.5
# On close, how long streams get to end before the server stops anyway.
CLOSE_TIMEOUT_S = 5.0
RECONNECT_DELAY_S = 1.0
# The follower's cursor while no stream is open: it did not follow the outbox.
STALE = object()


class Subscription:
    """One stream's doorbell: set when its account may have new events."""

    def __init__(self, wakeups: "EventWakeups", account_id: str):
        self._wakeups = wakeups
        self.account_id = account_id
        self._news = asyncio.Event()

    def ring(self) -> None:
        self._news.set()

    def clear(self) -> None:
        """Call before reading, so that news arriving during the read is kept."""
        self._news.clear()

    async def wait(self) -> None:
        """Until there may be news; raises Unavailable when the server is stopping."""
        if not self._wakeups.closed:
            await self._news.wait()
        if self._wakeups.closed:
            raise errors.Unavailable(
                "the server is shutting down: call WatchEvents again with the last event_id"
            )


class EventWakeups:
    def __init__(self, pool: psycopg_pool.ConnectionPool, recheck_s: float):
        self._pool = pool
        self._recheck_s = recheck_s
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._news = asyncio.Event()
        self._newest_notified_tx_id = 0
        self._tasks: list[asyncio.Task] = []
        self._no_streams = asyncio.Event()
        self._no_streams.set()
        self.closed = False

    async def start(self) -> None:
        """Listen, and follow the outbox from its current end."""
        cursor = await asyncio.to_thread(run_in_transaction, self._pool, outbox.last_visible_event)
        # The first LISTEN happens here, so a stream opened once the server
        # serves is woken by the next commit.
        connection = await self._listen()
        self._tasks = [
            asyncio.create_task(self._receive(connection), name="envoi-event-listen"),
            asyncio.create_task(self._follow(cursor), name="envoi-event-follow"),
        ]

    async def close(self) -> None:
        """Stop, and end every stream: each raises Unavailable (its client resumes
        elsewhere); returns once they have, or after CLOSE_TIMEOUT_S."""
        self.closed = True
        for task in self._tasks:
            task.cancel()
        # Bounded: a task cancelled while psycopg reconnects to a PostgreSQL
        # that just restarted was seen never to finish (envoi torture), and
        # the server must still stop.
        done, pending = await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT_S)
        if pending:
            log.warning("%d event task(s) did not stop; stopping anyway", len(pending))
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.ring()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._no_streams.wait(), CLOSE_TIMEOUT_S)

    @contextlib.contextmanager
    def subscribe(self, account_id: str):
        """A Subscription for the stream of one account, while the block runs."""
        if self.closed:
            raise errors.Unavailable("the server is shutting down")
        subscription = Subscription(self, account_id)
        self._subscriptions.setdefault(account_id, set()).add(subscription)
        self._no_streams.clear()
        try:
            yield subscription
        finally:
            subscribers = self._subscriptions[account_id]
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[account_id]
            if not self._subscriptions:
                self._no_streams.set()

    def stream_count(self, account_id: str | None = None) -> int:
        """Open streams: of one account, or of all."""
        if account_id is not None:
            return len(self._subscriptions.get(account_id, ()))
        return sum(len(subscriptions) for subscriptions in self._subscriptions.values())

    async def _listen(self) -> psycopg.AsyncConnection:
        connection = await psycopg.AsyncConnection.connect(self._pool.conninfo, autocommit=True)
        await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        # Whatever committed before LISTEN was not notified to us: read it.
        self._news.set()
        return connection

    async def _receive(self, connection: psycopg.AsyncConnection) -> None:
        while True:
            try:
                async with connection:
                    async for notify in connection.notifies():
                        self._newest_notified_tx_id = max(
                            self._newest_notified_tx_id, int(notify.payload)
                        )
                        self._news.set()
            except Exception as exc:  # the database may be restarting: listen again
                log.warning("listening connection lost (%s); reconnecting", cause(exc))
            # A cancellation (close()) that psycopg turned into an error above
            # must still end this task.
            if self.closed:
                return
            self._news.set()  # notifications may have been lost: read anyway
            while not self.closed:
                await asyncio.sleep(RECONNECT_DELAY_S)
                try:
                    connection = await self._listen()
                    break
                except Exception as exc:
                    log.warning("cannot listen for events yet (%s)", cause(exc))

    async def _follow(self, cursor: tuple[int, int] | None) -> None:
        retry_s = None  # set while notified events are not readable yet
        while not self.closed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._news.wait(), retry_s or self._recheck_s)
            self._news.clear()
            if not self._subscriptions:
                # Nobody to wake: reading the outbox after every commit would
                # cost a query per transfer for nothing.
                cursor, retry_s = STALE, None
                continue
            try:
                if cursor is STALE:
                    cursor = await asyncio.to_thread(
                        run_in_transaction, self._pool, outbox.last_visible_event
                    )
                    # Events the follower skipped may have come after a stream's
                    # own first read: every stream reads again from its cursor.
                    for subscriptions in list(self._subscriptions.values()):
                        for subscription in subscriptions:
                            subscription.ring()
                cursor, accounts = await asyncio.to_thread(self._read_after, cursor)
            except Exception as exc:  # the database may be restarting: try again
                log.warning("cannot read the outbox (%s); trying again", cause(exc))
                retry_s = self._recheck_s
                continue
            for account_id in accounts:
                for subscription in self._subscriptions.get(account_id, ()):
                    subscription.ring()
            # A notified transaction's events are readable once the cursor reached it.
            if self._newest_notified_tx_id > (cursor[0] if cursor else 0):
                retry_s = min(2 * retry_s, MAX_RETRY_S) if retry_s else FIRST_RETRY_S
            else:
                retry_s = None

    def _read_after(self, cursor):
        """(new cursor, the accounts of the events after `cursor`) — blocking."""
        accounts = set()
        while True:
            rows = run_in_transaction(
                self._pool,
                lambda conn, after=cursor: outbox.list_events(
                    conn, after=after, limit=READ_PAGE_SIZE
                ),
            )
            for row in rows:
                # A transfer's two sides, or the account of a top-up or payout.
                sides = (row["from_account_id"], row["to_account_id"], row["subject_account_id"])
                accounts.update(str(side) for side in sides if side is not None)
                cursor = (row["tx_id"], row["event_id"])
            if len(rows) < READ_PAGE_SIZE:
                return cursor, accounts
