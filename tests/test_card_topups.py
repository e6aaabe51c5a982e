"""Money in by card, through the sandbox provider over a real gRPC server.

The account is credited from the funding system account only once the
provider says the card was charged, exactly once, by exactly the amount (no
fee for people); a 3-D Secure top-up waits for the provider's signed callback;
a forged callback changes nothing; no card number ever reaches the database.
"""

import collections

import psycopg.errors
import pytest
from concurrently import run_together
from error_status import ledger_state

from envoi.client import errors
from envoi.core.ledger import top_up_refunds
from envoi.core.testing import TEST_PROVIDER_ENV
from envoi.providers.provider import ProviderUnavailable
from envoi.providers.sandbox import callbacks, cards
from envoi.v1 import event_pb2, top_up_pb2, transfer_pb2

SECRET = TEST_PROVIDER_ENV["ENVOI_SANDBOX_WEBHOOK_SECRET"].encode()


@pytest.fixture(scope="module")
def sandbox(payment_providers):
    """The sandbox card provider the server uses: it sends the 3-D Secure callbacks."""
    return payment_providers["funding_providers"]["sandbox"]


def top_up(wallet, account_id, card, amount_cents=2_000, **options):
    return wallet.top_up(
        account_id,
        amount_cents,
        provider="sandbox",
        card_token=cards.tokenize_card(card),
        **options,
    )


def money_of(wallet, account_id) -> tuple[int, int, int]:
    balance = wallet.get_balance(account_id)
    return (balance.balance.amount_cents, balance.held.amount_cents, balance.available.amount_cents)


def credits_to(db, account_id) -> list[tuple]:
    """(amount, from system purpose) of every FUNDING transfer to the account."""
    return db.execute(
        "SELECT t.amount_cents, f.system_purpose FROM transfers t"
        " JOIN accounts f ON f.account_id = t.from_account_id"
        " WHERE t.to_account_id = %s AND t.kind = 'FUNDING' ORDER BY t.seq",
        (account_id,),
    ).fetchall()


def everything_about_top_ups(db) -> dict:
    """What a refused callback must leave as it was."""
    return {
        **ledger_state(db),
        "top_ups": db.execute(
            "SELECT top_up_id, state, failure_reason, transfer_id FROM card_top_ups ORDER BY seq"
        ).fetchall(),
    }


def events_of(admin, top_up_id) -> list[str]:
    names = []
    cursor = ""
    while True:
        page = admin.list_events(cursor, page_size=1000)
        names += [
            event_pb2.EventType.Name(e.type)
            for e in page.events
            if e.HasField("top_up") and e.top_up.top_up_id == top_up_id
        ]
        if not page.events:
            return names
        cursor = page.next_cursor


def test_a_card_that_succeeds_credits_the_amount_once_with_no_fee(wallet, admin, open_account, db):
    alice = open_account()
    token = cards.tokenize_card(cards.SUCCEEDS)

    def charge(**changes):
        request = dict(provider="sandbox", card_token=token, request_id="card-topup-success")
        return wallet.top_up(alice, 2_000, **{**request, **changes})

    done = charge()
    assert done.state == top_up_pb2.TOP_UP_STATE_SUCCEEDED
    assert (done.card_last4, done.provider, done.amount.amount_cents) == ("4242", "sandbox", 2_000)
    # Free for people: the account gets every cent the card was charged.
    assert money_of(wallet, alice) == (2_000, 0, 2_000)
    assert credits_to(db, alice) == [(2_000, "FUNDING")]
    credit = wallet.get_transfer(done.transfer_id)
    assert (credit.kind, credit.state, credit.to_account_id) == (
        transfer_pb2.TRANSFER_KIND_FUNDING,
        transfer_pb2.TRANSFER_STATE_COMPLETED,
        alice,
    )
    assert "4242" in credit.memo
    # A retry of the request gets the first answer and charges nothing more.
    assert charge() == done
    # The same request_id with another card is refused before any card is charged.
    with pytest.raises(errors.IdempotencyKeyReused):
        charge(card_token=cards.tokenize_card(cards.SUCCEEDS))
    assert credits_to(db, alice) == [(2_000, "FUNDING")]
    assert wallet.get_top_up(done.top_up_id) == done
    assert events_of(admin, done.top_up_id) == ["EVENT_TYPE_TOP_UP_SUCCEEDED"]


