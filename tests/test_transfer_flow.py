"""A payment from start to end, as the wallet app and an admin drive it."""

import hashlib
import uuid

import pytest

from envoi.v1 import account_pb2, account_service_pb2, transfer_pb2, transfer_service_pb2


def test_open_credit_send_confirm_and_read_history(admin, wallet, db):
    alice = wallet.open_account("PERSON", "Alice", "123456")
    bob = wallet.open_account("PERSON", "Bob", "654321")
    assert alice.kind == account_pb2.ACCOUNT_KIND_PERSON and alice.currency_code == "EUR"
    assert not alice.code_locked

    credit = admin.credit_account(alice.account_id, 5_000, memo="top-up")
    assert credit.transfer.state == transfer_pb2.TRANSFER_STATE_COMPLETED
    assert credit.transfer.kind == transfer_pb2.TRANSFER_KIND_FUNDING
    assert credit.balance.balance.amount_cents == 5_000

    transfer = wallet.initiate_transfer(alice.account_id, bob.account_id, 1_050, memo="pizza")
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    assert transfer.expire_time.seconds - transfer.create_time.seconds == 900
    held = wallet.get_balance(alice.account_id)
    # The hold lowers what Alice can spend, not what she has.
    assert (held.balance.amount_cents, held.held.amount_cents, held.available.amount_cents) == (
        5_000,
        1_050,
        3_950,
    )
    assert wallet.get_balance(bob.account_id).balance.amount_cents == 0

    confirmed = wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert confirmed.state == transfer_pb2.TRANSFER_STATE_COMPLETED
    assert confirmed.HasField("resolve_time")

    alice_after = wallet.get_balance(alice.account_id)
    bob_after = wallet.get_balance(bob.account_id)
    assert (alice_after.balance.amount_cents, alice_after.held.amount_cents) == (3_950, 0)
    assert (bob_after.balance.amount_cents, bob_after.available.amount_cents) == (1_050, 1_050)

    alice_history = list(wallet.iter_transfers(alice.account_id))
    assert [t.transfer_id for t in alice_history] == [
        transfer.transfer_id,
        credit.transfer.transfer_id,
    ]
    bob_history = list(wallet.iter_transfers(bob.account_id))
    assert [(t.transfer_id, t.memo, t.amount.amount_cents) for t in bob_history] == [
        (transfer.transfer_id, "pizza", 1_050)
    ]
    assert wallet.get_transfer(transfer.transfer_id) == confirmed

    events = db.execute(
        "SELECT event_type FROM outbox_events WHERE transfer_id = %s ORDER BY event_id",
        (transfer.transfer_id,),
    ).fetchall()
    assert events == [("CONFIRMATION_REQUIRED",), ("TRANSFER_COMPLETED",)]


def test_cancel_releases_the_hold(wallet, open_account, db):
    alice = open_account(balance_cents=2_000)
    bob = open_account()
    transfer = wallet.initiate_transfer(alice, bob, 700)
    cancelled = wallet.cancel_transfer(transfer.transfer_id)
    assert cancelled.state == transfer_pb2.TRANSFER_STATE_CANCELLED
    balance = wallet.get_balance(alice)
    assert (balance.balance.amount_cents, balance.held.amount_cents) == (2_000, 0)
    assert wallet.get_balance(bob).balance.amount_cents == 0
    events = db.execute(
        "SELECT event_type FROM outbox_events WHERE transfer_id = %s ORDER BY event_id",
        (transfer.transfer_id,),
    ).fetchall()
    assert events == [("CONFIRMATION_REQUIRED",), ("TRANSFER_CANCELLED",)]


def test_the_code_is_stored_only_as_a_keyed_hash(wallet, db):
    account = wallet.open_account("PERSON", "Carol", "987654")
    stored = db.execute(
        "SELECT code_hmac FROM accounts WHERE account_id = %s", (account.account_id,)
    ).fetchone()[0]
    assert len(stored) == 32 and b"987654" not in bytes(stored)
    # Its own row only: the hex of every account's hash and id in the shared test
    # database can hold any six digits by chance (it did in one full run).
    row = db.execute(
        "SELECT a::text FROM accounts a WHERE account_id = %s", (account.account_id,)
    ).fetchone()[0]
    assert "987654" not in row


def unkeyed_sha256(method: str, request) -> bytes:
    """What anyone computes from a request: SHA-256 of the method and its content."""
    content = type(request)()
    content.CopyFrom(request)
    content.ClearField("request_id")
    return hashlib.sha256(method.encode() + b"\0" + content.SerializeToString(deterministic=True))


@pytest.mark.parametrize("method", ["ConfirmTransfer", "ChangeCode"])
def test_no_request_kept_for_retries_gives_a_code_away(wallet, open_account, db, method):
    """Request ids are kept with a digest of their request, which holds the code.
    Unkeyed, a copy of the database gave every code used in the last day away
    to whoever hashed the 10^6 possible ones (here: the right one)."""
    alice, bob = open_account(balance_cents=1_000, code="987650"), open_account()
    request_id = str(uuid.uuid4())
    if method == "ConfirmTransfer":
        transfer = wallet.initiate_transfer(alice, bob, 100)
        wallet.confirm_transfer(transfer.transfer_id, "987650", request_id=request_id)
        request = transfer_service_pb2.ConfirmTransferRequest(
            transfer_id=transfer.transfer_id, code="987650"
        )
        full_method = "/envoi.v1.TransferService/ConfirmTransfer"
    else:
        wallet.change_code(alice, "987650", "123450", request_id=request_id)
        request = account_service_pb2.ChangeCodeRequest(
            account_id=alice, current_code="987650", new_code="123450"
        )
        full_method = "/envoi.v1.AccountService/ChangeCode"
    kept = db.execute(
        "SELECT k::text FROM idempotency_keys k WHERE request_id = %s", (request_id,)
    ).fetchone()[0]
    assert unkeyed_sha256(full_method, request).digest().hex() not in kept
