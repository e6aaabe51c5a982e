"""RefundTransfer: a merchant (with a key of the refunds scope) or an
association (with its code, through the wallet) gives back part or all of a
completed payment, only to its payer, never more in all than the payment, its
fee going back pro rata; once per request id, and safely under concurrency."""

import psycopg
import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.providers.sandbox import bank_transfers
from envoi.v1 import transfer_pb2

CODE = "123456"
MERCHANT_CODE = "424242"
REFUND = transfer_pb2.TRANSFER_KIND_REFUND


@pytest.fixture
def shop(open_account, admin, wallet, client_for):
    """A merchant at 1.5 % + 0.25 with a key of the refunds scope, and a payer
    who paid it 20 € (a 0.55 € fee): (merchant id, its refunding client,
    payer id, the payment)."""
    merchant_id = open_account("MERCHANT", code=MERCHANT_CODE)
    admin.set_merchant_fees(merchant_id, 150, 25)
    key = admin.create_api_key(merchant_id, label="refunds", scopes=("refunds",))
    assert list(key.api_key.scopes) == ["refunds"]
    payer = open_account(balance_cents=5_000, code=CODE)
    return merchant_id, client_for(key.secret), payer, pay(wallet, payer, merchant_id)


def pay(wallet, payer, payee, amount_cents=2_000):
    pending = wallet.initiate_transfer(payer, payee, amount_cents)
    return wallet.confirm_transfer(pending.transfer_id, CODE)


def balance(admin, account_id) -> int:
    return admin.get_balance(account_id).balance.amount_cents


def postings_of(db, transfer_id) -> dict:
    rows = db.execute(
        "SELECT account_id::text, amount_cents FROM postings WHERE transfer_id = %s",
        (transfer_id,),
    ).fetchall()
    return dict(rows)


def fee_revenue_id(db) -> str:
    return str(
        db.execute(
            "SELECT account_id FROM accounts WHERE system_purpose = 'FEE_REVENUE'"
            " AND currency_code = 'EUR'"
        ).fetchone()[0]
    )


def test_a_full_refund_gives_the_payer_everything_back_and_the_fee_with_it(shop, admin, db):
    merchant_id, refunds, payer, payment = shop
    assert payment.fee.amount_cents == 55
    refund = refunds.refund_transfer(payment.transfer_id, 2_000, memo="order 42 returned")
    assert (refund.kind, refund.state) == (REFUND, transfer_pb2.TRANSFER_STATE_COMPLETED)
    assert refund.refund_of == payment.transfer_id and refund.memo == "order 42 returned"
    assert (refund.from_account_id, refund.to_account_id) == (merchant_id, payer)
    assert (refund.amount.amount_cents, refund.fee.amount_cents) == (2_000, 55)
    assert postings_of(db, refund.transfer_id) == {
        payer: 2_000,
        merchant_id: -1_945,  # no more than it received
        fee_revenue_id(db): -55,
    }
    assert balance(admin, payer) == 5_000 and balance(admin, merchant_id) == 0


def test_partial_refunds_add_up_to_the_payment_and_its_fee_exactly(shop, admin):
    merchant_id, refunds, payer, payment = shop
    fees = [
        refunds.refund_transfer(payment.transfer_id, cents).fee.amount_cents
        for cents in (500, 700, 799, 1)
    ]
    assert fees == [13, 20, 21, 1] and sum(fees) == 55  # pro rata, on the running total
    with pytest.raises(errors.RefundExceedsPayment) as refused:
        refunds.refund_transfer(payment.transfer_id, 1)
    assert refused.value.metadata["refundable_cents"] == "0"
    assert balance(admin, payer) == 5_000 and balance(admin, merchant_id) == 0


def test_a_refund_is_made_once_per_request_id(shop, admin):
    _, refunds, payer, payment = shop
    first = refunds.refund_transfer(payment.transfer_id, 300, request_id="refund-1")
    again = refunds.refund_transfer(payment.transfer_id, 300, request_id="refund-1")
    assert again.transfer_id == first.transfer_id
    assert balance(admin, payer) == 3_300
    with pytest.raises(errors.IdempotencyKeyReused):
        refunds.refund_transfer(payment.transfer_id, 400, request_id="refund-1")


def test_concurrent_partial_refunds_never_exceed_the_payment(shop, admin):
    _, refunds, payer, payment = shop
    results = run_together(
        [lambda: refunds.refund_transfer(payment.transfer_id, 150) for _ in range(20)]
    )
    done = [r for r in results if isinstance(r, transfer_pb2.Transfer)]
    assert len(done) == 13  # 13 x 1.50 € = 19.50 €: a 14th would pass the 20 €
    assert {type(r) for r in results} - {transfer_pb2.Transfer} == {errors.RefundExceedsPayment}
    assert balance(admin, payer) == 3_000 + 13 * 150


