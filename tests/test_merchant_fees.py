"""Merchant fees: a payment to a merchant posts the payer -gross, the merchant
+net and the fee revenue account +fee in one transaction; histories show all three."""

import uuid

import psycopg
import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.ledger.invariants import assert_ledger_invariants
from envoi.core.policy import merchant_fees
from envoi.core.testing import TEST_CODE_KEY
from envoi.v1 import event_pb2, identity_pb2, transfer_pb2

CODE = "123456"
# What a new merchant pays in this module unless an admin sets its own rate.
DEFAULT_BASIS_POINTS, DEFAULT_FIXED_CENTS = 120, 5


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url,
        code_key=TEST_CODE_KEY,
        currencies=("EUR", "USD"),
        merchant_fee_basis_points=DEFAULT_BASIS_POINTS,
        merchant_fee_fixed_cents=DEFAULT_FIXED_CENTS,
    )


def fee_revenue_cents(db, currency_code="EUR") -> int:
    return db.execute(
        "SELECT account_balance_cents(a) FROM accounts a"
        " WHERE system_purpose = 'FEE_REVENUE' AND currency_code = %s",
        (currency_code,),
    ).fetchone()[0]


def fee_revenue_account_id(db, currency_code="EUR") -> str:
    return str(
        db.execute(
            "SELECT account_id FROM accounts WHERE system_purpose = 'FEE_REVENUE'"
            " AND currency_code = %s",
            (currency_code,),
        ).fetchone()[0]
    )


def balance_cents(admin, account_id) -> int:
    return admin.get_balance(account_id).balance.amount_cents


def postings_of(db, transfer_id) -> list[tuple[str, int]]:
    return sorted(
        (str(account_id), cents)
        for account_id, cents in db.execute(
            "SELECT account_id, amount_cents FROM postings WHERE transfer_id = %s", (transfer_id,)
        )
    )


def pay(wallet, payer, payee, amount_cents, **options):
    transfer = wallet.initiate_transfer(payer, payee, amount_cents)
    return wallet.confirm_transfer(transfer.transfer_id, CODE, **options)


def gross_fee_net(transfer) -> tuple[int, int, int]:
    assert transfer.amount.currency_code == transfer.fee.currency_code
    assert transfer.net_amount.currency_code == transfer.amount.currency_code
    return (
        transfer.amount.amount_cents,
        transfer.fee.amount_cents,
        transfer.net_amount.amount_cents,
    )


@pytest.mark.parametrize(
    "amount_cents, basis_points, fixed_cents, fee_cents",
    [
        (10_000, 0, 0, 0),  # no fee at all
        (10_000, 150, 0, 150),  # 1.5 %
        (10_000, 0, 25, 25),  # fixed only
        (10_000, 150, 25, 175),
        (33, 150, 0, 0),  # 0.495 cent: rounds down
        (34, 150, 0, 1),  # 0.51 cent: rounds up
        (50, 100, 0, 1),  # exactly half a cent: half up
        (49, 100, 0, 0),
        (250, 100, 0, 3),  # 2.5: half up, not to even
        (1, 10_000, 0, 1),  # 100 %
        (10**15, 10_000, 100_000, 10**15 + 100_000),  # no int64 overflow on the way
    ],
)
def test_fee_arithmetic_is_integer_and_rounds_half_up(
    db, amount_cents, basis_points, fixed_cents, fee_cents
):
    assert merchant_fees.fee_cents(db, amount_cents, basis_points, fixed_cents) == fee_cents


def test_a_new_merchant_pays_the_default_fee(open_account, admin):
    merchant_id = open_account("MERCHANT")
    fees = admin.get_account(merchant_id).merchant_fees
    assert (fees.basis_points, fees.fixed_cents) == (DEFAULT_BASIS_POINTS, DEFAULT_FIXED_CENTS)
    # People and associations have no fees at all.
    assert not admin.get_account(open_account()).HasField("merchant_fees")
    assert not admin.get_account(open_account("ASSOCIATION")).HasField("merchant_fees")


