"""Races on one transfer or one balance, with real concurrent RPCs."""

import collections

from concurrently import run_together

from envoi.client import errors
from envoi.core import maintenance
from envoi.v1 import transfer_pb2


def outcomes(results) -> collections.Counter:
    return collections.Counter(
        r.reason if isinstance(r, errors.EnvoiError) else transfer_pb2.TransferState.Name(r.state)
        for r in results
    )


def test_fifty_concurrent_confirmations_post_once(wallet, open_account, db):
    alice, bob = open_account(balance_cents=10_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 2_500)
    results = run_together([lambda: wallet.confirm_transfer(transfer.transfer_id, "123456")] * 50)
    assert outcomes(results) == {"TRANSFER_STATE_COMPLETED": 1, "TRANSFER_NOT_PENDING": 49}
    assert wallet.get_balance(bob).balance.amount_cents == 2_500
    assert wallet.get_balance(alice).balance.amount_cents == 7_500
    postings = db.execute(
        "SELECT count(*) FROM postings WHERE transfer_id = %s", (transfer.transfer_id,)
    ).fetchone()[0]
    assert postings == 2


def test_confirm_cancel_and_expiry_racing_resolve_once(wallet, open_account, runtime):
    alice, bob = open_account(balance_cents=10_000), open_account()
    for _ in range(5):
        transfer_id = wallet.initiate_transfer(alice, bob, 100).transfer_id
        results = run_together(
            [lambda t=transfer_id: wallet.confirm_transfer(t, "123456")] * 4
            + [lambda t=transfer_id: wallet.cancel_transfer(t)] * 4
            + [lambda: maintenance.expire_due_transfers(runtime)] * 2
        )
        resolved = [r for r in results if isinstance(r, transfer_pb2.Transfer)]
        assert len(resolved) == 1, outcomes(results)
        final = wallet.get_transfer(transfer_id)
        assert final.state == resolved[0].state
        assert all(
            r.reason == "TRANSFER_NOT_PENDING" for r in results if isinstance(r, errors.EnvoiError)
        )


def test_twenty_concurrent_transfers_never_overdraw(wallet, open_account):
    # 20 transfers of 10.00 race for 55.00: at most five can be held.
    alice = open_account(balance_cents=5_500)
    recipients = [open_account() for _ in range(20)]

    def pay(recipient):
        transfer = wallet.initiate_transfer(alice, recipient, 1_000)
        return wallet.confirm_transfer(transfer.transfer_id, "123456")

    results = run_together([lambda r=r: pay(r) for r in recipients])
    assert outcomes(results) == {"TRANSFER_STATE_COMPLETED": 5, "INSUFFICIENT_FUNDS": 15}
    balance = wallet.get_balance(alice)
    assert (balance.balance.amount_cents, balance.held.amount_cents) == (500, 0)
    assert sum(wallet.get_balance(r).balance.amount_cents for r in recipients) == 5_000


def test_concurrent_transfers_never_pass_the_daily_cap(wallet, open_account, settings):
    alice = open_account(balance_cents=300_000, tier="VERIFIED")
    recipients = [open_account() for _ in range(12)]
    amount_cents = 20_000  # 12 x 200 EUR against a 1,000 EUR daily cap
    results = run_together(
        [lambda r=r: wallet.initiate_transfer(alice, r, amount_cents) for r in recipients]
    )
    allowed = settings.daily_cap_cents // amount_cents
    assert outcomes(results) == {
        "TRANSFER_STATE_PENDING_CONFIRMATION": allowed,
        "LIMIT_EXCEEDED": 12 - allowed,
    }
    assert wallet.get_balance(alice).held.amount_cents == allowed * amount_cents


def test_opposite_payments_between_two_accounts_do_not_deadlock(wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account(balance_cents=5_000)
    pending = [wallet.initiate_transfer(alice, bob, 100) for _ in range(10)] + [
        wallet.initiate_transfer(bob, alice, 100) for _ in range(10)
    ]
    results = run_together(
        [lambda t=t: wallet.confirm_transfer(t.transfer_id, "123456") for t in pending]
    )
    assert outcomes(results) == {"TRANSFER_STATE_COMPLETED": 20}
    assert wallet.get_balance(alice).balance.amount_cents == 5_000
    assert wallet.get_balance(bob).balance.amount_cents == 5_000
