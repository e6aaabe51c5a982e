"""The money rules hold in PostgreSQL itself, whatever code writes to it."""

import uuid

import psycopg
import psycopg.errors
import pytest

from envoi.core.ledger.invariants import assert_ledger_invariants


@pytest.fixture
def accounts(open_account):
    return open_account(balance_cents=1_000), open_account()


def test_postings_that_do_not_sum_to_zero_are_refused(db, accounts, wallet):
    alice, bob = accounts
    transfer = wallet.initiate_transfer(alice, bob, 100)
    with pytest.raises(psycopg.errors.CheckViolation, match="sum to zero"):
        with db.transaction():
            db.execute(
                "INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)"
                " VALUES (%s, %s, 'EUR', 100)",
                (transfer.transfer_id, bob),
            )


def test_each_statement_balances_each_transfer_it_posts_to(db, accounts, wallet):
    """Checked per statement, not at commit: legs that balance only across two
    statements, or only across two transfers of one statement, are refused."""
    alice, bob = accounts
    first = wallet.initiate_transfer(alice, bob, 100).transfer_id
    second = wallet.initiate_transfer(alice, bob, 100).transfer_id
    insert_leg = (
        "INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)"
        " VALUES (%s, %s, 'EUR', %s)"
    )
    with pytest.raises(psycopg.errors.CheckViolation, match="sum to zero"):
        with db.transaction():
            db.execute(insert_leg, (first, alice, -100))
            db.execute(insert_leg, (first, bob, 100))
    with pytest.raises(psycopg.errors.CheckViolation, match="sum to zero"):
        db.execute(
            "INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)"
            " VALUES (%s, %s, 'EUR', -100), (%s, %s, 'EUR', 100)",
            (first, alice, second, bob),
        )


def test_no_balance_below_its_floor(db, accounts):
    alice, _ = accounts
    with pytest.raises(psycopg.errors.CheckViolation, match="balance_above_floor"):
        db.execute("UPDATE accounts SET held_cents = 1001 WHERE account_id = %s", (alice,))


def test_a_resolved_transfer_never_changes_again(db, accounts, wallet):
    alice, bob = accounts
    transfer = wallet.initiate_transfer(alice, bob, 100)
    wallet.confirm_transfer(transfer.transfer_id, "123456")
    for state in ("CANCELLED", "EXPIRED", "COMPLETED", "PENDING_CONFIRMATION"):
        with pytest.raises(psycopg.errors.IntegrityError):
            db.execute(
                "UPDATE transfers SET state = %s WHERE transfer_id = %s",
                (state, transfer.transfer_id),
            )


def test_a_pending_transfer_changes_only_its_state(db, accounts, wallet):
    alice, bob = accounts
    transfer = wallet.initiate_transfer(alice, bob, 100)
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute(
            "UPDATE transfers SET amount_cents = 1 WHERE transfer_id = %s", (transfer.transfer_id,)
        )
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute(
            "UPDATE transfers SET expire_time = now() + interval '1 day' WHERE transfer_id = %s",
            (transfer.transfer_id,),
        )


def test_postings_and_transfers_are_never_deleted(db, accounts, wallet):
    alice, bob = accounts
    transfer = wallet.initiate_transfer(alice, bob, 100)
    wallet.confirm_transfer(transfer.transfer_id, "123456")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("DELETE FROM postings WHERE transfer_id = %s", (transfer.transfer_id,))
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute(
            "UPDATE postings SET amount_cents = 1 WHERE transfer_id = %s", (transfer.transfer_id,)
        )
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute("DELETE FROM transfers WHERE transfer_id = %s", (transfer.transfer_id,))


def test_a_transfer_cannot_mix_currencies(db, open_account):
    eur = open_account(balance_cents=1_000)
    usd = open_account(currency_code="USD")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
            " to_account_id, currency_code, amount_cents, initiated_by, expire_time)"
            " VALUES (%s, 'PAYMENT', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 100, 'test',"
            " now() + interval '1 hour')",
            (uuid.uuid4(), eur, usd),
        )


def test_the_invariant_checker_catches_a_corrupted_ledger(database_url, postgres_server_url):
    # Bypass the triggers (as only a superuser can) to prove the checker is not blind.
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        account_id = conn.execute(
            # Not a closed one: its CHECK keeps its balance 0 even in replica mode.
            "SELECT account_id FROM accounts WHERE kind = 'PERSON' AND close_time IS NULL LIMIT 1"
        ).fetchone()[0]
        conn.execute(
            "UPDATE accounts SET balance_cents = balance_cents + 1 WHERE account_id = %s",
            (account_id,),
        )
        # Checked inside the same uncommitted transaction, then rolled back.
        with pytest.raises(AssertionError, match="each balance is the sum of its postings"):
            assert_ledger_invariants(conn)
        conn.rollback()


def test_the_invariant_checker_counts_deferred_credits(database_url, open_account):
    # A deferred credit with no posting behind it is money created from nothing.
    association = open_account("ASSOCIATION")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO deferred_credits (account_id, amount_cents) VALUES (%s, 1)",
            (association,),
        )
        with pytest.raises(AssertionError, match="each balance is the sum of its postings"):
            assert_ledger_invariants(conn)
        conn.rollback()


def test_a_debit_folds_the_deferred_credits_before_the_floor_check(
    database_url, open_account, admin
):
    association, person = open_account("ASSOCIATION"), open_account()
    # LEDGER transfers debit a settlement account, or an association under a mandate.
    admin.set_debit_mandate(association, active=True, reason="database rules test")
    funder = open_account("SETTLEMENT", balance_cents=300)
    with psycopg.connect(database_url) as conn:
        insert = (
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, resolve_time)"
            " VALUES (gen_random_uuid(), 'LEDGER', 'COMPLETED', %s, %s, 'EUR', %s, 'test', now())"
        )
        conn.execute(insert, (funder, association, 300))
        row = conn.execute(
            "SELECT balance_cents, account_balance_cents(accounts) FROM accounts"
            " WHERE account_id = %s",
            (association,),
        ).fetchone()
        assert row == (0, 300)  # the credit waits in deferred_credits
        conn.execute(insert, (association, person, 300))  # all of it: the floor sees it
        row = conn.execute(
            "SELECT balance_cents, account_balance_cents(accounts) FROM accounts"
            " WHERE account_id = %s",
            (association,),
        ).fetchone()
        assert row == (0, 0)
        with pytest.raises(psycopg.errors.CheckViolation, match="balance_above_floor"):
            conn.execute(insert, (association, person, 1))
        conn.rollback()
