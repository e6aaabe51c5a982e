"""Group commit: the core operations of concurrent RPCs share transactions
(core/ledger/group_commit.py), and each keeps its own answer, refusal and
request id: a failing call never fails its neighbours."""

import uuid

import psycopg
from concurrently import run_together
from psycopg.types.json import Jsonb

from envoi.client import errors
from envoi.core.ledger import refusals


def test_concurrent_payments_commit_in_fewer_transactions_each_with_its_own_answer(
    wallet, open_account, grpc_server
):
    ledger = grpc_server.running.ledger
    payers = [open_account(balance_cents=1_000) for _ in range(12)]
    broke = [open_account() for _ in range(12)]  # nothing to send: refused
    payee = open_account()
    batches_before, calls_before = ledger.batches_committed, ledger.calls_committed
    results = run_together(
        [lambda a=alice: wallet.initiate_transfer(a, payee, 400) for alice in payers]
        + [lambda b=bob: wallet.initiate_transfer(b, payee, 400) for bob in broke]
    )
    paid, refused = results[:12], results[12:]
    assert all(not isinstance(result, errors.EnvoiError) for result in paid), paid
    assert all(isinstance(result, errors.InsufficientFunds) for result in refused), refused
    assert ledger.calls_committed - calls_before == 24
    assert ledger.batches_committed - batches_before < 24
    for alice in payers:
        assert wallet.get_balance(alice).held.amount_cents == 400
    for bob in broke:
        assert wallet.get_balance(bob).held.amount_cents == 0


def call(op: str, **arguments) -> dict:
    return {
        "op": op,
        "principal": "wallet",
        "request_id": str(uuid.uuid4()),
        "method": f"/test/{op}",
        "request_hmac": uuid.uuid4().hex,
        "money_refusals": {},
        "initiated_by": "wallet",
        "memo": "",
        "channel_reference": "",
        "currency_code": "EUR",
        **arguments,
    }


def test_in_one_batch_a_refused_call_and_a_failing_one_leave_their_neighbours_be(
    db, open_account, settings
):
    alice, bob = open_account(balance_cents=1_000), open_account()
    calls = [
        call("transfer_initiate", from_account_id=alice, to_account_id=bob, amount_cents=100),
        call("transfer_initiate", from_account_id=bob, to_account_id=alice, amount_cents=100),
        call("no_such_operation"),
        call("transfer_initiate", from_account_id=alice, to_account_id=bob, amount_cents=200),
    ]
    answers = db.execute(
        "SELECT ledger_calls(%s, %s)", (Jsonb(calls), refusals.rules(settings))
    ).fetchone()[0]
    assert answers[0]["transfer"]["state"] == "PENDING_CONFIRMATION"
    assert answers[1]["error"]["reason"] == "INSUFFICIENT_FUNDS"
    assert answers[2]["failed"]["message"] == "no ledger operation no_such_operation"
    assert answers[3]["transfer"]["amount_cents"] == 200
    held = db.execute("SELECT held_cents FROM accounts WHERE account_id = %s", (alice,)).fetchone()[
        0
    ]
    assert held == 300
    kept = db.execute(
        "SELECT request_id FROM idempotency_keys WHERE request_id = ANY(%s)",
        ([c["request_id"] for c in calls],),
    ).fetchall()
    assert {row[0] for row in kept} == {calls[0]["request_id"], calls[3]["request_id"]}


def test_a_refusal_raised_inside_the_database_is_a_typed_error(db):
    try:
        db.execute("SELECT refuse(refusal('LIMIT_EXCEEDED', 'too much', '{\"limit\": \"DAILY\"}'))")
    except psycopg.Error as exc:
        error = refusals.error_for_exception(exc)
    assert isinstance(error, errors.LimitExceeded)
    assert (error.message, error.metadata) == ("too much", {"limit": "DAILY"})
