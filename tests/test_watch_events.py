"""EventService.WatchEvents: one account's events, live, woken by PostgreSQL
NOTIFY, resumed with no gap and no repeat; who may watch what; the server's
shutdown; and 1,000 idle streams on one `envoi serve` process."""

import asyncio
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import psutil
import psycopg
import pytest
from event_streams import StreamReader
from server_process import ServerProcess, database_env, envoi_env, free_port, wait_for

from envoi.client import EnvoiClient, errors
from envoi.core.api.event_service import decode_cursor
from envoi.core.auth import api_tokens
from envoi.core.config import Settings
from envoi.core.ledger import transfers
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.testing import TEST_CODE_KEY, ServerOnThread
from envoi.providers.sandbox import bank_transfers, cards
from envoi.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc, identity_pb2

# The safety-net re-read of the outbox, far longer than any wait below: an
# event that arrives in time came by NOTIFY.
RECHECK_S = 600.0
PROMPT_S = 1.0  # an event must reach its streams this soon after its commit
QUIET_S = 0.5  # long enough to see an event that should not come

CONFIRMATION_REQUIRED = event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED
COMPLETED = event_pb2.EVENT_TYPE_TRANSFER_COMPLETED
CANCELLED = event_pb2.EVENT_TYPE_TRANSFER_CANCELLED
AWAITING_CLAIM = event_pb2.EVENT_TYPE_TRANSFER_AWAITING_CLAIM
CLAIMED = event_pb2.EVENT_TYPE_TRANSFER_CLAIMED


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url,
        code_key=TEST_CODE_KEY,
        currencies=("EUR", "USD"),
        event_recheck_s=RECHECK_S,
    )


@pytest.fixture
def watch(grpc_server):
    """watch(client, account_id, after_cursor="") -> a StreamReader, once the
    server has subscribed the stream; all are closed after the test."""
    readers = []

    def open_(client, account_id, after_cursor=""):
        before = grpc_server.stream_count(account_id)
        reader = StreamReader(client.watch_events(account_id, after_cursor))
        readers.append(reader)
        wait_for(lambda: grpc_server.stream_count(account_id) > before, "the stream to open", 10)
        return reader

    yield open_
    for reader in readers:
        reader.close()


def first_event(client, account_id, after_cursor=""):
    with client.watch_events(account_id, after_cursor, timeout_s=10) as stream:
        return next(iter(stream))


def event_id(event) -> int:
    return decode_cursor(event.event_id)[1]


def account_event_ids(db, account_id) -> list[int]:
    """The account's events as the database orders them: the expected stream."""
    rows = db.execute(
        "SELECT e.event_id FROM outbox_events e JOIN transfers t USING (transfer_id)"
        " WHERE t.from_account_id = %(a)s OR t.to_account_id = %(a)s"
        " ORDER BY e.tx_id, e.event_id",
        {"a": account_id},
    ).fetchall()
    return [row[0] for row in rows]


def kinds(events) -> list[tuple[int, str]]:
    return [(event.type, event.transfer.transfer_id) for event in events]


# Live events


def test_events_come_oldest_first_then_live_within_a_second_of_each_commit(
    watch, wallet, open_account
):
    alice, bob = open_account(balance_cents=5_000), open_account()
    carol, dave = open_account(balance_cents=5_000), open_account()
    reader = watch(wallet, alice)
    [credit] = reader.take(1)  # from before the stream opened
    assert (credit.type, credit.transfer.to_account_id) == (COMPLETED, alice)

    transfer = wallet.initiate_transfer(alice, bob, 700)
    assert kinds(reader.take(1, timeout_s=PROMPT_S)) == [
        (CONFIRMATION_REQUIRED, transfer.transfer_id)
    ]
    wallet.confirm_transfer(transfer.transfer_id, "123456")
    [completed] = reader.take(1, timeout_s=PROMPT_S)
    assert kinds([completed]) == [(COMPLETED, transfer.transfer_id)]
    assert completed.transfer.amount.amount_cents == 700
    # Another account's money is not this stream's business.
    wallet.initiate_transfer(carol, dave, 100)
    reader.assert_quiet(QUIET_S)


