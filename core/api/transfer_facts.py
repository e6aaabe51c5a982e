"""What never changes about a transfer once written, remembered by the server.

Before ConfirmTransfer or CancelTransfer reaches the ledger, the server needs
the transfer's sender (its code is checked by an HMAC under the server's key,
bound to the account: the key never reaches the database) and who may act on
it (core/auth/access.py). A transfer's sender, initiator and the kinds of its
sides never change, and its recipient changes only when an identity claims
money out of escrow, after it stopped being pending. So the transfers this
process initiated are remembered (a bounded LRU), and any other is read once,
outside any transaction.
"""

import collections
import uuid

import psycopg_pool
from psycopg.rows import dict_row

from envoi.client import errors

MAX_REMEMBERED = 65_536
FACT_COLUMNS = ("transfer_id", "from_account_id", "to_account_id", "initiated_by", "from_kind")


class TransferFacts:
    def __init__(self, pool: psycopg_pool.AsyncConnectionPool):
        self._pool = pool
        self._facts: collections.OrderedDict[str, dict] = collections.OrderedDict()

    def remember(self, transfer: dict) -> None:
        """Keep the facts of a transfer as the ledger answered it (JSON)."""
        self._facts[transfer["transfer_id"]] = {name: transfer[name] for name in FACT_COLUMNS}
        if len(self._facts) > MAX_REMEMBERED:
            self._facts.popitem(last=False)

    async def of(self, transfer_id: str) -> dict:
        """The facts of a transfer; TRANSFER_NOT_FOUND if there is none."""
        transfer_id = str(uuid.UUID(transfer_id))  # as the database writes it
        facts = self._facts.get(transfer_id)
        if facts is not None:
            return facts
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM transfers_named WHERE transfer_id = %s",
                (transfer_id,),
            )
            row = await cursor.fetchone()
        if row is None:
            raise errors.TransferNotFound(
                f"no transfer {transfer_id}", metadata={"transfer_id": transfer_id}
            )
        facts = {name: str(value) for name, value in row.items()}
        self.remember(facts)
        return facts