def test_a_declined_card_credits_nothing(wallet, admin, open_account, db):
    alice = open_account()
    declined = top_up(wallet, alice, cards.DECLINED)
    assert declined.state == top_up_pb2.TOP_UP_STATE_FAILED
    assert (declined.failure_reason, declined.card_last4, declined.transfer_id) == (
        "card_declined",
        "0002",
        "",
    )
    assert money_of(wallet, alice) == (0, 0, 0)
    assert credits_to(db, alice) == []
    assert events_of(admin, declined.top_up_id) == ["EVENT_TYPE_TOP_UP_FAILED"]


def test_3ds_completes_by_a_signed_callback_credited_once_however_often_delivered(
    wallet, admin, sandbox, open_account, db
):
    alice = open_account()
    pending = top_up(wallet, alice, cards.THREE_D_SECURE)
    assert pending.state == top_up_pb2.TOP_UP_STATE_PENDING
    assert pending.next_action_url.startswith("https://")
    assert money_of(wallet, alice) == (0, 0, 0)  # nothing until the provider says yes
    assert events_of(admin, pending.top_up_id) == []

    callback = sandbox.three_d_secure_callback(pending.provider_reference, authenticated=True)
    done = wallet.complete_top_up("sandbox", *callback, request_id="3ds-callback")
    assert done.state == top_up_pb2.TOP_UP_STATE_SUCCEEDED and done.transfer_id
    assert done.next_action_url == ""
    # Delivered again: by the same relay (same request_id), by another, and by many at once.
    assert wallet.complete_top_up("sandbox", *callback, request_id="3ds-callback") == done
    assert wallet.complete_top_up("sandbox", *callback) == done
    results = run_together([lambda: wallet.complete_top_up("sandbox", *callback)] * 10)
    assert all(result == done for result in results), results
    assert money_of(wallet, alice) == (2_000, 0, 2_000)
    assert credits_to(db, alice) == [(2_000, "FUNDING")]
    assert events_of(admin, pending.top_up_id) == ["EVENT_TYPE_TOP_UP_SUCCEEDED"]


def test_concurrent_callbacks_that_disagree_resolve_once(wallet, sandbox, open_account, db):
    alice = open_account()
    pending = top_up(wallet, alice, cards.THREE_D_SECURE)
    reference = pending.provider_reference
    results = run_together(
        [
            lambda: wallet.complete_top_up(
                "sandbox", *sandbox.three_d_secure_callback(reference, authenticated=True)
            ),
            lambda: wallet.complete_top_up(
                "sandbox", *sandbox.three_d_secure_callback(reference, authenticated=False)
            ),
        ]
        * 5
    )
    outcomes = collections.Counter(
        r.reason if isinstance(r, errors.EnvoiError) else top_up_pb2.TopUpState.Name(r.state)
        for r in results
    )
    # Whichever came first wins; the five that agree with it are deliveries of the same news.
    [(winner, five)] = [(k, v) for k, v in outcomes.items() if k != "TOP_UP_NOT_PENDING"]
    assert five == 5 and outcomes["TOP_UP_NOT_PENDING"] == 5
    credited = 2_000 if winner == "TOP_UP_STATE_SUCCEEDED" else 0
    assert money_of(wallet, alice) == (credited, 0, credited)


