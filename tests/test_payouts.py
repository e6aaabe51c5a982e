"""Money out to an IBAN, through the sandbox provider over a real gRPC server.

A payout holds its amount until the provider's signed callback settles it
(the money leaves to the payout system account) or fails it (the hold is
released); held money cannot be spent or withdrawn twice, even by
concurrent requests; IBANs are checked before anything is held.
"""

import collections

import psycopg.errors
import pytest
from concurrently import run_together
from error_status import ledger_state

from envoi.client import errors
from envoi.core.ledger import payout_submission
from envoi.core.testing import TEST_PROVIDER_ENV
from envoi.providers.provider import ProviderUnavailable
from envoi.providers.sandbox import bank_transfers, callbacks, cards
from envoi.v1 import event_pb2, payout_pb2, transfer_pb2

SECRET = TEST_PROVIDER_ENV["ENVOI_SANDBOX_WEBHOOK_SECRET"].encode()
CODE = "123456"


@pytest.fixture(scope="module")
def sandbox(payment_providers):
    """The sandbox payout provider the server uses: it sends the settlement callbacks."""
    return payment_providers["payout_providers"]["sandbox"]


def withdraw(client, account_id, amount_cents, iban=bank_transfers.SETTLES, **options):
    request = dict(beneficiary_name="Alice Martin", code=CODE, provider="sandbox")
    return client.withdraw(account_id, amount_cents, iban=iban, **{**request, **options})


def settle(wallet, sandbox, payout, **options):
    """The provider's callback for the payout, as the sandbox decides it, relayed."""
    reference = wallet.get_payout(payout.payout_id).provider_reference
    assert reference, "the payout was not handed to the provider"
    return wallet.complete_payout("sandbox", *sandbox.settlement_callback(reference), **options)


def money_of(wallet, account_id) -> tuple[int, int, int]:
    balance = wallet.get_balance(account_id)
    return (balance.balance.amount_cents, balance.held.amount_cents, balance.available.amount_cents)


def paid_out_cents(db) -> int:
    return db.execute(
        "SELECT balance_cents FROM accounts WHERE system_purpose = 'PAYOUT'"
        " AND currency_code = 'EUR'"
    ).fetchone()[0]


def events_of(admin, payout_id) -> list[str]:
    names, cursor = [], ""
    while True:
        page = admin.list_events(cursor, page_size=1000)
        names += [
            event_pb2.EventType.Name(e.type)
            for e in page.events
            if e.HasField("payout") and e.payout.payout_id == payout_id
        ]
        if not page.events:
            return names
        cursor = page.next_cursor