def test_both_sides_watch_the_same_transfer(watch, wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account()
    payer, payee = watch(wallet, alice), watch(wallet, bob)
    payer.take(1)  # alice's credit
    transfer = wallet.initiate_transfer(alice, bob, 300)
    wallet.cancel_transfer(transfer.transfer_id)
    expected = [(CONFIRMATION_REQUIRED, transfer.transfer_id), (CANCELLED, transfer.transfer_id)]
    assert kinds(payer.take(2, timeout_s=PROMPT_S)) == expected
    assert kinds(payee.take(2, timeout_s=PROMPT_S)) == expected


def test_top_up_and_payout_results_reach_the_account_stream(watch, wallet, open_account):
    # Money in and out are the account's events too, each with its record.
    alice = open_account()
    reader = watch(wallet, alice)
    top_up = wallet.top_up(
        alice, 2_000, provider="sandbox", card_token=cards.tokenize_card(cards.SUCCEEDS)
    )
    got = reader.take(2, timeout_s=PROMPT_S)  # the top-up's result, and its credit
    [top_up_event] = [e for e in got if e.type == event_pb2.EVENT_TYPE_TOP_UP_SUCCEEDED]
    assert top_up_event.top_up.top_up_id == top_up.top_up_id
    assert [e.type for e in got if e.HasField("transfer")] == [COMPLETED]
    payout = wallet.withdraw(
        alice,
        500,
        iban=bank_transfers.SETTLES,
        beneficiary_name="Alice",
        code="123456",
        provider="sandbox",
    )
    [requested] = reader.take(1, timeout_s=PROMPT_S)
    assert (requested.type, requested.payout.payout_id) == (
        event_pb2.EVENT_TYPE_PAYOUT_REQUESTED,
        payout.payout_id,
    )


# Resuming


def test_a_client_that_disconnects_and_resumes_sees_every_event_exactly_once(
    watch, wallet, admin, open_account, db
):
    alice, bob = open_account(balance_cents=10_000), open_account(balance_cents=10_000)
    producing = threading.Event()

    def produce():
        # Events of every kind on alice's side, while she watches and while she is away.
        for n in range(12):
            admin.credit_account(alice, 1)
            sent = wallet.initiate_transfer(alice, bob, 10 + n)
            wallet.confirm_transfer(sent.transfer_id, "123456")
            dropped = wallet.initiate_transfer(alice, bob, 20 + n)
            wallet.cancel_transfer(dropped.transfer_id)
            received = wallet.initiate_transfer(bob, alice, 30 + n)
            wallet.confirm_transfer(received.transfer_id, "123456")
            producing.set()
            time.sleep(0.02)

    seen, cursor = [], ""
    with ThreadPoolExecutor(1) as pool:
        produced = pool.submit(produce)
        producing.wait(10)
        for _ in range(4):
            reader = watch(wallet, alice, cursor)
            seen += reader.take(6)
            reader.close()
            cursor = seen[-1].event_id
            time.sleep(0.1)  # away while more events commit
        produced.result()

    expected = account_event_ids(db, alice)
    assert len(expected) == 1 + 12 * 7  # the opening credit, then 7 events a round
    reader = watch(wallet, alice, cursor)
    seen += reader.take(len(expected) - len(seen))
    reader.assert_quiet(QUIET_S)
    assert [event_id(event) for event in seen] == expected
    assert all(alice in (e.transfer.from_account_id, e.transfer.to_account_id) for e in seen)


def test_a_cursor_from_list_events_resumes_a_stream(watch, wallet, admin, open_account):
    alice = open_account(balance_cents=100)
    start = admin.list_events(page_size=1000)
    while start.events:
        start = admin.list_events(start.next_cursor, page_size=1000)
    credit = admin.credit_account(alice, 50)
    reader = watch(wallet, alice, start.next_cursor)
    assert kinds(reader.take(1)) == [(COMPLETED, credit.transfer.transfer_id)]
    reader.assert_quiet(QUIET_S)


# Events that commit late


def test_an_event_committed_late_by_an_older_transaction_is_not_skipped(
    watch, wallet, admin, open_account, database_url
):
    alice, carol = open_account(balance_cents=100), open_account(balance_cents=500)
    reader = watch(wallet, alice)
    reader.take(1)
    # An older transaction writes an event of alice's (a payment to her, on
    # hold) and stays open...
    held = str(uuid.uuid4())
    with psycopg.connect(database_url) as slow:
        slow.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
            " to_account_id, currency_code, amount_cents, initiated_by, expire_time)"
            " VALUES (%s, 'PAYMENT', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 100, 'test',"
            " now() + interval '1 hour')",
            (held, carol, alice),
        )
        # ...while a younger one commits and notifies. Its event must wait.
        credit = admin.credit_account(alice, 2)
        reader.assert_quiet(QUIET_S)
        slow.commit()
        # Both come at the older one's commit, in the order of their transactions.
        assert kinds(reader.take(2, timeout_s=PROMPT_S)) == [
            (CONFIRMATION_REQUIRED, held),
            (COMPLETED, credit.transfer.transfer_id),
        ]
    wallet.cancel_transfer(held)  # releases carol's hold


