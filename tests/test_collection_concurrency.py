"""A popular collection under load (real threads, real server, real database):
contributions never wait for one another or for the collection's row, and a
close or a cancel racing them loses nothing: every completed contribution is
paid to the owner or back to its payer, and nothing else moves."""

import threading
import uuid

import psycopg
import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.core import maintenance
from envoi.v1 import collection_pb2, transfer_pb2

COMPLETED = transfer_pb2.TRANSFER_STATE_COMPLETED
CODE = "123456"


def tag() -> str:
    return "Hot" + uuid.uuid4().hex[:12]


def contribute(client, payer, hashtag, amount_cents):
    transfer = client.initiate_transfer(payer, "#" + hashtag, amount_cents)
    return client.confirm_transfer(transfer.transfer_id, CODE)


@pytest.fixture
def locked(database_url):
    """locked(sql, params): run it in a transaction left open until the test ends."""
    conn = psycopg.connect(database_url)

    def lock(sql, params):
        conn.execute(sql, params)

    yield lock
    conn.rollback()
    conn.close()


def test_a_contribution_completes_while_others_hold_the_collection(
    wallet, client_for, make_token, open_account, locked
):
    owner = open_account("ASSOCIATION")
    collection = wallet.create_collection(owner, "Hot", tag())
    # Another contribution in flight (its shared lock), and a debit's row lock
    # on the collection's account: neither makes this one wait.
    locked(
        "SELECT 1 FROM collections WHERE collection_id = %s FOR KEY SHARE",
        (collection.collection_id,),
    )
    locked(
        "SELECT 1 FROM accounts WHERE account_id = %s FOR NO KEY UPDATE",
        (collection.collection_id,),
    )
    impatient = client_for(make_token("wallet"), timeout_s=5.0, max_attempts=1)
    alice = open_account(balance_cents=1_000)
    assert contribute(impatient, alice, collection.hashtag, 700).state == COMPLETED
    assert wallet.get_collection(collection.collection_id).collected.amount_cents == 700


def race_contributions_payments_and_close(wallet, runtime, collection, payers, others):
    """Contributions from payers, payments between others, the deferred credits
    folded and the owner's close, all at once: (pending, results), where
    pending are the contributions initiated and results the race's answers
    (each contribution's, then each payment's, then the close's)."""
    completed_some = threading.Event()
    completions = []
    stop_folding = threading.Event()

    # Initiated at once, then confirmed at once while the owner closes: the
    # confirmations that come after the close fail and release their holds.
    pending = run_together(
        [
            lambda p=p, n=n: wallet.initiate_transfer(p, "#" + collection.hashtag, 100 + n)
            for n, p in enumerate(payers)
        ]
    )

    def pay(payer, n):
        transfer = wallet.confirm_transfer(pending[n].transfer_id, CODE)
        completions.append(transfer)
        if len(completions) >= 5:
            completed_some.set()
        return transfer

    def close():
        completed_some.wait(60)
        return wallet.close_collection(collection.collection_id)

    def keep_folding():
        while not stop_folding.is_set():
            maintenance.fold_deferred_credits(runtime)

    folder = threading.Thread(target=keep_folding)
    folder.start()
    try:
        results = run_together(
            [lambda p=p, n=n: pay(p, n) for n, p in enumerate(payers)]
            + [lambda s=s, r=r: contribute_to_person(wallet, s, r) for s, r in others]
            + [close]
        )
    finally:
        stop_folding.set()
        folder.join()
    return pending, results