def test_a_paid_order_posts_gross_fee_and_net_in_one_transfer(
    open_account, admin, wallet, db, make_token, client_for
):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 150, 25)  # 1.5 % + 0.25
    payer = open_account(balance_cents=5_000, code=CODE)
    revenue_before = fee_revenue_cents(db)

    pending = wallet.initiate_transfer(payer, merchant_id, 2_000)
    # Known from the initiation on: the fee is the rate when the payment started.
    assert gross_fee_net(pending) == (2_000, 55, 1_945)
    assert fee_revenue_cents(db) == revenue_before
    done = wallet.confirm_transfer(pending.transfer_id, CODE)
    assert done.state == transfer_pb2.TRANSFER_STATE_COMPLETED
    assert gross_fee_net(done) == (2_000, 55, 1_945)

    assert postings_of(db, done.transfer_id) == sorted(
        [(payer, -2_000), (merchant_id, 1_945), (fee_revenue_account_id(db), 55)]
    )
    assert balance_cents(admin, payer) == 3_000
    assert balance_cents(admin, merchant_id) == 1_945
    assert fee_revenue_cents(db) == revenue_before + 55

    # Every view of the history shows gross, fee and net.
    merchant = client_for(make_token("merchant", merchant_account_id=merchant_id))
    assert gross_fee_net(merchant.get_transfer(done.transfer_id)) == (2_000, 55, 1_945)
    (listed,) = merchant.list_transfers(merchant_id).transfers
    assert gross_fee_net(listed) == (2_000, 55, 1_945)
    (paid,) = wallet.list_transfers(payer, direction="OUTGOING").transfers
    assert gross_fee_net(paid) == (2_000, 55, 1_945)
    with merchant.watch_events(merchant_id, timeout_s=10) as stream:
        events = iter(stream)
        assert next(events).type == event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
        completed = next(events)
    assert completed.type == event_pb2.EVENT_TYPE_TRANSFER_COMPLETED
    assert gross_fee_net(completed.transfer) == (2_000, 55, 1_945)


def test_a_merchant_without_a_fee_gets_two_legs(open_account, admin, wallet, db):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 0, 0)
    payer = open_account(balance_cents=1_000, code=CODE)
    revenue_before = fee_revenue_cents(db)
    done = pay(wallet, payer, merchant_id, 999)
    assert gross_fee_net(done) == (999, 0, 999)
    assert postings_of(db, done.transfer_id) == sorted([(payer, -999), (merchant_id, 999)])
    assert fee_revenue_cents(db) == revenue_before


@pytest.mark.parametrize("kind", ["PERSON", "ASSOCIATION"])
def test_people_and_associations_pay_no_fee(kind, open_account, wallet, db):
    payee = open_account(kind)
    payer = open_account(balance_cents=10_000, code=CODE)
    revenue_before = fee_revenue_cents(db)
    done = pay(wallet, payer, payee, 10_000)
    assert gross_fee_net(done) == (10_000, 0, 10_000)
    assert postings_of(db, done.transfer_id) == sorted([(payer, -10_000), (payee, 10_000)])
    assert fee_revenue_cents(db) == revenue_before


def test_the_fee_is_the_rate_when_the_payment_was_initiated(open_account, admin, wallet):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 0, 10)
    payer = open_account(balance_cents=5_000, code=CODE)
    pending = wallet.initiate_transfer(payer, merchant_id, 1_000)
    admin.set_merchant_fees(merchant_id, 1_000, 0)  # 10 % from now on
    assert gross_fee_net(wallet.confirm_transfer(pending.transfer_id, CODE)) == (1_000, 10, 990)
    assert gross_fee_net(pay(wallet, payer, merchant_id, 1_000)) == (1_000, 100, 900)
    assert balance_cents(admin, merchant_id) == 990 + 900


def test_a_payment_the_fee_would_take_all_of_is_refused(open_account, admin, wallet, db):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 0, 100)
    payer = open_account(balance_cents=1_000, code=CODE)
    before = db.execute("SELECT count(*) FROM transfers").fetchone()[0]
    for amount_cents in (1, 100):  # the merchant would get nothing
        with pytest.raises(errors.AmountBelowFee) as refused:
            wallet.initiate_transfer(payer, merchant_id, amount_cents)
        assert refused.value.metadata == {"fee_cents": "100"}
    assert db.execute("SELECT count(*) FROM transfers").fetchone()[0] == before
    assert wallet.get_balance(payer).available.amount_cents == 1_000
    # One cent more than the fee: the merchant gets that cent.
    assert gross_fee_net(pay(wallet, payer, merchant_id, 101)) == (101, 100, 1)


def test_a_retried_confirmation_posts_the_fee_once(open_account, admin, wallet, db):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 200, 0)  # 2 %
    payer = open_account(balance_cents=5_000, code=CODE)
    revenue_before = fee_revenue_cents(db)
    pending = wallet.initiate_transfer(payer, merchant_id, 5_000)
    first = wallet.confirm_transfer(pending.transfer_id, CODE, request_id="fees-retry-1")
    again = wallet.confirm_transfer(pending.transfer_id, CODE, request_id="fees-retry-1")
    assert again == first
    assert len(postings_of(db, pending.transfer_id)) == 3
    assert fee_revenue_cents(db) == revenue_before + 100
    assert balance_cents(admin, merchant_id) == 4_900


