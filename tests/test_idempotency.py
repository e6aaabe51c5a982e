"""AIP-155 request ids: the first answer again, reuse refused, nothing applied twice."""

import uuid

import pytest
from concurrently import run_together
from psycopg.types.json import Jsonb

from envoi.client import errors
from envoi.core.ledger import idempotency
from envoi.v1 import account_service_pb2, money_pb2, transfer_pb2, transfer_service_pb2


def count_transfers(db, account_id) -> int:
    return db.execute(
        "SELECT count(*) FROM transfers WHERE from_account_id = %s", (account_id,)
    ).fetchone()[0]


def test_a_retry_gets_the_first_answer_and_moves_nothing_more(wallet, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account()
    first = wallet.initiate_transfer(alice, bob, 1_000, request_id="retry-1")
    again = wallet.initiate_transfer(alice, bob, 1_000, request_id="retry-1")
    assert again == first
    assert count_transfers(db, alice) == 1
    assert wallet.get_balance(alice).held.amount_cents == 1_000

    confirmed = wallet.confirm_transfer(first.transfer_id, "123456", request_id="retry-2")
    # The retry answers as the first call did, though the transfer is no longer pending.
    assert wallet.confirm_transfer(first.transfer_id, "123456", request_id="retry-2") == confirmed
    assert wallet.get_balance(bob).balance.amount_cents == 1_000


def test_a_reused_id_with_another_request_is_refused(wallet, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account()
    wallet.initiate_transfer(alice, bob, 1_000, request_id="reuse-1")
    with pytest.raises(errors.IdempotencyKeyReused) as refused:
        wallet.initiate_transfer(alice, bob, 1_001, request_id="reuse-1")
    assert refused.value.field_violations == {"request_id": "already used for a different request"}
    # Another method with the same id is another request too.
    with pytest.raises(errors.IdempotencyKeyReused):
        wallet.open_account("PERSON", "Dan", "123456", request_id="reuse-1")
    assert count_transfers(db, alice) == 1


@pytest.mark.parametrize("method", ["ConfirmTransfer", "CreditAccount"])
def test_an_answer_kept_before_the_upgrade_is_still_the_answer(
    wallet, admin, open_account, db, method
):
    """Request ids answered before digests were keyed and before the core operations
    kept their answers as JSON (a plain SHA-256, protobuf bytes) answer their
    retries until they are purged: a retry across the upgrade applies nothing."""
    alice, bob = open_account(balance_cents=5_000), open_account()
    request_id = f"before-upgrade-{uuid.uuid4()}"
    if method == "ConfirmTransfer":
        transfer = wallet.initiate_transfer(alice, bob, 300)
        request = transfer_service_pb2.ConfirmTransferRequest(
            request_id=request_id, transfer_id=transfer.transfer_id, code="123456"
        )
        principal, service = "wallet", "TransferService"
        first = transfer_service_pb2.ConfirmTransferResponse(transfer=transfer)
    else:
        request = account_service_pb2.CreditAccountRequest(
            request_id=request_id,
            account_id=alice,
            amount=money_pb2.Money(currency_code="EUR", amount_cents=300),
        )
        principal, service = "admin", "AccountService"
        first = account_service_pb2.CreditAccountResponse()
    full_method = f"/envoi.v1.{service}/{method}"
    db.execute(
        "INSERT INTO idempotency_keys (principal, request_id, method, request_sha256,"
        " response_bytes) VALUES (%s, %s, %s, %s, %s)",
        (
            principal,
            request_id,
            full_method,
            idempotency.request_sha256(full_method, request),
            first.SerializeToString(),
        ),
    )
    client = wallet if principal == "wallet" else admin
    stub = client.transfers if service == "TransferService" else client.accounts
    assert client.call(getattr(stub, method), request) == first
    assert wallet.get_balance(alice).balance.amount_cents == 5_000  # nothing applied
    assert wallet.get_balance(bob).balance.amount_cents == 0


def test_concurrent_copies_of_one_request_apply_once(wallet, open_account, db):
    alice, bob = open_account(balance_cents=5_000), open_account()
    results = run_together(
        [lambda: wallet.initiate_transfer(alice, bob, 700, request_id="race-1")] * 20
    )
    assert len({r.transfer_id for r in results}) == 1, results
    assert count_transfers(db, alice) == 1
    assert wallet.get_balance(alice).held.amount_cents == 700


def test_concurrent_copies_of_a_confirmation_all_get_the_first_answer(wallet, open_account):
    # The copies that wait for the first one find the transfer completed; they
    # must still answer as the first did, not TRANSFER_NOT_PENDING.
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 700)
    results = run_together(
        [
            lambda: wallet.confirm_transfer(
                transfer.transfer_id, "123456", request_id="confirm-race-1"
            )
        ]
        * 20
    )
    assert {r.state for r in results} == {transfer_pb2.TRANSFER_STATE_COMPLETED}, results
    assert wallet.get_balance(bob).balance.amount_cents == 700


def test_a_retried_wrong_code_counts_once(wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account()
    transfer = wallet.initiate_transfer(alice, bob, 100)
    for _ in range(3):  # one attempt, answered three times
        with pytest.raises(errors.InvalidCode) as wrong:
            wallet.confirm_transfer(transfer.transfer_id, "000000", request_id="wrong-1")
        assert wrong.value.metadata["attempts_left"] == "2"
    assert not wallet.get_account(alice).code_locked
    assert (
        wallet.confirm_transfer(transfer.transfer_id, "123456").state
        == transfer_pb2.TRANSFER_STATE_COMPLETED
    )


def test_request_ids_belong_to_their_caller(wallet, twitter_channel, open_account, posted_by, db):
    # Two parties choosing the same id do not see each other's answers.
    alice, bob = open_account(balance_cents=5_000), open_account()
    from_wallet = wallet.initiate_transfer(alice, bob, 100, request_id="shared-id")
    from_channel = twitter_channel.initiate_transfer(
        posted_by(alice), bob, 100, request_id="shared-id"
    )
    assert from_wallet.transfer_id != from_channel.transfer_id
    assert count_transfers(db, alice) == 2


def test_request_ids_are_kept_at_least_a_day(wallet, open_account, db, runtime):
    from envoi.core.ledger import idempotency

    alice, bob = open_account(balance_cents=5_000), open_account()
    wallet.initiate_transfer(alice, bob, 100, request_id="kept-1")
    with runtime.pool.connection() as conn:
        idempotency.purge_expired(conn, runtime.settings.idempotency_retention_s)
    assert wallet.initiate_transfer(alice, bob, 100, request_id="kept-1").amount.amount_cents == 100
    assert count_transfers(db, alice) == 1
    # Past the retention they go: a record backdated by 25 hours is purged.
    db.execute(
        "UPDATE idempotency_keys SET create_time = now() - interval '25 hours'"
        " WHERE request_id = 'kept-1'"
    )
    with runtime.pool.connection() as conn:
        assert idempotency.purge_expired(conn, runtime.settings.idempotency_retention_s) >= 1


def test_a_channel_message_starts_one_transfer_long_after_its_request_id_is_gone(
    twitter_channel, wallet, open_account, posted_by, db
):
    """Issue 13: request ids are forgotten after a day, so the ledger itself keeps
    one transfer per channel message (channel_reference), for ever."""
    alice, bob = open_account(balance_cents=5_000), open_account()
    poster = posted_by(alice)
    reference = f"post:{uuid.uuid4().int % 10**18}"
    first = twitter_channel.initiate_transfer(poster, bob, 100, channel_reference=reference)
    wallet.cancel_transfer(first.transfer_id)
    db.execute("DELETE FROM idempotency_keys WHERE principal = 'channel:twitter'")
    again = twitter_channel.initiate_transfer(poster, bob, 100, channel_reference=reference)
    assert (again.transfer_id, again.state) == (
        first.transfer_id,
        transfer_pb2.TRANSFER_STATE_CANCELLED,
    )
    with pytest.raises(errors.IdempotencyKeyReused):
        twitter_channel.initiate_transfer(poster, bob, 999, channel_reference=reference)
    assert count_transfers(db, alice) == 1


def test_one_channel_message_sent_at_once_with_other_request_ids_starts_one_transfer(
    twitter_channel, open_account, posted_by, db
):
    alice, bob = open_account(balance_cents=5_000), open_account()
    poster = posted_by(alice)
    reference = f"post:{uuid.uuid4().int % 10**18}"
    results = run_together(
        [lambda: twitter_channel.initiate_transfer(poster, bob, 100, channel_reference=reference)]
        * 5
    )
    assert len({result.transfer_id for result in results}) == 1
    assert count_transfers(db, alice) == 1


def test_finding_a_channel_message_reads_its_index_not_the_ledger(db):
    """Every post a channel takes in looks its message up (the SQL function
    channel_message_transfer): a scan of transfers there made a post's latency
    grow with the ledger (147 ms at p50 in envoi bench)."""

    def index_scans() -> int:
        db.execute("SELECT pg_stat_force_next_flush()")
        db.execute("SELECT 1")  # its end flushes this session's counts
        db.execute("SELECT pg_stat_clear_snapshot()")
        return db.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes"
            " WHERE indexrelname = 'transfers_channel_reference'"
        ).fetchone()[0]

    before = index_scans()
    db.execute("SET enable_seqscan = off")  # the test ledger is small: ask what it could use
    try:
        found = db.execute(
            "SELECT channel_message_transfer(%s)",
            (Jsonb({"initiated_by": "channel:twitter", "channel_reference": "post:1"}),),
        ).fetchone()[0]
    finally:
        db.execute("RESET enable_seqscan")
    assert found is None
    assert index_scans() > before
