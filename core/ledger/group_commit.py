"""Group commit: the ledger calls of concurrent RPCs, gathered into one transaction.

Each core operation is one call of the SQL function ledger_call
(core/schema/functions/ledger_call.sql), which keeps its own answer, refusal
and request id: a failing call never fails its neighbours. While a batch is
in the database, the calls that arrive wait for it and then go together as
the next batch (ledger_calls: one statement, one commit). So an idle server
adds no delay at all, and a busy one makes each call wait at most for the
batch before its own: the commit, the round trip and the statement's
overhead are paid once per batch instead of once per call, as TigerBeetle
batches. Batches stay under 64 calls: each call is a subtransaction, and
past 64 in one transaction PostgreSQL's snapshots of it slow every session.
"""

import asyncio
import logging

import psycopg
import psycopg_pool
from psycopg.types.json import Jsonb

from envoi.core.error_causes import cause

log = logging.getLogger("envoi.group_commit")

MAX_BATCH = 48
MAX_ATTEMPTS = 8  # of one call answered {"retry": true}, or of a batch that deadlocked
RETRYABLE_ERRORS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


class GroupCommit:
    def __init__(self, pool: psycopg_pool.AsyncConnectionPool, rules: Jsonb, max_in_flight: int):
        """rules: the settings the SQL rules read (refusals.rules); max_in_flight:
        batches in the database at once (more overlap commits, but take locks
        in an order of their own: deadlocks are retried)."""
        self.pool = pool
        self._rules = rules
        self._max_in_flight = max_in_flight
        self._waiting: list[tuple[dict, asyncio.Future]] = []
        self._in_flight = 0
        self.batches_committed = 0  # and calls_committed: how much batching paid
        self.calls_committed = 0

    async def call(self, call: dict) -> dict:
        """The answer of ledger_call for `call`, once its batch committed."""
        for _ in range(MAX_ATTEMPTS):
            answer = await self._queued(call)
            if not answer.get("retry"):
                return answer
        return answer

    def _queued(self, call: dict) -> asyncio.Future:
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((call, answer))
        if self._in_flight < self._max_in_flight:
            self._start_batch()
        return answer

    def _start_batch(self) -> None:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        self._in_flight += 1
        asyncio.get_running_loop().create_task(self._commit(batch))

    async def _commit(self, batch: list[tuple[dict, asyncio.Future]]) -> None:
        try:
            answers = await self._execute([call for call, _ in batch])
        except Exception as exc:  # the whole batch failed: each caller gets the error
            log.warning("a batch of %d ledger calls failed: %s", len(batch), cause(exc))
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
        else:
            self.batches_committed += 1
            self.calls_committed += len(batch)
            for (_, answer), result in zip(batch, answers, strict=True):
                if not answer.done():  # its RPC may have been cancelled meanwhile
                    answer.set_result(result)
        finally:
            self._in_flight -= 1
            if self._waiting:
                self._start_batch()

    async def _execute(self, calls: list[dict]) -> list[dict]:
        """One statement, its own transaction (autocommit): retried whole on a deadlock."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self.pool.connection() as conn:
                    cursor = await conn.execute(
                        "SELECT ledger_calls(%s, %s)", (Jsonb(calls), self._rules)
                    )
                    return (await cursor.fetchone())[0]
            except RETRYABLE_ERRORS:
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