def test_3ds_failure_credits_nothing_and_cannot_be_turned_into_a_success(
    wallet, admin, sandbox, open_account, db
):
    alice = open_account()
    pending = top_up(wallet, alice, cards.THREE_D_SECURE)
    failed = wallet.complete_top_up(
        "sandbox",
        *sandbox.three_d_secure_callback(pending.provider_reference, authenticated=False),
    )
    assert failed.state == top_up_pb2.TOP_UP_STATE_FAILED
    assert failed.failure_reason == "authentication_failed"
    before = everything_about_top_ups(db)
    with pytest.raises(errors.TopUpNotPending) as refused:
        wallet.complete_top_up(
            "sandbox",
            *sandbox.three_d_secure_callback(pending.provider_reference, authenticated=True),
        )
    assert refused.value.metadata == {"top_up_id": pending.top_up_id, "state": "FAILED"}
    assert everything_about_top_ups(db) == before
    assert money_of(wallet, alice) == (0, 0, 0)
    assert events_of(admin, pending.top_up_id) == ["EVENT_TYPE_TOP_UP_FAILED"]


def forgeries(reference: str) -> dict:
    body, signature = callbacks.signed(SECRET, "charge.succeeded", reference)
    other_body, _ = callbacks.signed(SECRET, "charge.succeeded", reference + "x")
    wrong_secret = b"not the sandbox secret, but long enough: 42 b"
    return {
        "signed with another secret": callbacks.signed(wrong_secret, "charge.succeeded", reference),
        "body changed after signing": (body.replace(b'"charge', b' "charge'), signature),
        "signature of another body": (body, callbacks.signed(SECRET, "x", reference)[1]),
        "signature cut short": (body, signature[:-2]),
        "signature not hex": (body, "z" * 64),
        "no signature at all": (body, "-"),
        "a valid signature on a body naming another charge": (other_body, signature),
    }


@pytest.mark.parametrize("forgery", sorted(forgeries("r")))
def test_a_forged_callback_is_refused_and_changes_nothing(
    forgery, wallet, sandbox, open_account, db
):
    alice = open_account()
    pending = top_up(wallet, alice, cards.THREE_D_SECURE)
    payload, signature = forgeries(pending.provider_reference)[forgery]
    before = everything_about_top_ups(db)
    with pytest.raises(errors.InvalidSignature):
        wallet.complete_top_up("sandbox", payload, signature)
    assert everything_about_top_ups(db) == before
    assert wallet.get_top_up(pending.top_up_id).state == top_up_pb2.TOP_UP_STATE_PENDING
    # The genuine callback still works.
    genuine = sandbox.three_d_secure_callback(pending.provider_reference, authenticated=True)
    assert wallet.complete_top_up("sandbox", *genuine).state == top_up_pb2.TOP_UP_STATE_SUCCEEDED


def test_a_card_number_is_never_taken_as_a_token(wallet, open_account, db):
    alice = open_account()
    before = ledger_state(db)
    for number in (
        cards.SUCCEEDS,
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "tok_4242424242424242",
    ):
        with pytest.raises(errors.InvalidArgument) as refused:
            wallet.top_up(alice, 100, provider="sandbox", card_token=number)
        assert set(refused.value.field_violations) == {"card_token"}
        assert "4242424242" not in str(refused.value) + str(refused.value.field_violations)
    assert ledger_state(db) == before


TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def columns_holding(db, needle: str) -> list[str]:
    """Every table.column of the database with a value that contains needle."""
    found = []
    columns = db.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = ANY(%s)",
        (list(TEXT_TYPES),),
    ).fetchall()
    for table, column, data_type in columns:
        if data_type == "bytea":
            test = f'position(%s::bytea in "{column}") > 0'
            value = needle.encode()
        else:
            test = f'strpos("{column}"::text, %s) > 0'
            value = needle
        if db.execute(f'SELECT count(*) FROM "{table}" WHERE {test}', (value,)).fetchone()[0]:
            found.append(f"{table}.{column}")
    return found