def test_concurrent_payments_to_one_merchant_add_up_exactly(open_account, admin, wallet, db):
    merchant_id = open_account("MERCHANT", tier="VERIFIED")
    admin.set_merchant_fees(merchant_id, 150, 10)  # 1_000 cents: 15 + 10 = 25
    payers = [open_account(balance_cents=1_000, code=CODE) for _ in range(16)]
    pending = [wallet.initiate_transfer(payer, merchant_id, 1_000) for payer in payers]
    revenue_before = fee_revenue_cents(db)
    results = run_together(
        [lambda t=t: wallet.confirm_transfer(t.transfer_id, CODE) for t in pending]
    )
    assert all(gross_fee_net(done) == (1_000, 25, 975) for done in results), results
    assert balance_cents(admin, merchant_id) == 16 * 975
    assert fee_revenue_cents(db) == revenue_before + 16 * 25
    assert all(balance_cents(admin, payer) == 0 for payer in payers)


def test_escrow_and_batches_bear_no_fee(open_account, admin, wallet, db):
    """Only a payment initiated to a merchant's account bears its fee: money a
    merchant claims from escrow was priced as a payment to a person, and the
    operator's own batches (CreateTransfers) move money between accounts as they are."""
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 500, 50)
    payer = open_account(balance_cents=5_000, code=CODE)
    bank = open_account("SETTLEMENT", balance_cents=1_000)
    revenue_before = fee_revenue_cents(db)
    admin.create_transfers(
        [{"from_account_id": bank, "to_account_id": merchant_id, "amount_cents": 1_000}],
        mode="ALL_OR_NOTHING",
    )
    assert balance_cents(admin, merchant_id) == 1_000
    # Paid to an X account nobody had linked; the merchant links it later.
    shop = identity_pb2.Identity(namespace="twitter", subject_id=uuid.uuid4().hex[:16])
    waiting = pay(wallet, payer, shop, 2_000)
    assert waiting.state == transfer_pb2.TRANSFER_STATE_AWAITING_CLAIM
    (claimed,) = admin.link_identity(merchant_id, shop).claimed_transfers
    assert gross_fee_net(claimed) == (2_000, 0, 2_000)
    assert balance_cents(admin, merchant_id) == 3_000
    assert fee_revenue_cents(db) == revenue_before


def test_the_database_decides_the_fee(database_url, open_account, admin):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 0, 7)
    person, other_person = open_account(balance_cents=100), open_account()
    insert = (
        "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        " currency_code, amount_cents, fee_cents, initiated_by, expire_time)"
        " VALUES (gen_random_uuid(), %s, 'PENDING_CONFIRMATION', %s, %s, 'EUR', 50, %s,"
        " 'test', now() + interval '1 hour') RETURNING transfer_id, fee_cents"
    )
    with psycopg.connect(database_url) as conn:
        # Whatever fee a caller writes, a payment gets its recipient's rate.
        assert conn.execute(insert, ("PAYMENT", person, merchant_id, 0)).fetchone()[1] == 7
        transfer_id, fee = conn.execute(insert, ("PAYMENT", person, other_person, 3)).fetchone()
        assert fee == 0
        # ... and it never changes after that.
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute(
                "UPDATE transfers SET fee_cents = 1, state = 'CANCELLED', resolve_time = now()"
                " WHERE transfer_id = %s",
                (transfer_id,),
            )
        conn.rollback()
        # Only payments bear a fee, and never all of the amount.
        with pytest.raises(psycopg.errors.CheckViolation, match="fee_only_on_payments"):
            conn.execute(
                "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
                " to_account_id, currency_code, amount_cents, fee_cents, initiated_by)"
                " VALUES (gen_random_uuid(), 'LEDGER', 'COMPLETED', %s, %s, 'EUR', 50, 1, 't')",
                (person, merchant_id),
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation, match="fee_below_amount"):
            conn.execute(
                insert.replace("'EUR', 50", "'EUR', 7"), ("PAYMENT", person, merchant_id, 0)
            )
        conn.rollback()


@pytest.mark.parametrize("kind", ["MERCHANT", "ASSOCIATION"])
def test_payments_to_merchants_and_associations_are_capped_at_500_eur(
    kind, open_account, admin, wallet
):
    payee = open_account(kind, tier="VERIFIED")
    if kind == "MERCHANT":
        admin.set_merchant_fees(payee, 0, 0)
    payer = open_account(balance_cents=100_001, code=CODE, tier="VERIFIED")
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.initiate_transfer(payer, payee, 50_001)
    assert refused.value.metadata == {"limit": "PER_TRANSFER", "limit_cents": "50000"}
    done = pay(wallet, payer, payee, 50_000)
    assert done.state == transfer_pb2.TRANSFER_STATE_COMPLETED
    assert balance_cents(admin, payee) == 50_000


