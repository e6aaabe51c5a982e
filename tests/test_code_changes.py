"""Changing a code needs the current one; only an admin resets a forgotten or
locked code, and money out is then held for a cooling-off period (issue 13,
finding 2). Over the real gRPC server, with raw stubs where the status matters."""

import types
import uuid

import psycopg.errors
import pytest
from concurrently import run_together
from error_status import bearer, expect_failure
from event_streams import StreamReader
from server_process import wait_for

from envoi.client import errors
from envoi.core import config
from envoi.providers.sandbox import bank_transfers
from envoi.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    event_pb2,
    money_pb2,
    payout_service_pb2,
    payout_service_pb2_grpc,
    transfer_pb2,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
)

CODE, NEW_CODE, WRONG_CODE = "123456", "999999", "000000"
REASON = "ticket 4711: owner forgot the code; identity checked by video call"


@pytest.fixture(scope="module")
def rpc(grpc_channel):
    return types.SimpleNamespace(
        accounts=account_service_pb2_grpc.AccountServiceStub(grpc_channel),
        transfers=transfer_service_pb2_grpc.TransferServiceStub(grpc_channel),
        payouts=payout_service_pb2_grpc.PayoutServiceStub(grpc_channel),
    )


@pytest.fixture(scope="module")
def auth(make_token):
    return types.SimpleNamespace(
        wallet=bearer(make_token("wallet")), admin=bearer(make_token("admin"))
    )


def change_code(account_id, **fields):
    request = {"request_id": str(uuid.uuid4()), "account_id": account_id, "new_code": NEW_CODE}
    return account_service_pb2.ChangeCodeRequest(**{**request, **fields})


def reset_code(account_id, **fields):
    request = {
        "request_id": str(uuid.uuid4()),
        "account_id": account_id,
        "new_code": NEW_CODE,
        "reason": REASON,
    }
    return account_service_pb2.ResetCodeRequest(**{**request, **fields})


def withdraw(client, account_id, code, amount_cents=1_000):
    return client.withdraw(
        account_id,
        amount_cents,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice Martin",
        code=code,
        provider="sandbox",
    )


def withdraw_request(account_id, code, amount_cents=1_000):
    return payout_service_pb2.WithdrawRequest(
        request_id=str(uuid.uuid4()),
        account_id=account_id,
        amount=money_pb2.Money(currency_code="EUR", amount_cents=amount_cents),
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice Martin",
        code=code,
        provider="sandbox",
    )


def confirm_request(transfer_id, code):
    return transfer_service_pb2.ConfirmTransferRequest(
        request_id=str(uuid.uuid4()), transfer_id=transfer_id, code=code
    )


def lock_code(wallet, account_id):
    """Three wrong codes on a payment the account makes: its code is locked."""
    transfer = wallet.initiate_transfer(
        account_id, wallet.open_account("PERSON", "B", CODE).account_id, 100
    )
    for _ in range(3):
        with pytest.raises(errors.InvalidCode):
            wallet.confirm_transfer(transfer.transfer_id, WRONG_CODE)
    assert wallet.get_account(account_id).code_locked
    return transfer


def balance_cents(client, account_id) -> int:
    return client.get_balance(account_id).balance.amount_cents


# The finding: a token alone set the code that Withdraw then asked for.


def test_a_merchant_key_cannot_change_its_code_nor_withdraw_with_a_guessed_one(
    rpc, merchant, make_token, db
):
    account_id, shop = merchant
    token = bearer(make_token("merchant", merchant_account_id=account_id))
    expect_failure(db, rpc.accounts.ChangeCode, change_code(account_id), token, "PERMISSION_DENIED")
    with pytest.raises(errors.InvalidCode):
        withdraw(shop, account_id, NEW_CODE)
    assert balance_cents(shop, account_id) == 10_000
    assert (
        db.execute("SELECT count(*) FROM payouts WHERE account_id = %s", (account_id,)).fetchone()[
            0
        ]
        == 0
    )


def test_a_merchant_key_cannot_reset_a_code(rpc, merchant, make_token, db):
    account_id, _ = merchant
    token = bearer(make_token("merchant", merchant_account_id=account_id))
    expect_failure(db, rpc.accounts.ResetCode, reset_code(account_id), token, "PERMISSION_DENIED")


def test_the_wallet_cannot_change_a_code_without_the_current_one(rpc, auth, open_account, db):
    alice = open_account()
    expect_failure(
        db,
        rpc.accounts.ChangeCode,
        change_code(alice),
        auth.wallet,
        "INVALID_ARGUMENT",
        fields=["current_code"],
    )