def test_no_card_number_is_stored_anywhere(wallet, sandbox, open_account, db):
    alice = open_account()
    tokens = {}
    for card in (cards.SUCCEEDS, cards.DECLINED, cards.THREE_D_SECURE):
        tokens[card] = cards.tokenize_card(card)
        done = wallet.top_up(alice, 500, provider="sandbox", card_token=tokens[card])
        if card == cards.THREE_D_SECURE:
            wallet.complete_top_up(
                "sandbox",
                *sandbox.three_d_secure_callback(done.provider_reference, authenticated=True),
            )
    for card, token in tokens.items():
        grouped = " ".join(card[i : i + 4] for i in range(0, 16, 4))
        for needle in (card, grouped, card[:12], card[4:]):
            assert columns_holding(db, needle) == [], needle
        # What is kept instead, found by the same search: the search does find things.
        assert columns_holding(db, token) == ["card_top_ups.card_token"]
    last4 = db.execute(
        "SELECT card_last4 FROM card_top_ups WHERE account_id = %s ORDER BY seq", (alice,)
    ).fetchall()
    assert [row[0] for row in last4] == ["4242", "0002", "3184"]


def test_a_top_up_credits_only_the_accounts_currency(wallet, open_account):
    usd = open_account(currency_code="USD")
    with pytest.raises(errors.CurrencyMismatch):
        top_up(wallet, usd, cards.SUCCEEDS)  # EUR by default
    done = top_up(wallet, usd, cards.SUCCEEDS, currency_code="USD")
    assert done.state == top_up_pb2.TOP_UP_STATE_SUCCEEDED
    assert money_of(wallet, usd) == (2_000, 0, 2_000)


def test_the_wallet_does_not_top_up_a_merchant_account(wallet, open_account, db):
    merchant_id = open_account("MERCHANT")
    before = ledger_state(db)
    with pytest.raises(errors.PermissionDenied):
        top_up(wallet, merchant_id, cards.SUCCEEDS)
    assert ledger_state(db) == before


# The rules in SQL (migration 0005), whatever code writes to the tables.


def test_a_resolved_top_up_never_changes_and_none_is_deleted(wallet, sandbox, open_account, db):
    alice = open_account()
    done = top_up(wallet, alice, cards.SUCCEEDS)
    pending = top_up(wallet, alice, cards.THREE_D_SECURE)
    for sql, top_up_id in (
        (
            "UPDATE card_top_ups SET state = 'FAILED', failure_reason = 'x' WHERE top_up_id = %s",
            done.top_up_id,
        ),
        (
            "UPDATE card_top_ups SET state = 'PENDING', resolve_time = NULL WHERE top_up_id = %s",
            done.top_up_id,
        ),
        ("UPDATE card_top_ups SET amount_cents = 1 WHERE top_up_id = %s", pending.top_up_id),
        ("UPDATE card_top_ups SET account_id = account_id WHERE top_up_id = %s", done.top_up_id),
        ("DELETE FROM card_top_ups WHERE top_up_id = %s", pending.top_up_id),
    ):
        with pytest.raises(psycopg.errors.RestrictViolation):
            db.execute(sql, (top_up_id,))


def test_success_credits_through_the_trigger_only(wallet, open_account, db):
    """Whatever transfer_id a writer names, the trigger makes the credit itself."""
    alice = open_account()
    funding_credit = wallet.top_up(
        alice, 300, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS)
    ).transfer_id
    with db.transaction():
        row = db.execute(
            "INSERT INTO card_top_ups (top_up_id, account_id, currency_code, amount_cents,"
            " provider, provider_reference, card_token, card_last4, state, initiated_by,"
            " resolve_time, transfer_id) VALUES (gen_random_uuid(), %s, 'EUR', 700, 'sandbox',"
            " 'direct', 'tok', '4242', 'SUCCEEDED', 'test', now(), %s) RETURNING transfer_id",
            (alice, funding_credit),
        ).fetchone()
    assert str(row[0]) != funding_credit
    assert money_of(wallet, alice) == (1_000, 0, 1_000)