def test_an_event_held_back_by_an_unrelated_transaction_comes_when_it_ends(
    watch, wallet, admin, open_account, database_url
):
    alice = open_account(balance_cents=100)
    reader = watch(wallet, alice)
    reader.take(1)
    with psycopg.connect(database_url) as blocker:
        # A transaction with an id and no event: its end notifies nobody.
        blocker.execute("SELECT pg_current_xact_id()")
        credit = admin.credit_account(alice, 2)
        reader.assert_quiet(QUIET_S)
        blocker.rollback()
        # The server knows a notified event is still hidden and looks again
        # soon, long before the safety net's RECHECK_S.
        assert kinds(reader.take(1, timeout_s=PROMPT_S)) == [
            (COMPLETED, credit.transfer.transfer_id)
        ]


# Escrow


def test_the_claimer_of_a_transfer_sees_it_claimed(watch, wallet, open_account):
    alice = open_account(balance_cents=5_000)
    identity = identity_pb2.Identity(
        namespace="twitter", subject_id=secrets.token_hex(8), handle="carol_fs"
    )
    transfer = wallet.initiate_transfer(alice, identity, 800)
    wallet.confirm_transfer(transfer.transfer_id, "123456")  # into escrow
    carol = open_account(balance_cents=100)
    live = watch(wallet, carol)
    [credit] = live.take(1)

    wallet.link_identity(carol, identity)
    [claimed] = live.take(1, timeout_s=PROMPT_S)
    assert kinds([claimed]) == [(CLAIMED, transfer.transfer_id)]
    assert claimed.transfer.to_account_id == carol
    live.assert_quiet(QUIET_S)

    # A transfer's events follow its current sides: read from the start, the
    # claimer's stream has the transfer's earlier events too, in order.
    assert kinds(watch(wallet, carol).take(4)) == [
        (CONFIRMATION_REQUIRED, transfer.transfer_id),
        (AWAITING_CLAIM, transfer.transfer_id),
        (COMPLETED, credit.transfer.transfer_id),
        (CLAIMED, transfer.transfer_id),
    ]


# Who may watch what


def test_a_merchant_watches_its_own_account_only(merchant, open_account):
    merchant_id, merchant_client = merchant
    event = first_event(merchant_client, merchant_id)
    assert merchant_id in (event.transfer.from_account_id, event.transfer.to_account_id)
    for other in (open_account(), open_account("MERCHANT", balance_cents=100)):
        with pytest.raises(errors.PermissionDenied):
            first_event(merchant_client, other)


