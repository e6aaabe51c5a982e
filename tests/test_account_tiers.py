"""Account tiers: an unverified account has a lower maximum balance and a
lower monthly outgoing limit; an admin verifies it. Limits hold under
concurrent requests."""

import uuid

import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.testing import TEST_CODE_KEY
from envoi.providers.sandbox import bank_transfers, cards
from envoi.v1 import account_pb2, identity_pb2, transfer_pb2

MAX_BALANCE_CENTS = 5_000
MONTHLY_OUT_CENTS = 1_000


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url,
        code_key=TEST_CODE_KEY,
        unverified_max_balance_cents=MAX_BALANCE_CENTS,
        unverified_monthly_out_cents=MONTHLY_OUT_CENTS,
        daily_cap_cents=0,  # only the tier limits here
    )


def balance_cents(client, account_id) -> int:
    return client.get_balance(account_id).balance.amount_cents


def test_new_accounts_are_unverified_and_an_admin_verifies_them(admin, open_account):
    account_id = open_account()
    assert admin.get_account(account_id).tier == account_pb2.ACCOUNT_TIER_UNVERIFIED
    verified = admin.set_account_tier(account_id, "VERIFIED").account
    assert verified.tier == account_pb2.ACCOUNT_TIER_VERIFIED


def test_no_credit_takes_an_unverified_account_over_its_maximum_balance(admin, open_account):
    account_id = open_account(balance_cents=MAX_BALANCE_CENTS - 100)
    with pytest.raises(errors.LimitExceeded) as refused:
        admin.credit_account(account_id, 101)
    assert refused.value.metadata == {
        "limit": "MAX_BALANCE",
        "limit_cents": str(MAX_BALANCE_CENTS),
        "tier": "UNVERIFIED",
    }
    assert balance_cents(admin, account_id) == MAX_BALANCE_CENTS - 100
    admin.credit_account(account_id, 100)  # up to the limit itself is fine
    admin.set_account_tier(account_id, "VERIFIED")
    admin.credit_account(account_id, 10_000)


def test_a_payment_that_would_overfill_the_recipient_is_refused(wallet, admin, open_account):
    payer = open_account(balance_cents=4_000, tier="VERIFIED")
    payee = open_account(balance_cents=MAX_BALANCE_CENTS - 1_000)
    with pytest.raises(errors.LimitExceeded):
        wallet.initiate_transfer(payer, payee, 1_001)
    # It fitted when it was initiated, not any more when it is confirmed.
    pending = wallet.initiate_transfer(payer, payee, 1_000)
    admin.credit_account(payee, 500)
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.confirm_transfer(pending.transfer_id, "123456")
    assert refused.value.metadata["limit"] == "MAX_BALANCE"
    assert wallet.get_transfer(pending.transfer_id).state == (
        transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    assert balance_cents(wallet, payee) == MAX_BALANCE_CENTS - 500


def test_monthly_outgoing_depends_on_the_tier(wallet, admin, open_account):
    sender = open_account(balance_cents=5_000)
    for _ in range(2):
        wallet.initiate_transfer(sender, open_account(), MONTHLY_OUT_CENTS // 2)
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.initiate_transfer(sender, open_account(), 1)
    assert refused.value.metadata["limit"] == "MONTHLY_OUTGOING"
    assert refused.value.metadata["remaining_cents"] == "0"
    admin.set_account_tier(sender, "VERIFIED")
    wallet.initiate_transfer(sender, open_account(), 1)


def test_concurrent_payments_never_pass_the_monthly_limit(wallet, open_account):
    sender = open_account(balance_cents=5_000)
    amount_cents = 300
    results = run_together(
        [lambda: wallet.initiate_transfer(sender, open_account(), amount_cents)] * 10
    )
    accepted = [r for r in results if isinstance(r, transfer_pb2.Transfer)]
    assert len(accepted) == MONTHLY_OUT_CENTS // amount_cents
    assert all(r.reason == "LIMIT_EXCEEDED" for r in results if isinstance(r, errors.EnvoiError))


def test_concurrent_payments_never_overfill_an_unverified_recipient(wallet, open_account):
    payee = open_account()
    payers = [open_account(balance_cents=1_000, tier="VERIFIED") for _ in range(8)]
    pending = [wallet.initiate_transfer(payer, payee, 1_000) for payer in payers]
    results = run_together(
        [lambda t=t: wallet.confirm_transfer(t.transfer_id, "123456") for t in pending]
    )
    confirmed = [r for r in results if isinstance(r, transfer_pb2.Transfer)]
    assert len(confirmed) == MAX_BALANCE_CENTS // 1_000
    assert balance_cents(wallet, payee) == MAX_BALANCE_CENTS


def test_escrowed_money_over_the_limit_waits_for_verification(
    wallet, admin, twitter_channel, open_account
):
    payer = open_account(balance_cents=8_000, tier="VERIFIED")
    wallet.link_identity(payer, identity_pb2.Identity(namespace="twitter", subject_id="tier-p"))
    newcomer = identity_pb2.Identity(namespace="twitter", subject_id=f"tier-{uuid.uuid4().hex}")
    for amount_cents in (3_000, 3_000):
        transfer = twitter_channel.initiate_transfer(
            identity_pb2.Identity(namespace="twitter", subject_id="tier-p"), newcomer, amount_cents
        )
        wallet.confirm_transfer(transfer.transfer_id, "123456")
    opened = wallet.open_account_response("PERSON", "Newcomer", "123456", identity=newcomer)
    account_id = opened.account.account_id
    assert len(opened.claimed_transfers) == 1  # the second would overfill it
    assert balance_cents(wallet, account_id) == 3_000
    verified = admin.set_account_tier(account_id, "VERIFIED")
    assert len(verified.claimed_transfers) == 1
    assert balance_cents(wallet, account_id) == 6_000


def test_a_top_up_over_the_maximum_balance_is_refused_before_the_card_is_charged(
    wallet, open_account, db
):
    account_id = open_account(balance_cents=MAX_BALANCE_CENTS - 100)
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.top_up(
            account_id, 101, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS)
        )
    assert refused.value.metadata["limit"] == "MAX_BALANCE"
    charged = db.execute(
        "SELECT count(*) FROM card_top_ups WHERE account_id = %s", (account_id,)
    ).fetchone()[0]
    assert charged == 0


def test_withdrawals_count_as_monthly_outgoing(wallet, open_account):
    account_id = open_account(balance_cents=5_000)
    wallet.withdraw(
        account_id,
        MONTHLY_OUT_CENTS,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Tier Test",
        code="123456",
        provider="sandbox",
    )
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.initiate_transfer(account_id, open_account(), 1)
    assert refused.value.metadata["limit"] == "MONTHLY_OUTGOING"