def test_many_contributions_other_payments_folding_and_a_close_lose_nothing(
    wallet, open_account, runtime
):
    owner = open_account("ASSOCIATION")
    collection = wallet.create_collection(owner, "Telethon", tag())
    payers = [open_account(balance_cents=10_000) for _ in range(40)]
    others = [(open_account(balance_cents=10_000), open_account()) for _ in range(10)]
    pending, results = race_contributions_payments_and_close(
        wallet, runtime, collection, payers, others
    )

    contributions, payments, closed = results[:40], results[40:50], results[50]
    assert closed.state == collection_pb2.COLLECTION_STATE_CLOSED
    assert all(p.state == COMPLETED for p in payments)  # the rest went on
    done = {
        payer: 100 + n
        for n, (payer, r) in enumerate(zip(payers, contributions, strict=True))
        if not isinstance(r, errors.EnvoiError)
    }
    refused = [r for r in contributions if isinstance(r, errors.EnvoiError)]
    assert {r.reason for r in refused} <= {"COLLECTION_NOT_OPEN"}
    for transfer, result in zip(pending, contributions, strict=True):
        state = wallet.get_transfer(transfer.transfer_id).state
        refused_here = isinstance(result, errors.EnvoiError)
        assert state == (transfer_pb2.TRANSFER_STATE_CANCELLED if refused_here else COMPLETED)
    assert len(done) >= 5
    print(f"completed {len(done)}, refused {len(refused)}")
    total_cents = sum(done.values())
    # Every completed contribution is in the total, and was paid to the owner.
    assert closed.collected.amount_cents == total_cents
    assert closed.contributor_count == len(done)
    assert wallet.get_balance(owner).balance.amount_cents == total_cents
    payout = wallet.get_transfer(closed.payout_transfer_id)
    assert payout.amount.amount_cents == total_cents
    for payer in payers:
        money = wallet.get_balance(payer)
        assert money.balance.amount_cents == 10_000 - done.get(payer, 0)
        assert money.held.amount_cents == 0  # a refused confirmation released its hold
    # The invariants (balances, postings, the closed collection holds nothing)
    # are checked after the test by envoi.core.testing.


def contribute_to_person(client, sender, recipient):
    transfer = client.initiate_transfer(sender, recipient, 500)
    return client.confirm_transfer(transfer.transfer_id, CODE)


def test_a_cancel_refunds_every_contributor_exactly(wallet, open_account, runtime):
    owner = open_account()
    collection = wallet.create_collection(owner, "Refunded", tag())
    payers = [open_account(balance_cents=5_000) for _ in range(30)]
    paid = {payer: 0 for payer in payers}
    results = run_together(
        [
            lambda p=p, n=n: contribute(wallet, p, collection.hashtag, 50 + n)
            for n, p in enumerate(payers)
        ]
        + [lambda p=p: contribute(wallet, p, collection.hashtag, 7) for p in payers[:10]]
    )
    assert not [r for r in results if isinstance(r, errors.EnvoiError)]
    for transfer in results:
        paid[transfer.from_account_id] += transfer.amount.amount_cents
    maintenance.fold_deferred_credits(runtime)  # some folded, some not: both refund
    pay_later = contribute(wallet, payers[0], collection.hashtag, 1)
    paid[payers[0]] += pay_later.amount.amount_cents
    response = wallet.cancel_collection(collection.collection_id)
    assert response.refund_count == 41
    assert response.collection.collected.amount_cents == sum(paid.values())
    for payer in payers:
        assert wallet.get_balance(payer).balance.amount_cents == 5_000
    assert wallet.get_balance(owner).balance.amount_cents == 0


def test_concurrent_closes_and_cancels_resolve_once(wallet, open_account):
    owner = open_account("ASSOCIATION")
    collection = wallet.create_collection(owner, "Race", tag())
    payers = [open_account(balance_cents=1_000) for _ in range(5)]
    for payer in payers:
        contribute(wallet, payer, collection.hashtag, 300)
    results = run_together(
        [lambda: wallet.close_collection(collection.collection_id) for _ in range(6)]
        + [lambda: wallet.cancel_collection(collection.collection_id) for _ in range(6)]
    )
    winners = [r for r in results if not isinstance(r, errors.EnvoiError)]
    assert len(winners) == 1
    assert {r.reason for r in results if isinstance(r, errors.EnvoiError)} == {
        "COLLECTION_NOT_OPEN"
    }
    read = wallet.get_collection(collection.collection_id)
    if read.state == collection_pb2.COLLECTION_STATE_CLOSED:
        assert wallet.get_balance(owner).balance.amount_cents == 1_500
        assert all(wallet.get_balance(p).balance.amount_cents == 700 for p in payers)
    else:
        assert read.state == collection_pb2.COLLECTION_STATE_CANCELLED
        assert wallet.get_balance(owner).balance.amount_cents == 0
        assert all(wallet.get_balance(p).balance.amount_cents == 1_000 for p in payers)
