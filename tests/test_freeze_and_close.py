"""Freezing and closing accounts (issue 17): an admin's freeze stops every way
money leaves an account (money in still arrives); a close, by the owner with
the code or an admin, needs nothing left, unlinks the identities, and stops
money in and out for good. Races against the real server, from threads."""

import uuid
from functools import partial

import psycopg
import pytest
from concurrently import run_together
from event_streams import StreamReader
from server_process import wait_for
from test_payouts import sandbox, settle, withdraw  # noqa: F401 (a fixture)

from envoi.client import errors
from envoi.core.ledger import transfers
from envoi.providers.sandbox import bank_transfers
from envoi.v1 import event_pb2, transfer_pb2

CODE = "123456"
REASON = "ticket 4711: card reported stolen"
RACES = 8  # rounds of each race: both orders come up


def balance(admin, account_id) -> int:
    return admin.get_balance(account_id).balance.amount_cents


def test_a_frozen_account_sends_nothing_but_still_receives(admin, wallet, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    bob = open_account(balance_cents=1_000, code=CODE)
    waiting = wallet.initiate_transfer(alice, bob, 700)
    frozen = admin.freeze_account(alice, REASON)
    account = frozen.account
    assert (account.frozen, account.freeze_reason) == (True, REASON)
    assert account.freeze_time == frozen.account_status_change.change_time
    assert frozen.account_status_change.reason == REASON

    for attempt in (
        lambda: wallet.confirm_transfer(waiting.transfer_id, CODE),
        lambda: wallet.initiate_transfer(alice, bob, 100),
        lambda: withdraw(wallet, alice, 100),
        lambda: admin.freeze_account(alice, "again"),
    ):
        with pytest.raises(errors.AccountFrozen) as refused:
            attempt()
        assert refused.value.metadata["account_id"] == alice
    # Money in arrives, as it does to a frozen bank account.
    pay = wallet.initiate_transfer(bob, alice, 300)
    wallet.confirm_transfer(pay.transfer_id, CODE)
    admin.credit_account(alice, 200)
    assert balance(admin, alice) == 5_500

    unfrozen = admin.unfreeze_account(alice, "owner identified at the desk").account
    assert (unfrozen.frozen, unfrozen.freeze_reason, unfrozen.HasField("freeze_time")) == (
        False,
        "",
        False,
    )
    assert wallet.confirm_transfer(waiting.transfer_id, CODE).state == (
        transfer_pb2.TRANSFER_STATE_COMPLETED
    )
    with pytest.raises(errors.AccountNotFrozen):
        admin.unfreeze_account(alice, "twice")


def test_the_database_refuses_money_out_of_a_frozen_account_by_any_sql(
    admin, wallet, open_account, db
):
    alice = open_account(balance_cents=1_000, code=CODE)
    bob = open_account(code=CODE)
    waiting = wallet.initiate_transfer(alice, bob, 100)
    admin.freeze_account(alice, REASON)
    with pytest.raises(psycopg.Error) as refused:
        db.execute(
            "UPDATE transfers SET state = 'COMPLETED', resolve_time = now() WHERE transfer_id = %s",
            (waiting.transfer_id,),
        )
    assert refused.value.sqlstate == "EV000" and "froze" in str(refused.value)
    db.rollback()
    with pytest.raises(psycopg.Error, match="froze"):
        db.execute(
            "INSERT INTO payouts (payout_id, account_id, currency_code, amount_cents, provider,"
            " iban, beneficiary_name, initiated_by)"
            " VALUES (gen_random_uuid(), %s, 'EUR', 100, 'sandbox', %s, 'A', 'test')",
            (alice, bank_transfers.SETTLES),
        )
    db.rollback()


def test_a_frozen_merchant_refunds_nothing(admin, wallet, open_account, merchant):
    merchant_id, shop = merchant
    payer = open_account(balance_cents=2_000, code=CODE)
    payment = wallet.confirm_transfer(
        wallet.initiate_transfer(payer, merchant_id, 1_000).transfer_id, CODE
    )
    admin.freeze_account(merchant_id, REASON)
    try:
        with pytest.raises(errors.AccountFrozen):
            shop.refund_transfer(payment.transfer_id, 500)
    finally:
        admin.unfreeze_account(merchant_id, "checked")
    assert shop.refund_transfer(payment.transfer_id, 500).amount.amount_cents == 500


def test_only_an_admin_freezes_with_a_reason(admin, wallet, open_account):
    alice = open_account()
    with pytest.raises(errors.PermissionDenied):
        wallet.freeze_account(alice, REASON)
    for reason in ("", " ", "x" * 281):
        with pytest.raises(errors.InvalidArgument) as refused:
            admin.freeze_account(alice, reason)
        assert "reason" in refused.value.field_violations
    assert not admin.get_account(alice).frozen


def test_the_owner_is_told_on_the_accounts_stream(grpc_server, admin, wallet, open_account):
    alice = open_account(code=CODE)
    before = grpc_server.stream_count(alice)
    with StreamReader(wallet.watch_events(alice)) as stream:
        wait_for(lambda: grpc_server.stream_count(alice) > before, "the stream to open", 10)
        frozen = admin.freeze_account(alice, REASON).account_status_change
        unfrozen = admin.unfreeze_account(alice, "done").account_status_change
        closed = wallet.close_account(alice, code=CODE).account_status_change
        events = stream.take(3)
    assert [(e.type, e.account_status_change) for e in events] == [
        (event_pb2.EVENT_TYPE_ACCOUNT_FROZEN, frozen),
        (event_pb2.EVENT_TYPE_ACCOUNT_UNFROZEN, unfrozen),
        (event_pb2.EVENT_TYPE_ACCOUNT_CLOSED, closed),
    ]
    assert frozen.reason == REASON and frozen.account_id == alice


def test_a_close_names_what_is_left(admin, wallet, open_account, posted_by):
    alice = open_account(balance_cents=1_000, code=CODE)
    bob = open_account(balance_cents=1_000, code=CODE)
    incoming = wallet.initiate_transfer(bob, alice, 100)
    with pytest.raises(errors.AccountNotEmpty) as refused:
        wallet.close_account(alice, code=CODE)
    assert refused.value.metadata["left"] == "balance_cents,pending_transfers_in"
    assert refused.value.metadata["balance_cents"] == "1000"
    assert refused.value.metadata["pending_transfers_in"] == "1"
    wallet.cancel_transfer(incoming.transfer_id)
    withdraw(wallet, alice, 1_000)
    with pytest.raises(errors.AccountNotEmpty) as refused:
        wallet.close_account(alice, code=CODE)
    assert refused.value.metadata["left"] == "balance_cents,held_cents,payouts_in_flight"
    assert admin.get_account(alice).close_time.seconds == 0


def test_a_contribution_to_an_open_collection_keeps_its_payer_from_closing(wallet, open_account):
    # Its cancellation would pay it back to an account that takes nothing: one
    # closed contributor refused every contributor's refund (ACCOUNT_CLOSED).
    owner, bob = open_account(), open_account()
    alice = open_account(balance_cents=1_000, code=CODE)
    collection = wallet.create_collection(owner, "Gift", "gift" + uuid.uuid4().hex[:8])
    given = wallet.initiate_transfer(alice, "#" + collection.hashtag, 1_000)
    wallet.confirm_transfer(given.transfer_id, CODE)
    with pytest.raises(errors.AccountNotEmpty) as refused:
        wallet.close_account(alice, code=CODE)
    assert refused.value.metadata["left"] == "contributions_to_open_collections"
    assert refused.value.metadata["contributions_to_open_collections"] == "1"
    assert wallet.cancel_collection(collection.collection_id).refund_count == 1
    back = wallet.initiate_transfer(alice, bob, 1_000)
    wallet.confirm_transfer(back.transfer_id, CODE)
    assert wallet.close_account(alice, code=CODE).account.close_time.seconds > 0


def test_the_owner_closes_with_the_code_and_the_identity_moves_on(
    admin, wallet, open_account, posted_by
):
    alice = open_account(code=CODE)
    identity = posted_by(alice)
    with pytest.raises(errors.InvalidCode):
        wallet.close_account(alice, code="000000")
    with pytest.raises(errors.InvalidArgument):
        wallet.close_account(alice)  # the owner's code is needed
    closed = wallet.close_account(alice, code=CODE).account
    assert closed.HasField("close_time") and not closed.identities
    for attempt in (
        lambda: admin.credit_account(alice, 100),
        lambda: wallet.close_account(alice, code=CODE),
        partial(admin.freeze_account, alice, REASON),
        lambda: admin.link_identity(alice, identity),
        lambda: wallet.create_collection(alice, "Pot", "ClosedPot" + alice[:8]),
    ):
        with pytest.raises(errors.AccountClosed):
            attempt()
    # A payment to the identity now waits in escrow, and its new account claims it.
    payer = open_account(balance_cents=1_000, code=CODE)
    paid = wallet.confirm_transfer(wallet.initiate_transfer(payer, identity, 400).transfer_id, CODE)
    assert paid.state == transfer_pb2.TRANSFER_STATE_AWAITING_CLAIM
    carol = open_account(code=CODE)
    claimed = admin.link_identity(carol, identity).claimed_transfers
    assert [t.transfer_id for t in claimed] == [paid.transfer_id]
    assert balance(admin, carol) == 400 and balance(admin, alice) == 0


def test_an_admin_closes_with_a_reason_not_a_code(admin, open_account, merchant, client_for):
    alice = open_account(code=CODE)
    with pytest.raises(errors.InvalidArgument):
        admin.close_account(alice)
    with pytest.raises(errors.InvalidArgument):
        admin.close_account(alice, code=CODE, reason=REASON)
    assert admin.close_account(alice, reason=REASON).account_status_change.reason == REASON


def test_a_close_racing_an_incoming_payment_lets_exactly_one_win(
    admin, wallet, open_account, posted_by
):
    for _ in range(RACES):
        payer = open_account(balance_cents=500, code=CODE)
        bob = open_account(code=CODE)
        identity = posted_by(bob)
        paid, closed = run_together(
            [
                partial(pay, wallet, payer, identity, 500),
                partial(wallet.close_account, bob, code=CODE),
            ]
        )
        if isinstance(closed, errors.EnvoiError):
            assert isinstance(closed, errors.AccountNotEmpty)
            assert paid.state == transfer_pb2.TRANSFER_STATE_COMPLETED
            assert paid.to_account_id == bob and balance(admin, bob) == 500
        else:
            assert balance(admin, bob) == 0
            if isinstance(paid, errors.EnvoiError):  # it took bob's id before the close
                assert isinstance(paid, errors.AccountClosed)
                assert admin.get_balance(payer).available.amount_cents == 500
            else:  # into escrow, for whoever links the identity next
                assert paid.state == transfer_pb2.TRANSFER_STATE_AWAITING_CLAIM
                assert balance(admin, payer) == 0


def pay(wallet, payer, payee, amount_cents):
    pending = wallet.initiate_transfer(payer, payee, amount_cents)
    return wallet.confirm_transfer(pending.transfer_id, CODE)


def test_a_freeze_racing_a_confirmation_comes_before_or_after_it(admin, wallet, open_account, db):
    for _ in range(RACES):
        alice = open_account(balance_cents=500, code=CODE)
        bob = open_account(code=CODE)
        pending = wallet.initiate_transfer(alice, bob, 500)
        confirmed, frozen = run_together(
            [
                partial(wallet.confirm_transfer, pending.transfer_id, CODE),
                partial(admin.freeze_account, alice, REASON),
            ]
        )
        if isinstance(confirmed, errors.EnvoiError):
            assert isinstance(confirmed, errors.AccountFrozen)
            assert (balance(admin, alice), balance(admin, bob)) == (500, 0)
        else:
            assert confirmed.state == transfer_pb2.TRANSFER_STATE_COMPLETED
            assert (balance(admin, alice), balance(admin, bob)) == (0, 500)
            (posted_before_the_freeze,) = db.execute(
                "SELECT p.create_time < a.freeze_time FROM postings p JOIN accounts a"
                " USING (account_id) WHERE p.transfer_id = %s AND a.account_id = %s",
                (pending.transfer_id, alice),
            ).fetchone()
            assert posted_before_the_freeze
        assert frozen.account.frozen


def test_a_close_racing_a_withdrawal_waits_for_its_settlement(admin, wallet, sandbox, open_account):  # noqa: F811
    for _ in range(RACES):
        alice = open_account(balance_cents=300, code=CODE)
        payout = withdraw(wallet, alice, 300)
        settled, closed = run_together(
            [
                partial(settle, wallet, sandbox, payout),
                partial(wallet.close_account, alice, code=CODE),
            ]
        )
        assert not isinstance(settled, errors.EnvoiError)
        if isinstance(closed, errors.EnvoiError):
            assert "payouts_in_flight" in closed.metadata["left"]
            closed = wallet.close_account(alice, code=CODE)
        assert closed.account.HasField("close_time") and balance(admin, alice) == 0


@pytest.fixture
def refunding_shop(open_account, admin, client_for):
    """A merchant at 1.5 % + 0.25 and its client with a key of the refunds scope."""
    merchant_id = open_account("MERCHANT", code="424242")
    admin.set_merchant_fees(merchant_id, 150, 25)
    key = admin.create_api_key(merchant_id, label="refunds", scopes=("refunds",))
    return merchant_id, client_for(key.secret)


def paid_from_a_post_then_closed(open_account, posted_by, twitter_channel, wallet, shop_id):
    """A payer who paid the shop 20 € from a post (a 0.55 € fee), spent the
    rest and closed: (the payment, the identity they paid from)."""
    payer = open_account(balance_cents=2_000, code=CODE)
    identity = posted_by(payer)
    pending = twitter_channel.initiate_transfer(identity, shop_id, 2_000)
    payment = wallet.confirm_transfer(pending.transfer_id, CODE)
    wallet.close_account(payer, code=CODE)
    return payment, identity


def test_a_refund_to_a_closed_payer_waits_in_escrow_for_their_identity(
    refunding_shop, open_account, posted_by, twitter_channel, admin, wallet
):
    shop_id, shop = refunding_shop
    payment, identity = paid_from_a_post_then_closed(
        open_account, posted_by, twitter_channel, wallet, shop_id
    )
    refund = shop.refund_transfer(payment.transfer_id, 2_000)
    assert refund.state == transfer_pb2.TRANSFER_STATE_AWAITING_CLAIM
    assert (refund.to_identity.subject_id, refund.fee.amount_cents) == (identity.subject_id, 55)
    assert balance(admin, shop_id) == 0 and balance(admin, payment.from_account_id) == 0
    with pytest.raises(errors.RefundExceedsPayment):
        shop.refund_transfer(payment.transfer_id, 1)
    newcomer = open_account(code=CODE)
    claimed = admin.link_identity(newcomer, identity).claimed_transfers
    assert [t.transfer_id for t in claimed] == [refund.transfer_id]
    assert claimed[0].kind == transfer_pb2.TRANSFER_KIND_REFUND
    assert balance(admin, newcomer) == 2_000


def test_a_refund_to_an_identity_linked_again_reaches_its_new_account(
    refunding_shop, open_account, posted_by, twitter_channel, admin, wallet
):
    shop_id, shop = refunding_shop
    payment, identity = paid_from_a_post_then_closed(
        open_account, posted_by, twitter_channel, wallet, shop_id
    )
    new_home = open_account(code=CODE)
    admin.link_identity(new_home, identity)
    refund = shop.refund_transfer(payment.transfer_id, 700)
    assert (refund.state, refund.to_account_id) == (
        transfer_pb2.TRANSFER_STATE_COMPLETED,
        new_home,
    )
    assert balance(admin, new_home) == 700


def test_an_unclaimed_refund_goes_back_to_the_merchant_with_its_fee_to_envoi(
    refunding_shop, open_account, posted_by, twitter_channel, admin, wallet, db
):
    shop_id, shop = refunding_shop
    payment, _ = paid_from_a_post_then_closed(
        open_account, posted_by, twitter_channel, wallet, shop_id
    )
    refund = shop.refund_transfer(payment.transfer_id, 1_000)
    (after_window,) = db.execute(
        "SELECT claim_expire_time + interval '1 second' FROM transfers WHERE transfer_id = %s",
        (refund.transfer_id,),
    ).fetchone()
    while transfers.refund_one_due(db, after_window):
        pass
    db.commit()
    back = admin.get_transfer(refund.transfer_id)
    assert back.state == transfer_pb2.TRANSFER_STATE_REFUNDED
    assert balance(admin, shop_id) == 2_000 - 55  # all it had: the fee went back to envoi


def test_a_refund_to_a_closed_payer_with_no_identity_is_refused(
    refunding_shop, open_account, admin, wallet
):
    shop_id, shop = refunding_shop
    payer = open_account(balance_cents=1_000, code=CODE)
    payment = pay(wallet, payer, shop_id, 1_000)
    admin.close_account(payer, reason=REASON)
    with pytest.raises(errors.AccountClosed):
        shop.refund_transfer(payment.transfer_id, 500)
    assert balance(admin, shop_id) == 1_000 - payment.fee.amount_cents