def test_wrong_current_codes_count_toward_the_lock_and_it_holds(
    rpc, auth, wallet, open_account, db
):
    alice = open_account(balance_cents=5_000)
    bob = open_account()
    transfer = wallet.initiate_transfer(alice, bob, 100)
    # A wrong confirmation and wrong current codes count together.
    with pytest.raises(errors.InvalidCode):
        wallet.confirm_transfer(transfer.transfer_id, WRONG_CODE)
    request = change_code(alice, current_code=WRONG_CODE)
    with pytest.raises(errors.InvalidCode) as first:
        wallet.call(wallet.accounts.ChangeCode, request)
    assert first.value.metadata == {"attempts_left": "1"}
    # The same request again is the same answer, not another attempt.
    with pytest.raises(errors.InvalidCode) as again:
        wallet.call(wallet.accounts.ChangeCode, request)
    assert again.value.metadata == {"attempts_left": "1"}
    with pytest.raises(errors.InvalidCode) as last:
        wallet.change_code(alice, WRONG_CODE, NEW_CODE)
    assert last.value.metadata == {"attempts_left": "0"}
    # Locked: the right current code changes nothing, nor does a confirmation.
    locked = expect_failure(
        db,
        rpc.accounts.ChangeCode,
        change_code(alice, current_code=CODE),
        auth.wallet,
        "CODE_LOCKED",
    )
    assert "ResetCode" in str(locked)
    expect_failure(
        db,
        rpc.transfers.ConfirmTransfer,
        confirm_request(transfer.transfer_id, CODE),
        auth.wallet,
        "CODE_LOCKED",
    )
    assert wallet.get_account(alice).code_locked
    assert balance_cents(wallet, bob) == 0


def test_change_code_does_not_lift_a_lock(rpc, auth, wallet, open_account, db):
    alice = open_account(balance_cents=5_000)
    transfer = lock_code(wallet, alice)
    expect_failure(
        db,
        rpc.accounts.ChangeCode,
        change_code(alice, current_code=CODE),
        auth.wallet,
        "CODE_LOCKED",
    )
    with pytest.raises(errors.CodeLocked):
        wallet.confirm_transfer(transfer.transfer_id, CODE)
    with pytest.raises(errors.CodeLocked):
        wallet.confirm_transfer(transfer.transfer_id, NEW_CODE)


def test_the_right_current_code_sets_the_new_one(wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 100)
    with pytest.raises(errors.InvalidCode):
        wallet.confirm_transfer(transfer.transfer_id, WRONG_CODE)
    account = wallet.change_code(alice, CODE, NEW_CODE)
    assert not account.code_locked and not account.HasField("code_reset_hold_end_time")
    with pytest.raises(errors.InvalidCode) as old:
        wallet.confirm_transfer(transfer.transfer_id, CODE)
    assert old.value.metadata == {"attempts_left": "2"}  # a right code cleared the count
    assert wallet.confirm_transfer(transfer.transfer_id, NEW_CODE).state == (
        transfer_pb2.TRANSFER_STATE_COMPLETED
    )


def test_the_wallet_cannot_change_a_merchants_code(wallet, merchant):
    account_id, _ = merchant
    with pytest.raises(errors.PermissionDenied):
        wallet.change_code(account_id, "424242", NEW_CODE)


def test_concurrent_wrong_current_codes_count_each_once_up_to_the_lock(wallet, open_account, db):
    alice = open_account()
    results = run_together(
        [lambda: wallet.change_code(alice, WRONG_CODE, NEW_CODE) for _ in range(6)]
    )
    assert sorted(type(r).__name__ for r in results) == ["CodeLocked"] * 3 + ["InvalidCode"] * 3
    attempts = db.execute(
        "SELECT failed_code_attempts FROM accounts WHERE account_id = %s", (alice,)
    ).fetchone()[0]
    assert attempts == 3


# ResetCode: an admin's, with a hold on money out.


def test_reset_code_is_for_admins_only(rpc, auth, open_account, db):
    alice = open_account()
    expect_failure(db, rpc.accounts.ResetCode, reset_code(alice), auth.wallet, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "line\nbreak"}, "reason"),
        ({"new_code": "12345"}, "new_code"),
        ({"account_id": "alice"}, "account_id"),
        ({"request_id": ""}, "request_id"),
    ],
)
def test_reset_code_checks_its_request(fields, field, rpc, auth, open_account, db):
    alice = open_account()
    expect_failure(
        db,
        rpc.accounts.ResetCode,
        reset_code(**{"account_id": alice, **fields}),
        auth.admin,
        "INVALID_ARGUMENT",
        fields=[field],
    )


def test_reset_code_of_no_account(rpc, auth, db):
    nobody = str(uuid.uuid4())
    expect_failure(
        db,
        rpc.accounts.ResetCode,
        reset_code(nobody),
        auth.admin,
        "ACCOUNT_NOT_FOUND",
        metadata={"account_id": nobody},
    )