def test_the_wallet_never_watches_a_merchants_account(wallet, merchant):
    with pytest.raises(errors.PermissionDenied):
        first_event(wallet, merchant[0])


@pytest.mark.parametrize("caller", ["channel", "no token", "revoked token"])
def test_wrong_callers_are_refused(caller, twitter_channel, client_for, open_account, db):
    account_id = open_account(balance_cents=100)
    if caller == "channel":
        client, refusal = twitter_channel, errors.PermissionDenied
    elif caller == "no token":
        client, refusal = client_for(None), errors.Unauthenticated
    else:
        token_id, token = api_tokens.create_token(db, "admin")
        api_tokens.revoke_token(db, token_id)
        client, refusal = client_for(token), errors.Unauthenticated
    with pytest.raises(refusal):
        first_event(client, account_id)


@pytest.mark.parametrize(
    "account_id, cursor, error",
    [
        ("not-a-uuid", "", errors.InvalidArgument),
        (str(uuid.uuid4()), "", errors.AccountNotFound),
        (None, "not-a-cursor", errors.InvalidPageToken),
    ],
    # Fixed ids: pytest-xdist's workers must collect the same test names.
    ids=["not-a-uuid", "unknown-account", "bad-cursor"],
)
def test_a_bad_request_is_refused(account_id, cursor, error, admin, open_account):
    with pytest.raises(error):
        first_event(admin, account_id or open_account(), cursor)


# Shutdown


def test_shutdown_ends_each_stream_with_unavailable_and_the_client_resumes_on_the_next_server(
    runtime, make_token, open_account
):
    target = f"localhost:{free_port()}"
    server = ServerOnThread(runtime, target)
    token = make_token("wallet")
    wallet = EnvoiClient(target, token, retry_backoff_s=0.1, max_attempts=20)
    alice = open_account(balance_cents=100)
    resuming = StreamReader(wallet.watch_events(alice))
    raw = grpc.insecure_channel(target)
    raw_stream = event_service_pb2_grpc.EventServiceStub(raw).WatchEvents(
        event_service_pb2.WatchEventsRequest(account_id=alice),
        metadata=(("authorization", f"Bearer {token}"),),
        timeout=30,
    )
    try:
        resuming.take(1)
        next(raw_stream)
        server.stop()
        # The server said why the stream ended: the client may resume.
        with pytest.raises(grpc.RpcError) as ended:
            next(raw_stream)
        assert type(errors.from_rpc_error(ended.value)) is errors.Unavailable
        assert "shutting down" in ended.value.details()

        credit = credit_while_no_server_runs(runtime, alice)
        server = ServerOnThread(runtime, target)
        # EventStream called again from its last event: the next server sends
        # the one event committed meanwhile, and nothing twice.
        assert kinds(resuming.take(1)) == [(COMPLETED, credit)]
        resuming.assert_quiet(QUIET_S)
    finally:
        resuming.close()
        raw.close()
        server.stop()
        wallet.close()


