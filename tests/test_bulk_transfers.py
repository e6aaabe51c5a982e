"""CreateTransfers: batches of transfers with the caller's ids, posted at once.

A batch never debits a person (issue 13, finding 3): it debits only settlement
accounts, and merchants or associations under a debit mandate an admin
recorded; it credits no account over its tier's maximum balance."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg.errors
import pytest
from concurrently import run_together
from error_status import bearer, expect_failure

from envoi.client import errors
from envoi.core.ledger import accounts
from envoi.v1 import (
    account_pb2,
    money_pb2,
    transfer_pb2,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
)

CREATED = transfer_service_pb2.CREATE_TRANSFER_STATUS_CREATED
EXISTS = transfer_service_pb2.CREATE_TRANSFER_STATUS_EXISTS
FAILED = transfer_service_pb2.CREATE_TRANSFER_STATUS_FAILED


@pytest.fixture(scope="module")
def ledger_token(make_token):
    return make_token("ledger")


@pytest.fixture(scope="module")
def service(client_for, ledger_token):
    """The internal service: a ledger token, and room for big batches."""
    return client_for(ledger_token, timeout_s=300)


@pytest.fixture(scope="module")
def settlement(open_account):
    """settlement(balance_cents=0, currency_code="EUR") -> the id of one of envoi's
    clearing accounts: what batches debit (they never debit a person)."""
    return lambda **fields: open_account("SETTLEMENT", **fields)


@pytest.fixture(scope="module")
def stub(grpc_channel):
    return transfer_service_pb2_grpc.TransferServiceStub(grpc_channel)


def move(sender, recipient, amount_cents, **fields) -> dict:
    return {
        "transfer_id": str(uuid.uuid4()),
        "from_account_id": sender,
        "to_account_id": recipient,
        "amount_cents": amount_cents,
        **fields,
    }


def balance(client, account_id) -> int:
    return client.get_balance(account_id).balance.amount_cents


def balances(admin, *account_ids) -> list[int]:
    return [balance(admin, account_id) for account_id in account_ids]


def statuses(response) -> list:
    return [(r.status, r.reason) for r in response.results]


def request_of(transfers, mode, request_id=None) -> transfer_service_pb2.CreateTransfersRequest:
    request = transfer_service_pb2.CreateTransfersRequest(
        request_id=request_id or str(uuid.uuid4()),
        mode=transfer_service_pb2.BatchMode.Value("BATCH_MODE_" + mode),
    )
    for t in transfers:
        request.transfers.add(
            transfer_id=t["transfer_id"],
            from_account_id=t["from_account_id"],
            to_account_id=t["to_account_id"],
            amount=money_pb2.Money(
                currency_code=t.get("currency_code", "EUR"), amount_cents=t["amount_cents"]
            ),
            memo=t.get("memo", ""),
        )
    return request


# All or nothing


def test_a_batch_posts_every_transfer_completed_with_one_event_each(
    service, admin, open_account, db, settlement
):
    alice, bob, carol = settlement(balance_cents=1_000), settlement(), open_account()
    # In order: bob spends what alice's transfer brought him a moment before.
    batch = [
        move(alice, bob, 700, memo="settlement 1"),
        move(bob, carol, 500),
        move(alice, carol, 300),
    ]
    response = service.create_transfers(batch, mode="ALL_OR_NOTHING")
    assert statuses(response) == [(CREATED, "")] * 3
    assert [r.index for r in response.results] == [0, 1, 2]
    assert [r.transfer_id for r in response.results] == [t["transfer_id"] for t in batch]
    assert balances(admin, alice, bob, carol) == [0, 200, 800]

    first = admin.get_transfer(batch[0]["transfer_id"])
    assert (first.kind, first.state) == (
        transfer_pb2.TRANSFER_KIND_LEDGER,
        transfer_pb2.TRANSFER_STATE_COMPLETED,
    )
    assert (first.amount.amount_cents, first.memo) == (700, "settlement 1")
    assert first.HasField("resolve_time") and not first.HasField("expire_time")
    events = db.execute(
        "SELECT event_type, count(*) FROM outbox_events WHERE transfer_id = ANY(%s::uuid[])"
        " GROUP BY event_type",
        ([t["transfer_id"] for t in batch],),
    ).fetchall()
    assert events == [("TRANSFER_COMPLETED", 3)]
    initiated_by = db.execute(
        "SELECT DISTINCT initiated_by FROM transfers WHERE transfer_id = ANY(%s::uuid[])",
        ([t["transfer_id"] for t in batch],),
    ).fetchall()
    assert initiated_by == [("ledger",)]


@pytest.mark.parametrize(
    "bad, failure_reason",
    [
        ("overdraws", "INSUFFICIENT_FUNDS"),
        ("unknown recipient", "ACCOUNT_NOT_FOUND"),
        ("system account", "ACCOUNT_NOT_FOUND"),
        ("other currency", "CURRENCY_MISMATCH"),
        ("id reused", "TRANSFER_ID_REUSED"),
        ("debits a person", "DEBIT_NOT_ALLOWED"),
        ("over the maximum balance", "LIMIT_EXCEEDED"),
    ],
)
def test_one_failure_rejects_the_whole_batch_and_changes_nothing(
    bad, failure_reason, service, stub, ledger_token, open_account, settlement, settings, db
):
    alice, bob = settlement(balance_cents=1_000), settlement()
    taken = move(alice, bob, 10)
    service.create_transfers([taken], mode="ALL_OR_NOTHING")
    funding = str(accounts.system_account_id(db, accounts.FUNDING_PURPOSE, "EUR"))
    bad_transfer = {
        "overdraws": move(alice, bob, 500),  # 990 - 600 left: 500 is too much
        "unknown recipient": move(alice, str(uuid.uuid4()), 5),
        "system account": move(funding, bob, 5),
        "other currency": move(alice, open_account(currency_code="USD"), 5, currency_code="USD"),
        "id reused": {**taken, "amount_cents": 11},
        "debits a person": move(open_account(balance_cents=100), bob, 5),
        "over the maximum balance": move(
            alice, open_account(balance_cents=settings.unverified_max_balance_cents), 5
        ),
    }[bad]
    batch = [move(alice, bob, 600), move(bob, alice, 1), bad_transfer, move(alice, bob, 1)]
    rejected = expect_failure(
        db,
        stub.CreateTransfers,
        request_of(batch, "ALL_OR_NOTHING"),
        bearer(ledger_token),
        "BATCH_REJECTED",
        metadata={
            "index": "2",
            "transfer_id": bad_transfer["transfer_id"],
            "failure_reason": failure_reason,
        },
    )
    assert "transfers[2]" in rejected.message
    assert db.execute(
        "SELECT balance_cents FROM accounts WHERE account_id = %s", (alice,)
    ).fetchone() == (990,)


def test_the_client_raises_batch_rejected(service, open_account, settlement):
    alice, bob = settlement(balance_cents=100), open_account()
    with pytest.raises(errors.BatchRejected) as rejected:
        service.create_transfers(
            [move(alice, bob, 60), move(alice, bob, 60)], mode="ALL_OR_NOTHING"
        )
    assert rejected.value.metadata["index"] == "1"
    assert rejected.value.metadata["failure_reason"] == "INSUFFICIENT_FUNDS"


# Independent


def test_independent_mode_fails_only_the_bad_transfers(
    service, admin, open_account, db, settlement
):
    alice, bob = settlement(balance_cents=1_000), settlement()
    dollars = settlement(currency_code="USD", balance_cents=1_000)
    batch = [
        move(alice, bob, 600),
        move(alice, bob, 600),  # only 400 left now
        move(alice, str(uuid.uuid4()), 1),
        move(dollars, bob, 1, currency_code="USD"),
        move(alice, bob, 400),
        move(bob, alice, 1_000),  # bob has exactly 1,000 by now
    ]
    response = service.create_transfers(batch, mode="INDEPENDENT")
    assert statuses(response) == [
        (CREATED, ""),
        (FAILED, "INSUFFICIENT_FUNDS"),
        (FAILED, "ACCOUNT_NOT_FOUND"),
        (FAILED, "CURRENCY_MISMATCH"),
        (CREATED, ""),
        (CREATED, ""),
    ]
    assert all(r.message for r in response.results if r.status == FAILED)
    assert balances(admin, alice, bob, dollars) == [1_000, 0, 1_000]
    posted = db.execute(
        "SELECT count(*) FROM transfers WHERE transfer_id = ANY(%s::uuid[])",
        ([t["transfer_id"] for t in batch],),
    ).fetchone()[0]
    assert posted == 3


# Idempotency


@pytest.mark.parametrize("mode", ["ALL_OR_NOTHING", "INDEPENDENT"])
def test_a_retry_of_the_request_id_gets_the_first_answer(
    mode, service, admin, open_account, settlement
):
    alice, bob = settlement(balance_cents=1_000), open_account()
    batch = [move(alice, bob, 300), move(alice, bob, 200)]
    request_id = f"settlement-{uuid.uuid4()}"
    first = service.create_transfers(batch, mode=mode, request_id=request_id)
    again = service.create_transfers(batch, mode=mode, request_id=request_id)
    assert again == first
    assert statuses(again) == [(CREATED, "")] * 2
    assert balances(admin, alice, bob) == [500, 500]
    with pytest.raises(errors.IdempotencyKeyReused):
        service.create_transfers([move(alice, bob, 1)], mode=mode, request_id=request_id)


@pytest.mark.parametrize("mode", ["ALL_OR_NOTHING", "INDEPENDENT"])
def test_the_same_transfer_ids_under_a_new_request_id_exist_and_move_nothing(
    mode, service, admin, open_account, db, settlement
):
    alice, bob = settlement(balance_cents=1_000), open_account()
    batch = [move(alice, bob, 300, memo="payout run 7"), move(alice, bob, 200)]
    service.create_transfers(batch, mode=mode)
    events_before = db.execute("SELECT count(*) FROM outbox_events").fetchone()[0]
    # A retry after a timeout: the caller does not know; it resends the same ids.
    again = service.create_transfers(batch + [move(alice, bob, 100)], mode=mode)
    assert statuses(again) == [(EXISTS, ""), (EXISTS, ""), (CREATED, "")]
    assert balances(admin, alice, bob) == [400, 600]
    assert db.execute("SELECT count(*) FROM outbox_events").fetchone()[0] == events_before + 1


def test_a_transfer_id_reused_with_other_content_fails(service, admin, open_account, settlement):
    alice, bob, carol = settlement(balance_cents=1_000), open_account(), open_account()
    original = move(alice, bob, 300)
    service.create_transfers([original], mode="INDEPENDENT")
    changed = [
        {**original, "amount_cents": 301},
        {**original, "to_account_id": carol},
        {**original, "memo": "other"},
    ]
    for transfer in changed:
        response = service.create_transfers([transfer], mode="INDEPENDENT")
        assert statuses(response) == [(FAILED, "TRANSFER_ID_REUSED")]
    # An id the server gave a payment is not the caller's either.
    payment = admin.credit_account(bob, 5).transfer
    response = service.create_transfers(
        [move(alice, bob, 5, transfer_id=payment.transfer_id)], mode="INDEPENDENT"
    )
    assert statuses(response) == [(FAILED, "TRANSFER_ID_REUSED")]
    assert balances(admin, alice, bob, carol) == [700, 305, 0]


# Validation


def test_bad_fields_are_named_by_their_index(stub, ledger_token, open_account, db, settlement):
    alice, bob = settlement(balance_cents=1_000), open_account()
    good = move(alice, bob, 1)
    batch = [
        good,
        move(alice, bob, 0),
        move(alice, alice, 1),
        move(alice, bob, 1, memo="x" * 281),
        move(alice, "not-an-id", 1, currency_code="XXX"),
        {**good},
    ]
    batch[1]["transfer_id"] = "NOT-A-UUID"
    expect_failure(
        db,
        stub.CreateTransfers,
        request_of(batch, "INDEPENDENT"),
        bearer(ledger_token),
        "INVALID_ARGUMENT",
        fields=[
            "transfers[1].transfer_id",
            "transfers[1].amount.amount_cents",
            "transfers[2].to_account_id",
            "transfers[3].memo",
            "transfers[4].to_account_id",
            "transfers[4].amount.currency_code",
            "transfers[5].transfer_id",
        ],
    )


@pytest.mark.parametrize("count", [0, 8_001])
def test_a_batch_holds_1_to_8000_transfers(count, stub, ledger_token, open_account, db):
    alice, bob = open_account(), open_account()
    batch = [move(alice, bob, 1) for _ in range(count)]
    expect_failure(
        db,
        stub.CreateTransfers,
        request_of(batch, "ALL_OR_NOTHING"),
        bearer(ledger_token),
        "INVALID_ARGUMENT",
        fields=["transfers"],
    )


def test_a_batch_names_its_mode(stub, ledger_token, open_account, db):
    request = request_of([move(open_account(), open_account(), 1)], "ALL_OR_NOTHING")
    request.mode = transfer_service_pb2.BATCH_MODE_UNSPECIFIED
    expect_failure(
        db, stub.CreateTransfers, request, bearer(ledger_token), "INVALID_ARGUMENT", fields=["mode"]
    )


def test_many_bad_fields_are_reported_fifty_at_most(stub, ledger_token, open_account, db):
    alice, bob = open_account(), open_account()
    batch = [move(alice, bob, 0) for _ in range(500)]
    rpc_error = None
    try:
        stub.CreateTransfers(
            request_of(batch, "INDEPENDENT"), metadata=bearer(ledger_token), timeout=30
        )
    except Exception as raised:  # noqa: BLE001 - a grpc.RpcError
        rpc_error = raised
    typed = errors.from_rpc_error(rpc_error)
    assert isinstance(typed, errors.InvalidArgument)
    assert len(typed.field_violations) == 50


def test_other_roles_are_refused(client_for, make_token, wallet, open_account, settlement):
    alice, bob = settlement(balance_cents=100), open_account()
    for client in (wallet, client_for(make_token("channel", channel_name="twitter"))):
        with pytest.raises(errors.PermissionDenied):
            client.create_transfers([move(alice, bob, 1)], mode="ALL_OR_NOTHING")


def test_admin_may_post_batches_too(admin, open_account, settlement):
    alice, bob = settlement(balance_cents=100), open_account()
    response = admin.create_transfers(
        [{"from_account_id": alice, "to_account_id": bob, "amount_cents": 40}],
        mode="INDEPENDENT",
    )
    assert statuses(response) == [(CREATED, "")]
    uuid.UUID(response.results[0].transfer_id)  # the client chose one
    assert balances(admin, alice, bob) == [60, 40]


# Concurrency


def test_concurrent_batches_in_opposite_orders_never_deadlock_or_overdraw(
    service, admin, open_account, db, settlement
):
    accounts = [settlement(balance_cents=1_000) for _ in range(6)]
    batches = []
    for n in range(8):
        order = accounts if n % 2 == 0 else accounts[::-1]
        # Each pays its neighbour in turn: more than some accounts can pay.
        batches.append(
            [move(order[i], order[(i + 1) % len(order)], 300 + 100 * n) for i in range(len(order))]
        )
    results = run_together(
        [lambda b=b: service.create_transfers(b, mode="INDEPENDENT") for b in batches]
    )
    assert all(isinstance(r, transfer_service_pb2.CreateTransfersResponse) for r in results), [
        r for r in results if not isinstance(r, transfer_service_pb2.CreateTransfersResponse)
    ]
    expected = dict.fromkeys(accounts, 1_000)
    for batch, response in zip(batches, results, strict=True):
        for transfer, result in zip(batch, response.results, strict=True):
            assert result.status in (CREATED, FAILED)
            if result.status == FAILED:
                assert result.reason == "INSUFFICIENT_FUNDS"
            else:
                expected[transfer["from_account_id"]] -= transfer["amount_cents"]
                expected[transfer["to_account_id"]] += transfer["amount_cents"]
    assert balances(admin, *accounts) == [expected[a] for a in accounts]
    assert all(value >= 0 for value in expected.values())
    assert sum(expected.values()) == 6_000


def test_concurrent_all_or_nothing_batches_apply_whole_or_not_at_all(
    service, admin, open_account, settlement
):
    alice, bob = settlement(balance_cents=1_000), settlement(balance_cents=1_000)
    forth = [move(alice, bob, 100) for _ in range(5)] + [move(bob, alice, 50)]
    back = [move(bob, alice, 100) for _ in range(5)] + [move(alice, bob, 50)]
    results = run_together(
        [
            lambda: service.create_transfers(forth, mode="ALL_OR_NOTHING"),
            lambda: service.create_transfers(back, mode="ALL_OR_NOTHING"),
        ]
    )
    assert all(isinstance(r, transfer_service_pb2.CreateTransfersResponse) for r in results)
    assert balances(admin, alice, bob) == [1_000, 1_000]


def test_the_same_new_ids_racing_are_created_once(service, admin, open_account, settlement):
    alice, bob = settlement(balance_cents=1_000), open_account()
    batch = [move(alice, bob, 100) for _ in range(3)]
    results = run_together(
        [lambda: service.create_transfers(batch, mode="INDEPENDENT") for _ in range(4)]
    )
    created = sum(r.status == CREATED for response in results for r in response.results)
    exists = sum(r.status == EXISTS for response in results for r in response.results)
    assert (created, exists) == (3, 9)
    assert balances(admin, alice, bob) == [700, 300]


# Size


def test_a_batch_of_8000_transfers(service, admin, open_account, db, settlement):
    """Informational timing: printed, never asserted (run with -s to see it)."""
    sources = [settlement() for _ in range(100)]
    bank = settlement(balance_cents=101 * 10_000)
    service.create_transfers(
        [move(bank, source, 10_000) for source in sources], mode="ALL_OR_NOTHING"
    )
    batch = [
        move(sources[i % 100], sources[(i * 7 + 1) % 100], 1 + i % 50, memo=f"settlement {i}")
        for i in range(8_000)
        if i % 100 != (i * 7 + 1) % 100
    ]
    batch = batch[:8_000]
    while len(batch) < 8_000:
        batch.append(move(bank, sources[len(batch) % 100], 1))
    events_before = db.execute("SELECT count(*) FROM outbox_events").fetchone()[0]
    started = time.perf_counter()
    response = service.create_transfers(batch, mode="ALL_OR_NOTHING")
    elapsed = time.perf_counter() - started
    assert len(response.results) == 8_000
    assert all(r.status == CREATED for r in response.results)
    assert db.execute("SELECT count(*) FROM outbox_events").fetchone()[0] == events_before + 8_000

    retry_started = time.perf_counter()
    again = service.create_transfers(batch, mode="INDEPENDENT")
    retry_elapsed = time.perf_counter() - retry_started
    assert all(r.status == EXISTS for r in again.results)
    print(
        f"\nCreateTransfers: 8000 transfers (all-or-nothing) in {elapsed:.2f} s"
        f" ({8_000 / elapsed:,.0f} transfers/s); the same ids again (all exist)"
        f" in {retry_elapsed:.2f} s"
    )
    total = sum(balances(admin, bank, *sources))
    assert total == 101 * 10_000


def test_the_same_new_id_racing_on_other_accounts_is_created_once(
    service, admin, open_account, settlement
):
    # No account lock orders these two: the id's primary key does, and the
    # loser runs again and sees the winner's transfer.
    alice, bob = settlement(balance_cents=1_000), open_account()
    carol, dave = settlement(balance_cents=1_000), open_account()
    transfer_id = str(uuid.uuid4())
    results = run_together(
        [
            lambda: service.create_transfers(
                [move(alice, bob, 100, transfer_id=transfer_id)], mode="INDEPENDENT"
            ),
            lambda: service.create_transfers(
                [move(carol, dave, 100, transfer_id=transfer_id)], mode="INDEPENDENT"
            ),
        ]
    )
    assert sorted(statuses(r)[0] for r in results) == [
        (CREATED, ""),
        (FAILED, "TRANSFER_ID_REUSED"),
    ]
    assert sum(balances(admin, bob, dave)) == 100


# The database's own rules


def test_a_ledger_transfer_never_changes_and_is_never_pending(
    service, open_account, db, settlement
):
    alice, bob = settlement(balance_cents=1_000), open_account()
    posted = move(alice, bob, 100)
    service.create_transfers([posted], mode="INDEPENDENT")
    with pytest.raises(psycopg.errors.RestrictViolation):
        db.execute(
            "UPDATE transfers SET memo = 'changed' WHERE transfer_id = %s",
            (posted["transfer_id"],),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, expire_time)"
            " VALUES (gen_random_uuid(), 'LEDGER', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 1,"
            " 'test', now() + interval '1 hour')",
            (alice, bob),
        )
    # The floor CHECK is the last word even for SQL that skips the service's checks.
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, resolve_time)"
            " SELECT gen_random_uuid(), 'LEDGER', 'COMPLETED', %s, %s, 'EUR', 600, 'test', now()"
            " FROM generate_series(1, 2)",
            (alice, bob),
        )
    assert db.execute(
        "SELECT balance_cents FROM accounts WHERE account_id = %s", (alice,)
    ).fetchone() == (900,)


# What a batch may debit and credit


@pytest.mark.parametrize("role", ["ledger", "admin"])
def test_a_batch_never_debits_a_person_whatever_the_token(
    role, service, admin, stub, ledger_token, make_token, open_account, db
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    client = service if role == "ledger" else admin
    token = ledger_token if role == "ledger" else make_token("admin")
    response = client.create_transfers([move(alice, bob, 400)], mode="INDEPENDENT")
    assert statuses(response) == [(FAILED, "DEBIT_NOT_ALLOWED")]
    assert "person" in response.results[0].message
    refused = move(alice, bob, 400)
    expect_failure(
        db,
        stub.CreateTransfers,
        request_of([refused], "ALL_OR_NOTHING"),
        bearer(token),
        "BATCH_REJECTED",
        metadata={
            "index": "0",
            "transfer_id": refused["transfer_id"],
            "failure_reason": "DEBIT_NOT_ALLOWED",
        },
    )
    assert balances(admin, alice, bob) == [1_000, 0]


def test_a_settlement_account_is_debited_without_a_code(service, admin, open_account):
    bank = open_account("SETTLEMENT", balance_cents=5_000)
    assert admin.get_account(bank).kind == account_pb2.ACCOUNT_KIND_SETTLEMENT
    alice, shop = open_account(), open_account("MERCHANT")
    other_bank = open_account("SETTLEMENT")
    response = service.create_transfers(
        [move(bank, alice, 1_000), move(bank, shop, 500), move(bank, other_bank, 2_000)],
        mode="ALL_OR_NOTHING",
    )
    assert statuses(response) == [(CREATED, "")] * 3
    assert balances(admin, bank, alice, shop, other_bank) == [1_500, 1_000, 500, 2_000]


def test_a_merchant_is_debited_only_under_a_live_mandate(service, admin, open_account, db):
    shop, bank = open_account("MERCHANT", balance_cents=3_000), open_account("SETTLEMENT")
    assert not admin.get_account(shop).HasField("debit_mandate")
    refused = service.create_transfers([move(shop, bank, 100)], mode="INDEPENDENT")
    assert statuses(refused) == [(FAILED, "DEBIT_NOT_ALLOWED")]

    account = admin.set_debit_mandate(shop, active=True, reason="SEPA mandate RUM-42")
    assert account.debit_mandate.reason == "SEPA mandate RUM-42"
    assert account.debit_mandate.HasField("create_time")
    assert admin.get_account(shop).debit_mandate == account.debit_mandate
    posted = service.create_transfers([move(shop, bank, 100)], mode="INDEPENDENT")
    assert statuses(posted) == [(CREATED, "")]

    account = admin.set_debit_mandate(shop, active=False, reason="mandate ended")
    assert not account.HasField("debit_mandate")
    again = service.create_transfers([move(shop, bank, 100)], mode="INDEPENDENT")
    assert statuses(again) == [(FAILED, "DEBIT_NOT_ALLOWED")]
    assert balances(admin, shop, bank) == [2_900, 100]
    # Who, why and when of each change is kept.
    changes = db.execute(
        "SELECT active, reason, principal FROM debit_mandate_changes WHERE account_id = %s"
        " ORDER BY change_id",
        (shop,),
    ).fetchall()
    assert changes == [(True, "SEPA mandate RUM-42", "admin"), (False, "mandate ended", "admin")]


def test_a_batch_never_debits_a_frozen_account_nor_touches_a_closed_one(
    service, admin, open_account
):
    shop, bank = open_account("MERCHANT", balance_cents=1_000), open_account("SETTLEMENT")
    admin.credit_account(bank, 500)
    admin.set_debit_mandate(shop, active=True, reason="SEPA mandate RUM-7")
    admin.freeze_account(shop, "fraud review")
    gone = open_account()
    admin.close_account(gone, reason="the owner left")
    batch = [move(shop, bank, 100), move(bank, shop, 100), move(bank, gone, 100)]
    response = service.create_transfers(batch, mode="INDEPENDENT")
    assert statuses(response) == [
        (FAILED, "ACCOUNT_FROZEN"),
        (CREATED, ""),  # money in still arrives
        (FAILED, "ACCOUNT_CLOSED"),
    ]
    assert balances(admin, shop, bank) == [1_100, 400]


def test_an_association_may_have_a_mandate_a_person_never(admin, open_account, service):
    charity, alice = open_account("ASSOCIATION", balance_cents=500), open_account()
    admin.set_debit_mandate(charity, active=True, reason="direct debit agreement")
    response = service.create_transfers([move(charity, alice, 200)], mode="INDEPENDENT")
    assert statuses(response) == [(CREATED, "")]
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_debit_mandate(alice, active=True, reason="no")
    assert "account_id" in refused.value.field_violations
    assert not admin.get_account(alice).HasField("debit_mandate")


@pytest.mark.parametrize("caller", ["ledger", "wallet"])
def test_only_an_admin_sets_a_mandate(caller, service, wallet, open_account):
    shop = open_account("MERCHANT")
    client = service if caller == "ledger" else wallet
    with pytest.raises(errors.PermissionDenied):
        client.set_debit_mandate(shop, active=True, reason="let me")


def test_a_mandate_needs_a_reason(admin, open_account):
    shop = open_account("MERCHANT")
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_debit_mandate(shop, active=True, reason="")
    assert "reason" in refused.value.field_violations


def test_a_credit_over_the_maximum_balance_fails(service, admin, open_account, settings):
    max_cents = settings.unverified_max_balance_cents
    bank = open_account("SETTLEMENT", balance_cents=2 * max_cents)
    alice = open_account(balance_cents=max_cents - 100)
    response = service.create_transfers(
        [move(bank, alice, 100), move(bank, alice, 1)], mode="INDEPENDENT"
    )
    assert statuses(response) == [(CREATED, ""), (FAILED, "LIMIT_EXCEEDED")]
    with pytest.raises(errors.BatchRejected) as rejected:
        service.create_transfers([move(bank, alice, 1)], mode="ALL_OR_NOTHING")
    assert rejected.value.metadata["failure_reason"] == "LIMIT_EXCEEDED"
    assert balances(admin, alice) == [max_cents]
    # A settlement account has no maximum balance.
    other_bank = open_account("SETTLEMENT")
    response = service.create_transfers([move(bank, other_bank, max_cents + 1)], mode="INDEPENDENT")
    assert statuses(response) == [(CREATED, "")]


def test_a_settlement_account_takes_no_payment(wallet, admin, open_account):
    bank, alice = open_account("SETTLEMENT", balance_cents=1_000), open_account(balance_cents=500)
    with pytest.raises(errors.PermissionDenied):
        wallet.initiate_transfer(alice, bank, 100)
    with pytest.raises(errors.PermissionDenied):
        wallet.initiate_transfer(bank, alice, 100)
    for read in (wallet.get_balance, wallet.get_account, wallet.list_transfers):
        with pytest.raises(errors.PermissionDenied):
            read(bank)
    assert balances(admin, bank, alice) == [1_000, 500]


def test_the_database_refuses_a_ledger_debit_of_any_other_account(open_account, db):
    """Whatever the Python does: raw SQL posting a LEDGER transfer from a person."""
    alice, bank = open_account(balance_cents=1_000), open_account("SETTLEMENT", balance_cents=10)
    insert = (
        "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        " currency_code, amount_cents, initiated_by, resolve_time)"
        " VALUES (gen_random_uuid(), 'LEDGER', 'COMPLETED', %s, %s, 'EUR', %s, 'test', now())"
    )
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        db.execute(insert, (alice, bank, 100))
    assert refused.value.diag.constraint_name == "ledger_debit_allowed"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        db.execute(
            "UPDATE accounts SET debit_mandate_time = now(), debit_mandate_reason = 'x'"
            " WHERE account_id = %s",
            (alice,),
        )
    assert refused.value.diag.constraint_name == "debit_mandate_kinds"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        db.execute(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, expire_time)"
            " VALUES (gen_random_uuid(), 'PAYMENT', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 1,"
            " 'test', now() + interval '1 hour')",
            (alice, bank),
        )
    assert refused.value.diag.constraint_name == "settlement_batches_only"
    db.execute(insert, (bank, alice, 10))  # from a settlement account: posted
    assert db.execute(
        "SELECT account_balance_cents(a) FROM accounts a WHERE account_id = %s", (alice,)
    ).fetchone() == (1_010,)


def wait_for_a_lock_wait(db, timeout_s=30.0) -> None:
    """Until some backend of this database waits for a row lock."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    pytest.fail("no backend came to wait for the lock")


