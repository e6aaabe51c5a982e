"""Hot accounts (migration 0010): credits to an association take no lock on its
row, yet its money is all there, spendable, and never below its floor."""

import threading
import uuid

import psycopg
import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.core import maintenance
from envoi.v1 import transfer_pb2

COMPLETED = transfer_pb2.TransferState.TRANSFER_STATE_COMPLETED


def pay(wallet, sender, recipient, amount_cents):
    transfer = wallet.initiate_transfer(sender, recipient, amount_cents)
    return wallet.confirm_transfer(transfer.transfer_id, "123456")


def deferred_cents(db, account_id) -> int:
    return db.execute(
        "SELECT coalesce(sum(amount_cents), 0) FROM deferred_credits WHERE account_id = %s",
        (account_id,),
    ).fetchone()[0]


@pytest.fixture
def row_locked(database_url):
    """row_locked(account_id): hold the lock a debit of that account holds
    (FOR NO KEY UPDATE) until the test ends."""
    conn = psycopg.connect(database_url)

    def lock(account_id):
        conn.execute(
            "SELECT 1 FROM accounts WHERE account_id = %s FOR NO KEY UPDATE", (account_id,)
        )

    yield lock
    conn.rollback()
    conn.close()


def test_a_donation_completes_while_the_associations_row_is_locked(
    wallet, client_for, make_token, open_account, row_locked
):
    association = open_account("ASSOCIATION")
    alice = open_account(balance_cents=5_000)
    row_locked(association)
    # A person's row lock would hold this confirmation until the lock is
    # released; an association's credit does not wait for it.
    impatient = client_for(make_token("wallet"), timeout_s=5.0, max_attempts=1)
    donation = pay(impatient, alice, association, 1_000)
    assert donation.state == COMPLETED
    assert wallet.get_balance(association).balance.amount_cents == 1_000


def test_in_sql_a_credit_to_a_locked_association_does_not_wait_but_to_a_person_does(
    database_url, open_account, row_locked
):
    association, person = open_account("ASSOCIATION"), open_account()
    bank = open_account("SETTLEMENT", balance_cents=5_000)  # what LEDGER transfers debit
    row_locked(association)
    row_locked(person)
    with psycopg.connect(database_url) as conn:
        conn.execute("SET lock_timeout = '2s'")
        insert = (
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, resolve_time)"
            " VALUES (%s, 'LEDGER', 'COMPLETED', %s, %s, 'EUR', 100, 'test', now())"
        )
        conn.execute(insert, (uuid.uuid4(), bank, association))
        conn.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute(insert, (uuid.uuid4(), bank, person))


def test_deferred_credits_count_in_the_balance_and_can_all_be_spent(
    wallet, open_account, db, runtime
):
    association, bob = open_account("ASSOCIATION"), open_account()
    donors = [open_account(balance_cents=1_000) for _ in range(3)]
    for donor in donors:
        pay(wallet, donor, association, 1_000)
    assert deferred_cents(db, association) == 3_000  # not folded yet
    balance = wallet.get_balance(association)
    assert (balance.balance.amount_cents, balance.available.amount_cents) == (3_000, 3_000)
    # Spending all of it folds the credits in first, so the floor check sees them.
    assert pay(wallet, association, bob, 3_000).state == COMPLETED
    assert deferred_cents(db, association) == 0
    assert wallet.get_balance(association).balance.amount_cents == 0
    with pytest.raises(errors.InsufficientFunds):
        wallet.initiate_transfer(association, bob, 1)
    pay(wallet, bob, association, 500)
    assert maintenance.fold_deferred_credits(runtime) >= 1
    assert deferred_cents(db, association) == 0
    assert wallet.get_balance(association).balance.amount_cents == 500


def test_concurrent_donations_spending_and_folding_lose_nothing(wallet, open_account, runtime, db):
    association, payee = open_account("ASSOCIATION"), open_account(tier="VERIFIED")
    donors = [open_account(balance_cents=1_000) for _ in range(30)]
    folding = threading.Event()

    def keep_folding():
        while not folding.is_set():
            maintenance.fold_deferred_credits(runtime)

    folder = threading.Thread(target=keep_folding)
    folder.start()
    try:
        results = run_together(
            [lambda d=d: pay(wallet, d, association, 1_000) for d in donors]
            # The association spends what has arrived so far, at the same time.
            + [lambda: pay(wallet, association, payee, 1_000) for _ in range(10)]
        )
    finally:
        folding.set()
        folder.join()
    donated = sum(1 for r in results[:30] if not isinstance(r, errors.EnvoiError))
    spent = sum(1 for r in results[30:] if not isinstance(r, errors.EnvoiError))
    assert donated == 30
    refusals = {r.reason for r in results[30:] if isinstance(r, errors.EnvoiError)}
    assert refusals <= {"INSUFFICIENT_FUNDS"}
    assert wallet.get_balance(association).balance.amount_cents == (30 - spent) * 1_000
    assert wallet.get_balance(payee).balance.amount_cents == spent * 1_000
    # The ledger invariants (balance plus deferred credits = postings, floors)
    # are checked after every test by the fixture in envoi.core.testing.


def test_an_association_has_no_maximum_balance_but_a_person_has(admin, open_account):
    association, person = open_account("ASSOCIATION"), open_account()
    admin.credit_account(association, 200_000)  # over the unverified maximum of 150,000
    assert admin.get_balance(association).balance.amount_cents == 200_000
    with pytest.raises(errors.LimitExceeded):
        admin.credit_account(person, 200_000)
