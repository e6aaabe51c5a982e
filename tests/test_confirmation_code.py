"""Wrong codes lock confirmations; an admin's reset unlocks; the lock survives restarts."""

import pytest

from envoi.client import EnvoiClient, errors
from envoi.core.runtime import Runtime, open_pool
from envoi.core.testing import ServerOnThread
from envoi.v1 import transfer_pb2


def test_three_wrong_codes_lock_until_an_admin_resets_the_code(wallet, admin, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 500)
    for attempts_left in ("2", "1", "0"):
        with pytest.raises(errors.InvalidCode) as wrong:
            wallet.confirm_transfer(transfer.transfer_id, "111111")
        assert wrong.value.metadata["attempts_left"] == attempts_left
    assert wallet.get_account(alice).code_locked
    # Locked: even the right code is refused, and nothing moves.
    with pytest.raises(errors.CodeLocked):
        wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert (
        wallet.get_transfer(transfer.transfer_id).state
        == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    assert wallet.get_balance(bob).balance.amount_cents == 0

    with pytest.raises(errors.CodeLocked):  # the owner cannot lift it alone
        wallet.change_code(alice, "123456", "222222")
    admin.reset_code(alice, "222222", "test: the owner forgot the code")
    assert not wallet.get_account(alice).code_locked
    with pytest.raises(errors.CodeResetHold):  # money out waits for the hold's end
        wallet.confirm_transfer(transfer.transfer_id, "222222")
    db.execute("UPDATE accounts SET code_hold_end_time = now() WHERE account_id = %s", (alice,))
    with pytest.raises(errors.InvalidCode):
        wallet.confirm_transfer(transfer.transfer_id, "123456")  # the old code is gone
    assert (
        wallet.confirm_transfer(transfer.transfer_id, "222222").state
        == transfer_pb2.TRANSFER_STATE_COMPLETED
    )


def test_a_right_code_resets_the_count(wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account()
    for _ in range(2):
        transfer = wallet.initiate_transfer(alice, bob, 100)
        for _ in range(2):
            with pytest.raises(errors.InvalidCode):
                wallet.confirm_transfer(transfer.transfer_id, "999999")
        wallet.confirm_transfer(transfer.transfer_id, "123456")
    assert not wallet.get_account(alice).code_locked


def test_the_lock_survives_a_server_restart(
    wallet, open_account, settings, database_url, make_token
):
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 100)
    for _ in range(3):
        with pytest.raises(errors.InvalidCode):
            wallet.confirm_transfer(transfer.transfer_id, "000000")

    # A new server process would start with nothing in memory: so does this one.
    pool = open_pool(database_url, 4)
    server = ServerOnThread(Runtime(settings, pool, settings.code_key), "localhost:0")
    try:
        with EnvoiClient(f"localhost:{server.running.port}", make_token("wallet")) as restarted:
            assert restarted.get_account(alice).code_locked
            with pytest.raises(errors.CodeLocked):
                restarted.confirm_transfer(transfer.transfer_id, "123456")
    finally:
        server.stop()
        pool.close()