# The maximum balance of an UNVERIFIED account (the default, 1,500 EUR).
UNVERIFIED_MAX_CENTS = 150_000


def refunds_to_card(sandbox, top_ups) -> int:
    """What the sandbox refunded to the cards of these top-ups, in cents."""
    references = {t.provider_reference for t in top_ups}
    return sum(
        amount_cents
        for charge_reference, amount_cents, _ in sandbox.refunds.values()
        if charge_reference in references
    )


def test_a_3ds_top_up_completed_over_the_maximum_fails_and_is_refunded(
    wallet, admin, sandbox, open_account, db
):
    """Issue 13, finding 4: the maximum was not checked again at completion."""
    alice = open_account()
    pending = top_up(wallet, alice, cards.THREE_D_SECURE, 100_000)
    filler = top_up(wallet, alice, cards.SUCCEEDS, 50_000)  # fits with the pending one
    admin.credit_account(alice, 20_000)  # money from elsewhere while 3-D Secure waits
    callback = sandbox.three_d_secure_callback(pending.provider_reference, authenticated=True)
    done = wallet.complete_top_up("sandbox", *callback)

    assert money_of(wallet, alice)[0] == 70_000 <= UNVERIFIED_MAX_CENTS
    assert done.state == top_up_pb2.TOP_UP_STATE_FAILED
    assert done.failure_reason == "max_balance_exceeded" and done.transfer_id == ""
    assert done.refund.amount.amount_cents == 100_000
    assert credits_to(db, alice) == [(50_000, "FUNDING"), (20_000, "FUNDING")]
    assert refunds_to_card(sandbox, [pending]) == 100_000
    assert refunds_to_card(sandbox, [filler]) == 0
    shown = wallet.get_top_up(pending.top_up_id).refund
    assert shown.provider_reference and shown.HasField("send_time")
    assert events_of(admin, pending.top_up_id) == ["EVENT_TYPE_TOP_UP_FAILED"]
    # Delivered again: the same answer, no second refund.
    assert wallet.complete_top_up("sandbox", *callback).state == top_up_pb2.TOP_UP_STATE_FAILED
    assert len([r for r in sandbox.refunds.values() if r[0] == pending.provider_reference]) == 1


def test_a_pending_3ds_top_up_counts_before_another_card_is_charged(
    wallet, sandbox, open_account, db
):
    alice = open_account()
    top_up(wallet, alice, cards.THREE_D_SECURE, 100_000)
    charged_before = dict(sandbox.charged_cents_by_reference)
    with pytest.raises(errors.LimitExceeded) as refused:
        top_up(wallet, alice, cards.SUCCEEDS, 60_000)
    assert refused.value.metadata["limit"] == "MAX_BALANCE"
    assert sandbox.charged_cents_by_reference == charged_before  # the card was not charged
    assert db.execute(
        "SELECT count(*) FROM card_top_ups WHERE account_id = %s", (alice,)
    ).fetchone() == (1,)


def test_concurrent_top_ups_never_pass_the_maximum_and_every_cent_charged_is_accounted(
    wallet, sandbox, open_account, db
):
    """Issue 13, finding 4: eight concurrent 1,000 EUR top-ups overshot."""
    alice = open_account()
    results = run_together(
        [lambda: top_up(wallet, alice, cards.SUCCEEDS, 100_000) for _ in range(8)]
    )
    balance_cents = money_of(wallet, alice)[0]
    assert balance_cents <= UNVERIFIED_MAX_CENTS
    top_ups = [r for r in results if isinstance(r, top_up_pb2.TopUp)]
    refused = [r for r in results if not isinstance(r, top_up_pb2.TopUp)]
    assert all(isinstance(r, errors.LimitExceeded) for r in refused), refused
    charged_cents = sum(
        sandbox.charged_cents_by_reference.get(t.provider_reference, 0) for t in top_ups
    )
    credited_cents = sum(amount for amount, _ in credits_to(db, alice))
    assert credited_cents == balance_cents == 100_000
    assert charged_cents == credited_cents + refunds_to_card(sandbox, top_ups)
    for t in top_ups:
        assert t.state == top_up_pb2.TOP_UP_STATE_SUCCEEDED or (
            t.failure_reason == "max_balance_exceeded" and t.refund.amount.amount_cents == 100_000
        ), t