def test_a_settled_payout_moves_the_money_out_once(wallet, admin, sandbox, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    paid_out_before = paid_out_cents(db)
    payout = withdraw(wallet, alice, 1_500)
    assert payout.state == payout_pb2.PAYOUT_STATE_PENDING
    assert payout.iban_masked == "DE89 •••• 3000"
    assert money_of(wallet, alice) == (5_000, 1_500, 3_500)  # held, not gone yet

    settled = settle(wallet, sandbox, payout, request_id="settle-once")
    assert settled.state == payout_pb2.PAYOUT_STATE_SETTLED and settled.transfer_id
    # Free for people: exactly the amount leaves, and it leaves once.
    assert money_of(wallet, alice) == (3_500, 0, 3_500)
    assert settle(wallet, sandbox, payout, request_id="settle-once") == settled
    assert settle(wallet, sandbox, payout) == settled
    assert money_of(wallet, alice) == (3_500, 0, 3_500)
    assert paid_out_cents(db) == paid_out_before + 1_500
    out = wallet.get_transfer(settled.transfer_id)
    assert (out.kind, out.state, out.from_account_id, out.amount.amount_cents) == (
        transfer_pb2.TRANSFER_KIND_PAYOUT,
        transfer_pb2.TRANSFER_STATE_COMPLETED,
        alice,
        1_500,
    )
    assert [t.kind for t in wallet.iter_transfers(alice)][0] == transfer_pb2.TRANSFER_KIND_PAYOUT
    assert events_of(admin, payout.payout_id) == [
        "EVENT_TYPE_PAYOUT_REQUESTED",
        "EVENT_TYPE_PAYOUT_SETTLED",
    ]


def test_a_failed_payout_returns_the_money(wallet, admin, sandbox, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    paid_out_before = paid_out_cents(db)
    payout = withdraw(wallet, alice, 2_000, iban=bank_transfers.FAILS)
    assert money_of(wallet, alice) == (5_000, 2_000, 3_000)
    failed = settle(wallet, sandbox, payout)
    assert failed.state == payout_pb2.PAYOUT_STATE_FAILED
    assert (failed.failure_reason, failed.transfer_id) == ("account_closed", "")
    assert money_of(wallet, alice) == (5_000, 0, 5_000)
    assert paid_out_cents(db) == paid_out_before
    # A late, contradicting callback (signed, so genuine) changes nothing.
    before = ledger_state(db)
    with pytest.raises(errors.PayoutNotPending) as refused:
        wallet.complete_payout(
            "sandbox", *callbacks.signed(SECRET, "payout.settled", failed.provider_reference)
        )
    assert refused.value.metadata == {"payout_id": payout.payout_id, "state": "FAILED"}
    assert ledger_state(db) == before
    assert events_of(admin, payout.payout_id) == [
        "EVENT_TYPE_PAYOUT_REQUESTED",
        "EVENT_TYPE_PAYOUT_FAILED",
    ]


def test_held_money_cannot_be_spent_or_withdrawn_twice(wallet, sandbox, open_account):
    alice, bob = open_account(balance_cents=5_000, code=CODE), open_account()
    withdraw(wallet, alice, 4_000)
    with pytest.raises(errors.InsufficientFunds):
        wallet.initiate_transfer(alice, bob, 1_001)
    with pytest.raises(errors.InsufficientFunds):
        withdraw(wallet, alice, 1_001)
    # And money held by a payment cannot be withdrawn.
    wallet.initiate_transfer(alice, bob, 1_000)
    with pytest.raises(errors.InsufficientFunds):
        withdraw(wallet, alice, 1)
    assert money_of(wallet, alice) == (5_000, 5_000, 0)


def test_concurrent_withdrawals_never_overdraw(wallet, sandbox, open_account, db):
    alice = open_account(balance_cents=1_000, code=CODE)
    results = run_together([lambda: withdraw(wallet, alice, 150)] * 20)
    outcomes = collections.Counter(
        r.reason if isinstance(r, errors.EnvoiError) else payout_pb2.PayoutState.Name(r.state)
        for r in results
    )
    assert outcomes == {"PAYOUT_STATE_PENDING": 6, "INSUFFICIENT_FUNDS": 14}
    assert money_of(wallet, alice) == (1_000, 900, 100)
    # Settled together too: each leaves once, and the balance never goes below zero.
    payouts = [r for r in results if not isinstance(r, errors.EnvoiError)]
    settled = run_together([lambda p=p: settle(wallet, sandbox, p) for p in payouts] * 2)
    assert all(s.state == payout_pb2.PAYOUT_STATE_SETTLED for s in settled)
    assert money_of(wallet, alice) == (100, 0, 100)


def test_a_wrong_code_holds_nothing_and_counts_an_attempt(wallet, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    with pytest.raises(errors.InvalidCode) as refused:
        withdraw(wallet, alice, 1_000, code="000000")
    assert refused.value.metadata == {"attempts_left": "2"}
    assert money_of(wallet, alice) == (5_000, 0, 5_000)
    assert db.execute(
        "SELECT count(*) FROM payouts WHERE account_id = %s", (alice,)
    ).fetchone() == (0,)


@pytest.mark.parametrize(
    "iban, problem",
    [
        ("DE89370400440532013001", "check digits"),
        ("DE89 3704 0044 0532 0130 01", "check digits"),
        ("QQ89370400440532013000", "country"),
        ("DE8937040044053201300", "length"),
        ("DE89-3704-0044-0532-0130-00", "format"),
        ("not an iban", "format"),
        ("", "required"),
    ],
)
def test_an_invalid_iban_is_refused_with_a_field_violation(iban, problem, wallet, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    before = ledger_state(db)
    with pytest.raises(errors.InvalidArgument) as refused:
        withdraw(wallet, alice, 1_000, iban=iban)
    assert type(refused.value) is errors.InvalidArgument
    assert list(refused.value.field_violations) == ["iban"]
    assert problem in refused.value.field_violations["iban"]
    assert ledger_state(db) == before


def test_an_iban_written_with_spaces_is_kept_in_electronic_form(wallet, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    payout = withdraw(wallet, alice, 100, iban="fr14 2004 1010 0505 0001 3m02 606")
    assert payout.iban_masked == "FR14 •••• 2606"
    stored = db.execute(
        "SELECT iban FROM payouts WHERE payout_id = %s", (payout.payout_id,)
    ).fetchone()[0]
    assert stored == "FR1420041010050500013M02606"


def test_a_payout_the_provider_could_not_take_is_submitted_later(
    wallet, sandbox, runtime, open_account, monkeypatch
):
    alice = open_account(balance_cents=5_000, code=CODE)

    def unavailable(**_):
        raise ProviderUnavailable("the bank is down")

    with monkeypatch.context() as patched:
        patched.setattr(sandbox, "submit", unavailable)
        payout = withdraw(wallet, alice, 700)
    # Held, but not with the provider yet: nothing could settle it.
    assert wallet.get_payout(payout.payout_id).provider_reference == ""
    assert money_of(wallet, alice) == (5_000, 700, 4_300)
    assert payout_submission.submit_due(runtime, older_than_s=0) >= 1
    assert payout_submission.submit_due(runtime, older_than_s=0) == 0  # each once
    assert settle(wallet, sandbox, payout).state == payout_pb2.PAYOUT_STATE_SETTLED
    assert money_of(wallet, alice) == (4_300, 0, 4_300)


def test_a_forged_payout_callback_changes_nothing(wallet, sandbox, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    payout = withdraw(wallet, alice, 1_000)
    reference = wallet.get_payout(payout.payout_id).provider_reference
    wrong_secret = b"someone else's secret, long enough for hmac.."
    before = ledger_state(db)
    with pytest.raises(errors.InvalidSignature):
        wallet.complete_payout(
            "sandbox", *callbacks.signed(wrong_secret, "payout.settled", reference)
        )
    assert ledger_state(db) == before
    assert wallet.get_payout(payout.payout_id).state == payout_pb2.PAYOUT_STATE_PENDING


def test_a_merchant_withdraws_its_own_money_with_its_code(
    merchant, wallet, sandbox, open_account, make_token, client_for
):
    merchant_id, merchant_client = merchant
    other_id = open_account("MERCHANT", code="424242", balance_cents=1_000)
    with pytest.raises(errors.PermissionDenied):
        withdraw(merchant_client, other_id, 100, code="424242")
    with pytest.raises(errors.PermissionDenied):  # the wallet never moves a merchant's money
        withdraw(wallet, merchant_id, 100, code="424242")
    payout = withdraw(merchant_client, merchant_id, 100, code="424242")
    assert merchant_client.get_payout(payout.payout_id).state == payout_pb2.PAYOUT_STATE_PENDING
    with pytest.raises(errors.PermissionDenied):
        wallet.get_payout(payout.payout_id)


# The rules in SQL (migration 0005), whatever code writes to the tables.


def test_money_leaves_only_through_a_settled_payout(open_account, db):
    alice = open_account(balance_cents=1_000)
    with pytest.raises(psycopg.errors.CheckViolation, match="no settled payout"):
        with db.transaction():
            db.execute(
                "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
                " currency_code, amount_cents, initiated_by, resolve_time)"
                " SELECT gen_random_uuid(), 'PAYOUT', 'COMPLETED', %s, account_id, 'EUR', 500,"
                " 'test', now() FROM accounts WHERE system_purpose = 'PAYOUT'"
                " AND currency_code = 'EUR'",
                (alice,),
            )


def test_a_payout_cannot_hold_more_than_is_available(open_account, db):
    alice = open_account(balance_cents=1_000)
    with pytest.raises(psycopg.errors.CheckViolation, match="balance_above_floor"):
        db.execute(
            "INSERT INTO payouts (payout_id, account_id, currency_code, amount_cents, provider,"
            " iban, beneficiary_name, state, initiated_by) VALUES (gen_random_uuid(), %s,"
            " 'EUR', 1001, 'sandbox', 'DE89370400440532013000', 'A', 'PENDING', 'test')",
            (alice,),
        )


def test_a_payout_is_submitted_once_and_resolves_once(wallet, sandbox, open_account, db):
    alice = open_account(balance_cents=5_000, code=CODE)
    pending = withdraw(wallet, alice, 100)
    settled = settle(wallet, sandbox, withdraw(wallet, alice, 100))
    for sql, payout_id in (
        ("UPDATE payouts SET provider_reference = 'other' WHERE payout_id = %s", pending.payout_id),
        ("UPDATE payouts SET amount_cents = 1 WHERE payout_id = %s", pending.payout_id),
        (
            "UPDATE payouts SET iban = 'GB33BUKB20201555555555' WHERE payout_id = %s",
            pending.payout_id,
        ),
        (
            "UPDATE payouts SET state = 'FAILED', failure_reason = 'x' WHERE payout_id = %s",
            settled.payout_id,
        ),
        ("DELETE FROM payouts WHERE payout_id = %s", pending.payout_id),
    ):
        with pytest.raises(psycopg.errors.RestrictViolation):
            db.execute(sql, (payout_id,))


def test_channels_never_see_the_events_of_top_ups_or_payouts(
    twitter_channel, wallet, admin, sandbox, open_account
):
    alice = open_account(balance_cents=5_000, code=CODE)
    payout = withdraw(wallet, alice, 100)
    settle(wallet, sandbox, payout)
    wallet.top_up(alice, 100, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS))
    seen = [e for e in twitter_channel.list_events(page_size=1000).events]
    assert not [e for e in seen if e.HasField("top_up") or e.HasField("payout")]
    assert events_of(admin, payout.payout_id)  # the operator does