def test_only_an_admin_sets_fees_and_a_merchant_reads_its_own(
    open_account, admin, wallet, make_token, client_for, db
):
    merchant_id = open_account("MERCHANT")
    merchant = client_for(make_token("merchant", merchant_account_id=merchant_id))
    admin.set_merchant_fees(merchant_id, 250, 30)
    fees = merchant.get_account(merchant_id).merchant_fees
    assert (fees.basis_points, fees.fixed_cents) == (250, 30)
    for client in (merchant, wallet):
        with pytest.raises(errors.PermissionDenied):
            client.set_merchant_fees(merchant_id, 0, 0)
    other_merchant = open_account("MERCHANT")
    with pytest.raises(errors.PermissionDenied):
        merchant.get_account(other_merchant)
    fees = admin.get_account(merchant_id).merchant_fees
    assert (fees.basis_points, fees.fixed_cents) == (250, 30)


@pytest.mark.parametrize(
    "basis_points, fixed_cents, field",
    [
        (-1, 0, "merchant_fees.basis_points"),
        (10_001, 0, "merchant_fees.basis_points"),
        (0, -1, "merchant_fees.fixed_cents"),
        (0, 100_001, "merchant_fees.fixed_cents"),
    ],
)
def test_fees_out_of_range_are_refused(basis_points, fixed_cents, field, open_account, admin):
    merchant_id = open_account("MERCHANT")
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_merchant_fees(merchant_id, basis_points, fixed_cents)
    assert set(refused.value.field_violations) == {field}
    fees = admin.get_account(merchant_id).merchant_fees
    assert (fees.basis_points, fees.fixed_cents) == (DEFAULT_BASIS_POINTS, DEFAULT_FIXED_CENTS)


@pytest.mark.parametrize("kind", ["PERSON", "ASSOCIATION"])
def test_only_merchants_have_fees(kind, open_account, admin):
    account_id = open_account(kind)
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_merchant_fees(account_id, 100, 0)
    assert set(refused.value.field_violations) == {"account_id"}
    assert not admin.get_account(account_id).HasField("merchant_fees")


def test_the_fee_account_takes_its_credits_deferred(db):
    # Every merchant payment credits it: no payment may queue on its row lock.
    assert db.execute(
        "SELECT bool_and(credits_deferred AND floor_cents = 0 AND kind = 'SYSTEM'), count(*)"
        " FROM accounts WHERE system_purpose = 'FEE_REVENUE'"
    ).fetchone() == (True, 2)  # EUR and USD


def test_the_invariant_checker_finds_a_fee_posted_nowhere(database_url, open_account, admin):
    merchant_id = open_account("MERCHANT")
    admin.set_merchant_fees(merchant_id, 0, 10)
    payer = open_account(balance_cents=100)
    with psycopg.connect(database_url) as conn:
        # A fee that went to the merchant instead of the fee account.
        transfer_id = conn.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, expire_time)"
            " VALUES (gen_random_uuid(), 'PAYMENT', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 50,"
            " 'test', now() + interval '1 hour') RETURNING transfer_id",
            (payer, merchant_id),
        ).fetchone()[0]
        conn.execute("ALTER TABLE transfers DISABLE TRIGGER transfers_apply_update")
        conn.execute(
            "UPDATE transfers SET state = 'COMPLETED', resolve_time = now() WHERE transfer_id = %s",
            (transfer_id,),
        )
        conn.execute(
            "UPDATE accounts SET held_cents = held_cents - 50 WHERE account_id = %s", (payer,)
        )
        conn.execute(
            "INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)"
            " VALUES (%s, %s, 'EUR', -50), (%s, %s, 'EUR', 50)",
            (transfer_id, payer, transfer_id, merchant_id),
        )
        conn.execute(
            "INSERT INTO outbox_events (event_type, transfer_id) VALUES ('TRANSFER_COMPLETED', %s)",
            (transfer_id,),
        )
        with pytest.raises(AssertionError) as broken:
            assert_ledger_invariants(conn)
        for name in (
            "each transfer's postings match its state",
            "each completed payment's fee is posted to the fee revenue account",
            "the fee revenue account holds the fees of completed payments",
        ):
            assert name in str(broken.value)
        conn.rollback()
