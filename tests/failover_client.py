"""What a client does across a database fail-over (tests/test_replication.py,
tests/test_cluster.py): the same request again, with the same request_id,
until it is answered."""

import time
import uuid

from envoi.client import errors
from envoi.core.ops import bench

RETRY_PAUSE_S = 0.1


def until_answered(call, timeout_s: float = 60.0):
    """call() again after each UNAVAILABLE, for up to timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except errors.Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(RETRY_PAUSE_S)


def confirmed_transfer(client, sender, recipient, amount_cents):
    """A transfer, confirmed with the bench accounts' code (bench.CODE)."""
    key = uuid.uuid4().hex
    transfer = until_answered(
        lambda: client.initiate_transfer(sender, recipient, amount_cents, request_id=f"{key}-i")
    )
    return until_answered(
        lambda: client.confirm_transfer(transfer.transfer_id, bench.CODE, request_id=f"{key}-c")
    )