def test_a_reset_unlocks_records_and_holds_money_out_until_its_end(
    rpc, auth, admin, wallet, open_account, db
):
    alice, bob = open_account(balance_cents=5_000), open_account(balance_cents=5_000)
    transfer = lock_code(wallet, alice)
    reset = admin.reset_code(alice, NEW_CODE, REASON)
    assert not reset.account.code_locked
    hold_end = reset.account.code_reset_hold_end_time.ToDatetime()
    assert reset.code_reset.hold_end_time.ToDatetime() == hold_end
    assert reset.code_reset.account_id == alice
    row = db.execute(
        "SELECT reset_by_principal, reason, hold_end_time - reset_time FROM code_resets"
        " WHERE account_id = %s",
        (alice,),
    ).fetchone()
    assert row[:2] == ("admin", REASON) and row[2].total_seconds() == 86_400
    assert (
        wallet.get_account(alice).code_reset_hold_end_time == reset.account.code_reset_hold_end_time
    )

    # During the hold: no money out with the new code, nor with a wrong one,
    # and nothing is counted.
    metadata = {"account_id": alice, "hold_end_time": hold_end.isoformat() + "+00:00"}
    for code in (NEW_CODE, WRONG_CODE):
        expect_failure(
            db,
            rpc.transfers.ConfirmTransfer,
            confirm_request(transfer.transfer_id, code),
            auth.wallet,
            "CODE_RESET_HOLD",
            metadata=metadata,
        )
        expect_failure(
            db,
            rpc.payouts.Withdraw,
            withdraw_request(alice, code),
            auth.wallet,
            "CODE_RESET_HOLD",
            metadata=metadata,
        )
    # Money in still arrives.
    incoming = wallet.initiate_transfer(bob, alice, 500)
    wallet.confirm_transfer(incoming.transfer_id, CODE)
    assert balance_cents(wallet, alice) == 5_500

    # After the hold: the new code moves money.
    db.execute(
        "UPDATE accounts SET code_hold_end_time = now() - interval '1 second'"
        " WHERE account_id = %s",
        (alice,),
    )
    assert not wallet.get_account(alice).HasField("code_reset_hold_end_time")
    assert wallet.confirm_transfer(transfer.transfer_id, NEW_CODE).state == (
        transfer_pb2.TRANSFER_STATE_COMPLETED
    )
    withdraw(wallet, alice, NEW_CODE)
    assert wallet.get_balance(alice).available.amount_cents == 5_500 - 100 - 1_000


def test_the_database_refuses_money_out_during_a_hold(admin, wallet, open_account, db):
    """The last word, whatever the service does: triggers of migration 0014."""
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 100)
    admin.reset_code(alice, NEW_CODE, REASON)
    with pytest.raises(psycopg.errors.CheckViolation, match="code reset hold"):
        db.execute(
            "UPDATE transfers SET state = 'COMPLETED', resolve_time = now() WHERE transfer_id = %s",
            (transfer.transfer_id,),
        )
    with pytest.raises(psycopg.errors.CheckViolation, match="code reset hold"):
        db.execute(
            "INSERT INTO payouts (payout_id, account_id, currency_code, amount_cents, provider,"
            " iban, beneficiary_name, state, initiated_by)"
            " VALUES (gen_random_uuid(), %s, 'EUR', 100, 'sandbox', %s, 'A', 'PENDING', 'x')",
            (alice, bank_transfers.SETTLES),
        )
    # A pending payment of the account may still be cancelled.
    wallet.cancel_transfer(transfer.transfer_id)


def test_the_code_reset_event_reaches_the_accounts_stream(grpc_server, admin, wallet, open_account):
    alice = open_account()
    before = grpc_server.stream_count(alice)
    cursor = ""  # the end of the event feed so far: other tests' events come first
    while (page := admin.list_events(cursor, page_size=1000)).next_cursor != cursor:
        cursor = page.next_cursor
    with StreamReader(wallet.watch_events(alice)) as stream:
        wait_for(lambda: grpc_server.stream_count(alice) > before, "the stream to open", 10)
        reset = admin.reset_code(alice, NEW_CODE, REASON)
        (event,) = stream.take(1)
    assert event.type == event_pb2.EVENT_TYPE_CODE_RESET
    assert event.code_reset == reset.code_reset
    assert REASON not in str(event)  # the reason stays in the audit trail
    listed = admin.list_events(cursor, page_size=1000).events
    assert [e.code_reset for e in listed if e.type == event_pb2.EVENT_TYPE_CODE_RESET][-1] == (
        reset.code_reset
    )


def test_the_hold_is_configured_and_bounded():
    assert config.from_environment({}).code_reset_hold_s == 86_400
    assert config.from_environment({"ENVOI_CODE_RESET_HOLD_S": "7200"}).code_reset_hold_s == 7_200
    with pytest.raises(config.ConfigError, match="code_reset_hold_s must be at least 3600"):
        config.from_environment({"ENVOI_CODE_RESET_HOLD_S": "60"})


def test_no_confirmation_racing_a_reset_pays_with_the_new_code(admin, wallet, open_account):
    """The new code and the hold commit together, under the account's row lock:
    no confirmation sees one without the other."""
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfers = [wallet.initiate_transfer(alice, bob, 100) for _ in range(8)]
    calls = [lambda t=t: wallet.confirm_transfer(t.transfer_id, NEW_CODE) for t in transfers]
    results = run_together([lambda: admin.reset_code(alice, NEW_CODE, REASON), *calls])
    assert results[0].account.HasField("code_reset_hold_end_time")
    refusals = {errors.InvalidCode, errors.CodeLocked, errors.CodeResetHold}
    assert all(type(result) in refusals for result in results[1:]), results[1:]
    assert balance_cents(wallet, alice) == 5_000 and balance_cents(wallet, bob) == 0