def test_a_refund_the_provider_could_not_take_is_sent_later_once(
    wallet, admin, sandbox, runtime, open_account, monkeypatch
):
    alice = open_account(balance_cents=100_000)
    pending = top_up(wallet, alice, cards.THREE_D_SECURE, 40_000)
    admin.credit_account(alice, 20_000)  # 1,200 EUR: the pending 400 EUR no longer fits
    callback = sandbox.three_d_secure_callback(pending.provider_reference, authenticated=True)

    def unavailable(**_):
        raise ProviderUnavailable("the card network is down")

    with monkeypatch.context() as patched:
        patched.setattr(sandbox, "refund", unavailable)
        done = wallet.complete_top_up("sandbox", *callback)
    assert done.failure_reason == "max_balance_exceeded"
    unsent = wallet.get_top_up(pending.top_up_id).refund
    assert unsent.amount.amount_cents == 40_000 and not unsent.HasField("send_time")
    assert unsent.provider_reference == ""
    assert refunds_to_card(sandbox, [pending]) == 0
    assert top_up_refunds.send_due(runtime, older_than_s=0) >= 1
    assert top_up_refunds.send_due(runtime, older_than_s=0) == 0  # each once
    assert refunds_to_card(sandbox, [pending]) == 40_000
    assert wallet.get_top_up(pending.top_up_id).refund.HasField("send_time")
    assert money_of(wallet, alice)[0] == 120_000


def test_only_a_top_up_failed_for_its_maximum_is_refunded_and_whole_and_once(
    wallet, sandbox, open_account, db
):
    """The rules of migration 0016, whatever SQL a writer sends."""
    alice = open_account()
    done = top_up(wallet, alice, cards.SUCCEEDS)
    insert_refund = (
        "INSERT INTO top_up_refunds (top_up_id, currency_code, amount_cents) VALUES (%s, 'EUR', 1)"
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(insert_refund, (done.top_up_id,))  # it was credited: nothing to refund
    insert_failed = (
        "INSERT INTO card_top_ups (top_up_id, account_id, currency_code, amount_cents,"
        " provider, provider_reference, card_token, card_last4, state, failure_reason,"
        " initiated_by, resolve_time) VALUES (gen_random_uuid(), %s, 'EUR', 700, 'sandbox',"
        " %s, 'tok', '4242', 'FAILED', 'max_balance_exceeded', 'test', now())"
        " RETURNING top_up_id"
    )
    with pytest.raises(psycopg.errors.CheckViolation), db.transaction():
        db.execute(insert_failed, (alice, "no-refund"))  # failed for the maximum, not refunded
    with db.transaction():
        top_up_id = db.execute(insert_failed, (alice, "refunded")).fetchone()[0]
        db.execute(insert_refund, (top_up_id,))
    assert db.execute(
        "SELECT amount_cents FROM top_up_refunds WHERE top_up_id = %s", (top_up_id,)
    ).fetchone() == (700,)  # the whole charge, not what the writer said
    db.execute(
        "UPDATE top_up_refunds SET provider_reference = 'r1', send_time = now()"
        " WHERE top_up_id = %s",
        (top_up_id,),
    )
    for sql in (
        "UPDATE top_up_refunds SET provider_reference = 'r2' WHERE top_up_id = %s",
        "UPDATE top_up_refunds SET amount_cents = 1 WHERE top_up_id = %s",
        "DELETE FROM top_up_refunds WHERE top_up_id = %s",
    ):
        with pytest.raises(psycopg.errors.RestrictViolation):
            db.execute(sql, (top_up_id,))
