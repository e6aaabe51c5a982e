"""TRANSFER_EXPIRED: confirming or cancelling a transfer whose time is up.

This module's server lets pending transfers live 1 s. The test server runs no
expiry sweeper, so the late call itself finds the transfer due: it marks it
EXPIRED, releases the hold, and keeps that answer for its request_id.
"""

import time
import types
import uuid

import pytest
from error_status import assert_envoi_error, bearer, expect_failure, failed_call, ledger_state

from envoi.core.config import Settings
from envoi.core.testing import TEST_CODE_KEY
from envoi.v1 import transfer_service_pb2 as transfers_pb
from envoi.v1 import transfer_service_pb2_grpc

TIMEOUT_S = 1


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url, code_key=TEST_CODE_KEY, confirmation_timeout_s=TIMEOUT_S
    )


@pytest.fixture(scope="module")
def transfers_rpc(grpc_channel):
    return transfer_service_pb2_grpc.TransferServiceStub(grpc_channel)


@pytest.fixture(scope="module")
def as_wallet(make_token):
    return bearer(make_token("wallet"))


@pytest.fixture(scope="module")
def overdue(wallet, open_account):
    """Two pending transfers of Alice's, both past their expire_time (one sleep for both)."""
    alice, bob = open_account(balance_cents=1_000), open_account()
    to_confirm = wallet.initiate_transfer(alice, bob, 300)
    to_cancel = wallet.initiate_transfer(alice, bob, 200)
    time.sleep(TIMEOUT_S + 0.2)
    return types.SimpleNamespace(
        alice=alice, bob=bob, to_confirm=to_confirm.transfer_id, to_cancel=to_cancel.transfer_id
    )


def request_id() -> str:
    return f"test-expiry:{uuid.uuid4()}"


@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_late_call_expires_the_transfer_and_its_answer_is_kept(
    action, overdue, transfers_rpc, as_wallet, db
):
    if action == "confirm":
        transfer_id, amount_cents = overdue.to_confirm, 300
        stub_method = transfers_rpc.ConfirmTransfer

        def make(rid):  # with the right code: too late is too late
            return transfers_pb.ConfirmTransferRequest(
                request_id=rid, transfer_id=transfer_id, code="123456"
            )
    else:
        transfer_id, amount_cents = overdue.to_cancel, 200
        stub_method = transfers_rpc.CancelTransfer

        def make(rid):
            return transfers_pb.CancelTransferRequest(request_id=rid, transfer_id=transfer_id)

    first = make(request_id())

    before = ledger_state(db)
    assert_envoi_error(
        failed_call(stub_method, first, as_wallet),
        "TRANSFER_EXPIRED",
        metadata={"transfer_id": transfer_id},
    )
    # What the failed call changed, by design: this transfer is EXPIRED, its hold
    # released, one TRANSFER_EXPIRED event and the kept answer. No money moved.
    after = ledger_state(db)
    released = [
        row[:2] + (row[2] - amount_cents,) + row[3:] if str(row[0]) == overdue.alice else row
        for row in before["accounts"]
    ]
    resolved = [
        (tid, "EXPIRED" if str(tid) == transfer_id else state) for tid, state in before["transfers"]
    ]
    assert after == {
        **before,
        "accounts": released,
        "transfers": resolved,
        "outbox_events": before["outbox_events"] + 1,
        "idempotency_keys": before["idempotency_keys"] + 1,
    }
    assert db.execute(
        "SELECT event_type FROM outbox_events WHERE transfer_id = %s ORDER BY event_id",
        (transfer_id,),
    ).fetchall() == [("CONFIRMATION_REQUIRED",), ("TRANSFER_EXPIRED",)]

    # A retry of that request_id gets the same answer, not TRANSFER_NOT_PENDING.
    expect_failure(
        db, stub_method, first, as_wallet, "TRANSFER_EXPIRED", metadata={"transfer_id": transfer_id}
    )
    # A new request_id finds the transfer already resolved.
    expect_failure(
        db,
        stub_method,
        make(request_id()),
        as_wallet,
        "TRANSFER_NOT_PENDING",
        metadata={"transfer_id": transfer_id, "state": "EXPIRED"},
    )