def test_a_refund_racing_a_withdrawal_of_the_same_money_never_overdraws(shop, admin):
    merchant_id, refunds, _, payment = shop
    merchant = refunds  # the refunds key is the merchant's too: it may withdraw
    results = run_together(
        [
            lambda: refunds.refund_transfer(payment.transfer_id, 1_000),  # 9.73 € of the shop's
            lambda: merchant.withdraw(
                merchant_id,
                1_945,  # all it has
                iban=bank_transfers.SETTLES,
                beneficiary_name="Shop",
                code=MERCHANT_CODE,
                provider="sandbox",
            ),
        ]
    )
    assert sum(isinstance(r, errors.InsufficientFunds) for r in results) == 1, results
    assert balance(admin, merchant_id) >= 0


def test_only_the_merchant_s_key_of_the_refunds_scope_refunds(
    shop, admin, open_account, client_for, make_token
):
    merchant_id, _, _, payment = shop
    plain = client_for(make_token("merchant", merchant_account_id=merchant_id))
    with pytest.raises(errors.PermissionDenied, match="refunds scope"):
        plain.refund_transfer(payment.transfer_id, 100)
    # Least privilege: a key without the scope cannot mint one with it.
    with pytest.raises(errors.PermissionDenied, match="scopes it holds"):
        plain.create_api_key(merchant_id, scopes=("refunds",))
    other_id = open_account("MERCHANT")
    other = client_for(admin.create_api_key(other_id, scopes=("refunds",)).secret)
    with pytest.raises(errors.PermissionDenied, match="not made to this merchant"):
        other.refund_transfer(payment.transfer_id, 100)
    with pytest.raises(errors.InvalidArgument):
        admin.create_api_key(merchant_id, scopes=("payouts",))


def test_an_association_refunds_a_donation_with_its_code(open_account, admin, wallet):
    association = open_account("ASSOCIATION", code="777777")
    donor = open_account(balance_cents=1_000, code=CODE)
    donation = pay(wallet, donor, association, 600)
    with pytest.raises(errors.InvalidCode):
        wallet.refund_transfer(donation.transfer_id, 600, code="000000")
    with pytest.raises(errors.InvalidArgument, match="code"):
        wallet.refund_transfer(donation.transfer_id, 600)
    refund = wallet.refund_transfer(donation.transfer_id, 600, code="777777")
    assert (refund.fee.amount_cents, refund.refund_of) == (0, donation.transfer_id)
    assert balance(admin, donor) == 1_000
    history = wallet.list_transfers(donor).transfers
    assert [t.transfer_id for t in history][:2] == [refund.transfer_id, donation.transfer_id]


def test_what_is_no_completed_payment_to_the_refunder_is_not_refundable(shop, open_account, wallet):
    _, refunds, payer, payment = shop
    pending = wallet.initiate_transfer(payer, shop[0], 100)
    refund = refunds.refund_transfer(payment.transfer_id, 100)
    with pytest.raises(errors.TransferNotRefundable, match="pending_confirmation payment"):
        refunds.refund_transfer(pending.transfer_id, 50)
    with pytest.raises(errors.PermissionDenied):  # a refund is paid to the payer
        refunds.refund_transfer(refund.transfer_id, 50)
    friend = open_account(code=CODE)
    gift = pay(wallet, payer, friend, 100)  # to a person: paid back, not refunded
    with pytest.raises(errors.TransferNotRefundable, match="association"):
        wallet.refund_transfer(gift.transfer_id, 100, code=CODE)
    with pytest.raises(errors.TransferNotRefundable):  # the wallet never refunds for a merchant
        wallet.refund_transfer(payment.transfer_id, 100, code=MERCHANT_CODE)
    with pytest.raises(errors.CurrencyMismatch):
        refunds.refund_transfer(payment.transfer_id, 100, currency_code="USD")
    with pytest.raises(errors.TransferNotFound):
        refunds.refund_transfer("5b1d3b55-0000-4000-8000-000000000000", 100)


def test_the_database_refuses_an_over_refund_or_one_to_someone_else(shop, db, open_account):
    merchant_id, refunds, payer, payment = shop
    refunds.refund_transfer(payment.transfer_id, 1_500)

    def insert(amount_cents, to_account_id):
        db.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, resolve_time, refund_of)"
            " VALUES (gen_random_uuid(), 'REFUND', 'COMPLETED', %s, %s, 'EUR', %s, 'test',"
            " now(), %s)",
            (merchant_id, to_account_id, amount_cents, payment.transfer_id),
        )

    with pytest.raises(psycopg.errors.CheckViolation, match="more than it"):
        insert(501, payer)
    with pytest.raises(psycopg.errors.CheckViolation, match="back to its payer"):
        insert(100, open_account())


def test_a_rotated_key_keeps_its_scopes_and_each_refund_has_its_event(shop, db):
    merchant_id, refunds, payer, payment = shop
    [key] = [k for k in refunds.list_api_keys(merchant_id) if k.label == "refunds"]
    rotated = refunds.rotate_api_key(key.api_key_id)
    assert list(rotated.api_key.scopes) == ["refunds"]
    refund = refunds.refund_transfer(payment.transfer_id, 100)
    events = db.execute(
        "SELECT event_type FROM outbox_events WHERE transfer_id = %s", (refund.transfer_id,)
    ).fetchall()
    assert events == [("TRANSFER_COMPLETED",)]
