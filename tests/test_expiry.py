"""Pending transfers that nobody confirms expire and release their hold."""

import time

import pytest

from envoi.client import errors
from envoi.core import maintenance
from envoi.core.config import Settings
from envoi.core.ledger import transfers
from envoi.core.testing import TEST_CODE_KEY
from envoi.v1 import transfer_pb2

TIMEOUT_S = 1


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url, code_key=TEST_CODE_KEY, confirmation_timeout_s=TIMEOUT_S
    )


def test_the_sweeper_expires_due_transfers_once(wallet, open_account, runtime, db):
    alice, bob = open_account(balance_cents=3_000), open_account()
    transfers = [wallet.initiate_transfer(alice, bob, 1_000) for _ in range(3)]
    assert maintenance.expire_due_transfers(runtime) == 0  # not due yet
    time.sleep(TIMEOUT_S + 0.2)
    assert maintenance.expire_due_transfers(runtime) >= 3
    for transfer in transfers:
        assert (
            wallet.get_transfer(transfer.transfer_id).state == transfer_pb2.TRANSFER_STATE_EXPIRED
        )
    balance = wallet.get_balance(alice)
    assert (balance.balance.amount_cents, balance.held.amount_cents) == (3_000, 0)
    events = db.execute(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'TRANSFER_EXPIRED'"
        " AND transfer_id = ANY(%s)",
        ([t.transfer_id for t in transfers],),
    ).fetchone()[0]
    assert events == 3


def test_confirming_too_late_expires_the_transfer(wallet, open_account):
    alice, bob = open_account(balance_cents=3_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 1_000)
    time.sleep(TIMEOUT_S + 0.2)
    with pytest.raises(errors.TransferExpired):
        wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert wallet.get_transfer(transfer.transfer_id).state == transfer_pb2.TRANSFER_STATE_EXPIRED
    assert wallet.get_balance(alice).held.amount_cents == 0
    assert wallet.get_balance(bob).balance.amount_cents == 0
    with pytest.raises(errors.TransferNotPending):
        wallet.cancel_transfer(transfer.transfer_id)


def test_the_sweeper_never_waits_on_an_account_a_payment_holds(wallet, open_account, runtime, db):
    """A batch of payments locks its accounts first, then each transfer; the
    sweeper took the transfer, then waited for its sender's row: a cycle,
    which PostgreSQL breaks only after deadlock_timeout (1 s). The sweeper
    now leaves a transfer whose sender is locked for its next round."""
    alice, bob = open_account(balance_cents=3_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 1_000)
    time.sleep(TIMEOUT_S + 0.2)
    with db.transaction():
        db.execute("SELECT 1 FROM accounts WHERE account_id = %s FOR NO KEY UPDATE", (alice,))
        swept = runtime.pool.getconn()
        try:
            swept.execute("SET lock_timeout = '500ms'")
            with swept.transaction():
                while transfers.expire_one_due(swept):
                    pass
        finally:
            swept.execute("RESET lock_timeout")
            runtime.pool.putconn(swept)
        assert wallet.get_transfer(transfer.transfer_id).state == (
            transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
        )
    assert maintenance.expire_due_transfers(runtime) >= 1
    assert wallet.get_transfer(transfer.transfer_id).state == transfer_pb2.TRANSFER_STATE_EXPIRED