@pytest.mark.parametrize("path", ["gRPC", "raw SQL"])
def test_a_batch_waiting_on_a_revocation_in_flight_sees_it(
    path, service, admin, open_account, database_url, db
):
    """A revocation and a batch are serialized by the merchant's row lock: a
    batch that comes while the revocation is being written waits for it, then
    is refused; the trigger re-reads the mandate under that lock too."""
    shop, bank = open_account("MERCHANT", balance_cents=1_000), open_account("SETTLEMENT")
    admin.set_debit_mandate(shop, active=True, reason="concurrency test")
    revoking = psycopg.connect(database_url)
    revoking.execute(
        "INSERT INTO debit_mandate_changes (account_id, active, reason, principal, token_id)"
        " VALUES (%s, false, 'revoked while a batch comes', 'test', gen_random_uuid())",
        (shop,),
    )

    def batch():
        if path == "gRPC":
            return statuses(service.create_transfers([move(shop, bank, 100)], mode="INDEPENDENT"))
        with psycopg.connect(database_url) as conn:
            try:
                conn.execute(
                    "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
                    " to_account_id, currency_code, amount_cents, initiated_by, resolve_time)"
                    " VALUES (gen_random_uuid(), 'LEDGER', 'COMPLETED', %s, %s, 'EUR', 100,"
                    " 'test', now())",
                    (shop, bank),
                )
            except psycopg.errors.CheckViolation as refused:
                return refused.diag.constraint_name
            return "posted"

    with ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(batch)
        wait_for_a_lock_wait(db)
        revoking.commit()
        revoking.close()
        refused = outcome.result(timeout=60)
    assert refused == (
        [(FAILED, "DEBIT_NOT_ALLOWED")] if path == "gRPC" else "ledger_debit_allowed"
    )
    assert balances(admin, shop, bank) == [1_000, 0]


def test_concurrent_batches_never_credit_past_the_maximum_balance(
    service, admin, settlement, open_account, settings
):
    """The maximum balance is decided under the row locks the batches take:
    of batches racing to fill one account, only those that fit post."""
    max_cents = settings.unverified_max_balance_cents
    alice = open_account(balance_cents=max_cents - 100)
    banks = [settlement(balance_cents=1_000) for _ in range(4)]
    results = run_together(
        [
            lambda bank=bank: service.create_transfers([move(bank, alice, 60)], mode="INDEPENDENT")
            for bank in banks
        ]
    )
    outcomes = sorted(statuses(response)[0] for response in results)
    assert outcomes == [(CREATED, "")] + [(FAILED, "LIMIT_EXCEEDED")] * 3
    assert balances(admin, alice) == [max_cents - 40]