def test_sigterm_does_not_wait_for_open_streams(tmp_path, database_url, make_token):
    grace_s = 20
    env = envoi_env(
        **database_env(database_url),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_DATA_DIR=str(tmp_path / "data"),
        ENVOI_SHUTDOWN_GRACE_S=str(grace_s),
    )
    server = ServerProcess(env, ["--no-gateway"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        admin = EnvoiClient(server.target, make_token("admin"), max_attempts=1)
        alice = admin.open_account("PERSON", "Alice", "123456").account_id
        admin.credit_account(alice, 100)
        stream = admin.watch_events(alice)
        events = iter(stream)
        next(events)
        started = time.monotonic()
        server.process.terminate()  # SIGTERM
        assert server.process.wait(timeout=grace_s) == 0, server.log()
        # Streams end at once; they do not hold the shutdown for its grace period.
        assert time.monotonic() - started < grace_s / 2
        with pytest.raises(errors.Unavailable):
            next(events)  # max_attempts=1: no resume, the error itself
        admin.close()
    finally:
        server.kill()


def credit_while_no_server_runs(runtime, account_id) -> str:
    """A credit committed straight through the ledger while no server runs."""
    row = run_in_transaction(
        runtime.pool,
        lambda conn: transfers.credit(conn, runtime.settings, account_id, 1, "EUR", "", "admin"),
    )
    return str(row["transfer_id"])


# 1,000 idle streams

STREAM_COUNT = 1000
CONNECTION_COUNT = 10  # the streams share these HTTP/2 connections


def open_accounts(admin: EnvoiClient, count: int) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(
            pool.map(
                lambda n: admin.open_account("PERSON", f"Watcher {n}", "123456").account_id,
                range(count),
            )
        )


async def watch_then_credit(target, wallet_token, accounts, process, credit_each_account):
    """Open a stream per account over CONNECTION_COUNT connections, then credit
    each account: ((threads, rss) with the streams open, credits, first responses)."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(target, options=options) for _ in range(CONNECTION_COUNT)]
    metadata = (("authorization", f"Bearer {wallet_token}"),)
    calls = [
        event_service_pb2_grpc.EventServiceStub(channels[n % CONNECTION_COUNT]).WatchEvents(
            event_service_pb2.WatchEventsRequest(account_id=account_id),
            metadata=metadata,
        )
        for n, account_id in enumerate(accounts)
    ]
    try:
        # Initial metadata: the server has subscribed the stream.
        await asyncio.wait_for(asyncio.gather(*(call.initial_metadata() for call in calls)), 120)
        await asyncio.sleep(1)  # let the server settle
        opened = (process.num_threads(), process.memory_info().rss)
        credits = await asyncio.to_thread(credit_each_account)
        responses = await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), 120)
        return opened, credits, responses
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            await channel.close()


def test_a_thousand_idle_streams_on_one_server_process(
    tmp_path, database_url, make_token, record_property
):
    env = envoi_env(
        **database_env(database_url),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_CURRENCIES="EUR,USD",
        ENVOI_DATA_DIR=str(tmp_path / "data"),
        ENVOI_EVENT_RECHECK_S=str(RECHECK_S),
    )
    server = ServerProcess(env, ["--no-gateway"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        process = psutil.Process(server.process.pid)
        # A generous deadline: a credit wakes up to 1,000 streams on a shared
        # 2-core machine (CI once took over 10 s); this test measures memory.
        admin = EnvoiClient(server.target, make_token("admin"), timeout_s=60.0)
        wallet_token = make_token("wallet")
        accounts = open_accounts(admin, STREAM_COUNT)
        idle = (process.num_threads(), process.memory_info().rss)

        def credit_each_account():
            with ThreadPoolExecutor(8) as pool:
                return list(pool.map(lambda a: admin.credit_account(a, 1), accounts))

        opened, credits, responses = asyncio.run(
            watch_then_credit(server.target, wallet_token, accounts, process, credit_each_account)
        )
        # Every stream was live: each got its own account's one event.
        assert [response.event.transfer.transfer_id for response in responses] == [
            credit.transfer.transfer_id for credit in credits
        ]
        threads, rss = opened
        report = (
            f"envoi serve with {STREAM_COUNT} open WatchEvents streams:"
            f" {threads} threads, RSS {rss / 2**20:.0f} MiB"
            f" (before: {idle[0]} threads, RSS {idle[1] / 2**20:.0f} MiB)"
        )
        print(report)
        record_property("thousand_streams", report)
        # Not a thread per stream: the point of serving streams from an event loop.
        assert threads < STREAM_COUNT / 4, report
        admin.close()
    finally:
        server.kill()
