"""Collections (migration 0011, CollectionService): paid into by ordinary
payments, closed to the owner or cancelled back to every contributor, with
exact totals and no money lost or created (the invariants run after each test)."""

import datetime
import uuid

import psycopg
import pytest

from envoi.client import errors
from envoi.core.testing import TEST_SIREN
from envoi.v1 import collection_pb2, event_pb2, money_pb2, transfer_pb2, transfer_service_pb2

OPEN = collection_pb2.COLLECTION_STATE_OPEN
CLOSED = collection_pb2.COLLECTION_STATE_CLOSED
CANCELLED = collection_pb2.COLLECTION_STATE_CANCELLED
COMPLETED = transfer_pb2.TRANSFER_STATE_COMPLETED
TRANSFER_CANCELLED = transfer_pb2.TRANSFER_STATE_CANCELLED
TRANSFER_KIND_PAYMENT = transfer_pb2.TRANSFER_KIND_PAYMENT
TRANSFER_KIND_REFUND = transfer_pb2.TRANSFER_KIND_REFUND


def tag() -> str:
    return "Drive" + uuid.uuid4().hex[:10]


def pay(client, sender, recipient, amount_cents, code="123456"):
    transfer = client.initiate_transfer(sender, recipient, amount_cents)
    return client.confirm_transfer(transfer.transfer_id, code)


def balance(client, account_id) -> int:
    return client.get_balance(account_id).balance.amount_cents


@pytest.fixture(scope="module")
def association(open_account):
    return open_account("ASSOCIATION", code="111111")


def test_create_pay_by_hashtag_and_read_the_totals(wallet, open_account, association):
    hashtag = tag()
    collection = wallet.create_collection(
        association, "Téléthon", "#" + hashtag, target_cents=10_000
    )
    assert collection.state == OPEN and collection.accepting_payments
    assert collection.hashtag == hashtag and collection.target.amount_cents == 10_000
    alice, bob = open_account(balance_cents=5_000), open_account(balance_cents=5_000)
    first = pay(wallet, alice, "#" + hashtag.lower(), 500)
    assert first.state == COMPLETED and first.collection_id == collection.collection_id
    assert first.to_account_id == collection.collection_id
    pay(wallet, alice, "#" + hashtag, 250)
    pay(wallet, bob, "#" + hashtag.upper(), 1_250)
    read = wallet.get_collection(collection.collection_id)
    assert read.collected.amount_cents == 2_000
    assert read.contributor_count == 2
    assert read.progress_basis_points == 2_000  # 20 %
    assert wallet.get_collection(hashtag=hashtag.lower()) == read
    assert balance(wallet, alice) == 4_250 and balance(wallet, bob) == 3_750


def test_pay_by_collection_id(wallet, open_account, association):
    collection = wallet.create_collection(association, "Drive", tag())
    alice = open_account(balance_cents=1_000)
    request = transfer_service_pb2.InitiateTransferRequest(
        request_id=str(uuid.uuid4()),
        from_account_id=alice,
        to_collection_id=collection.collection_id,
        amount=money_pb2.Money(currency_code="EUR", amount_cents=300),
    )
    pending = wallet.call(wallet.transfers.InitiateTransfer, request).transfer
    wallet.confirm_transfer(pending.transfer_id, "123456")
    assert wallet.get_collection(collection.collection_id).collected.amount_cents == 300
    assert wallet.get_collection(collection.collection_id).progress_basis_points == 0


def test_close_pays_the_owner_everything_once(wallet, open_account, association):
    owner = open_account()
    collection = wallet.create_collection(owner, "Birthday", tag())
    payers = [open_account(balance_cents=1_000) for _ in range(3)]
    for n, payer in enumerate(payers):
        pay(wallet, payer, "#" + collection.hashtag, 100 * (n + 1))
    request_id = str(uuid.uuid4())
    closed = wallet.close_collection(collection.collection_id, request_id=request_id)
    assert closed.state == CLOSED and not closed.accepting_payments
    assert closed.collected.amount_cents == 600 and closed.payout_transfer_id
    assert balance(wallet, owner) == 600
    payout = wallet.get_transfer(closed.payout_transfer_id)
    assert payout.kind == transfer_pb2.TRANSFER_KIND_COLLECTION_PAYOUT
    assert (payout.to_account_id, payout.amount.amount_cents) == (owner, 600)
    # A retry gets the same answer; another close or a cancel is refused.
    assert wallet.close_collection(collection.collection_id, request_id=request_id) == closed
    with pytest.raises(errors.CollectionNotOpen) as refused:
        wallet.cancel_collection(collection.collection_id)
    assert refused.value.metadata == {
        "collection_id": collection.collection_id,
        "state": "CLOSED",
        "deadline_passed": "false",
    }
    assert balance(wallet, owner) == 600
    with pytest.raises(errors.CollectionNotOpen):
        wallet.initiate_transfer(payers[0], "#" + collection.hashtag, 100)


def test_closing_an_empty_collection_pays_nothing(wallet, association):
    collection = wallet.create_collection(association, "Empty", tag())
    closed = wallet.close_collection(collection.collection_id)
    assert closed.state == CLOSED and closed.payout_transfer_id == ""


def test_cancel_pays_every_contribution_back(wallet, open_account, association, database_url):
    collection = wallet.create_collection(association, "Cancelled", tag(), target_cents=50_000)
    payers = [open_account(balance_cents=10_000) for _ in range(4)]
    paid = {payer: 0 for payer in payers}
    for n in range(10):
        payer = payers[n % 4]
        pay(wallet, payer, "#" + collection.hashtag, 100 + n)
        paid[payer] += 100 + n
    # One pending contribution: cancelling does not touch it; it cannot complete.
    pending = wallet.initiate_transfer(payers[0], "#" + collection.hashtag, 50)
    response = wallet.cancel_collection(collection.collection_id)
    assert response.collection.state == CANCELLED and response.refund_count == 10
    assert response.collection.collected.amount_cents == sum(paid.values())
    for payer in payers:
        assert balance(wallet, payer) == 10_000
    with pytest.raises(errors.CollectionNotOpen):
        wallet.confirm_transfer(pending.transfer_id, "123456")
    assert wallet.get_transfer(pending.transfer_id).state == TRANSFER_CANCELLED
    assert wallet.get_balance(payers[0]).held.amount_cents == 0
    # Each is a REFUND naming its contribution, as a merchant's refund names its
    # payment: the payer's history links the two.
    for payer in payers:
        history = wallet.list_transfers(payer, page_size=100).transfers
        contributions = {t.transfer_id: t for t in history if t.kind == TRANSFER_KIND_PAYMENT}
        refunds = [t for t in history if t.kind == TRANSFER_KIND_REFUND]
        completed = {i for i, t in contributions.items() if t.state == COMPLETED}
        assert sorted(r.refund_of for r in refunds) == sorted(completed)
        for refund in refunds:
            assert refund.amount.amount_cents == contributions[refund.refund_of].amount.amount_cents
            assert refund.collection_id == collection.collection_id
    with psycopg.connect(database_url) as conn:
        refunds = conn.execute(
            "SELECT count(*) FROM transfers WHERE collection_id = %s AND kind = 'REFUND'",
            (collection.collection_id,),
        ).fetchone()[0]
    assert refunds == 10


def test_a_contribution_pending_at_close_fails_at_confirmation_and_is_released(
    wallet, open_account, association
):
    collection = wallet.create_collection(association, "Closing", tag())
    alice = open_account(balance_cents=1_000)
    pending = wallet.initiate_transfer(alice, "#" + collection.hashtag, 400)
    assert wallet.get_balance(alice).held.amount_cents == 400
    wallet.close_collection(collection.collection_id)
    request_id = str(uuid.uuid4())
    with pytest.raises(errors.CollectionNotOpen):
        wallet.confirm_transfer(pending.transfer_id, "123456", request_id=request_id)
    # Kept for the request_id: the hold was released when it was answered.
    with pytest.raises(errors.CollectionNotOpen):
        wallet.confirm_transfer(pending.transfer_id, "123456", request_id=request_id)
    assert wallet.get_transfer(pending.transfer_id).state == TRANSFER_CANCELLED
    assert wallet.get_balance(alice).available.amount_cents == 1_000


def test_a_past_deadline_refuses_payments(wallet, open_account, association, database_url):
    deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    collection = wallet.create_collection(association, "Soon", tag(), deadline_time=deadline)
    alice = open_account(balance_cents=1_000)
    pending = wallet.initiate_transfer(alice, "#" + collection.hashtag, 100)
    with psycopg.connect(database_url) as conn:  # time passes: move the deadline back
        conn.execute("SET session_replication_role = replica")  # past the change trigger
        conn.execute(
            "UPDATE collections SET deadline_time = now() - interval '1 second'"
            " WHERE collection_id = %s",
            (collection.collection_id,),
        )
    with pytest.raises(errors.CollectionNotOpen) as refused:
        wallet.initiate_transfer(alice, "#" + collection.hashtag, 100)
    assert refused.value.metadata["deadline_passed"] == "true"
    with pytest.raises(errors.CollectionNotOpen):
        wallet.confirm_transfer(pending.transfer_id, "123456")
    read = wallet.get_collection(collection.collection_id)
    assert read.state == OPEN and not read.accepting_payments
    # The owner still closes it (nothing was collected) or cancels it.
    assert wallet.close_collection(collection.collection_id).state == CLOSED


def test_caps_follow_the_owner(wallet, open_account, association):
    person = open_account()
    to_person = wallet.create_collection(person, "Gift", tag())
    to_association = wallet.create_collection(association, "Gala", tag())
    rich = open_account(balance_cents=200_000, tier="VERIFIED")
    with pytest.raises(errors.LimitExceeded) as capped:
        wallet.initiate_transfer(rich, "#" + to_person.hashtag, 25_001)
    assert capped.value.metadata == {"limit": "PER_TRANSFER", "limit_cents": "25000"}
    wallet.initiate_transfer(rich, "#" + to_person.hashtag, 25_000)
    wallet.initiate_transfer(rich, "#" + to_association.hashtag, 50_000)
    with pytest.raises(errors.LimitExceeded):
        wallet.initiate_transfer(rich, "#" + to_association.hashtag, 50_001)


def test_an_association_owns_and_is_paid_through_a_collection_only_while_verified(
    wallet, admin, open_account
):
    unverified = open_account("ASSOCIATION", verified=False)
    with pytest.raises(errors.RecipientNotVerified):
        wallet.create_collection(unverified, "Gala", tag())
    association = open_account("ASSOCIATION")
    gala = wallet.create_collection(association, "Gala", tag())
    payer = open_account(balance_cents=1_000)
    wallet.initiate_transfer(payer, "#" + gala.hashtag, 100)
    admin.set_business_profile(association, "Asso", TEST_SIREN, verified=False)
    with pytest.raises(errors.RecipientNotVerified):
        wallet.initiate_transfer(payer, "#" + gala.hashtag, 100)


def test_hashtags_are_unique_among_open_collections_and_checked(wallet, association):
    hashtag = tag()
    first = wallet.create_collection(association, "One", hashtag)
    with pytest.raises(errors.CollectionHashtagTaken):
        wallet.create_collection(association, "Two", hashtag.upper())
    for bad in ("envoyer", "#SEND", "ab", "a-b", "123", "x" * 51, "#"):
        with pytest.raises(errors.InvalidArgument) as refused:
            wallet.create_collection(association, "Bad", bad)
        assert set(refused.value.field_violations) == {"hashtag"}
    wallet.cancel_collection(first.collection_id)
    # Once it is no longer open, the hashtag is free again (a yearly drive).
    second = wallet.create_collection(association, "Two", hashtag)
    assert wallet.get_collection(hashtag=hashtag).collection_id == second.collection_id


def test_unknown_collections(wallet, open_account):
    alice = open_account(balance_cents=100)
    with pytest.raises(errors.CollectionNotFound) as missing:
        wallet.initiate_transfer(alice, "#NoSuchDrive", 100)
    assert missing.value.metadata == {"hashtag": "NoSuchDrive"}
    with pytest.raises(errors.CollectionNotFound):
        wallet.get_collection(str(uuid.uuid4()))
    with pytest.raises(errors.CollectionNotFound):
        wallet.close_collection(str(uuid.uuid4()))


def test_a_collection_is_no_account_for_the_other_apis(wallet, admin, open_account, association):
    collection = wallet.create_collection(association, "Hidden", tag())
    alice = open_account(balance_cents=500)
    pay(wallet, alice, "#" + collection.hashtag, 200)
    with pytest.raises(errors.AccountNotFound):
        wallet.get_balance(collection.collection_id)
    with pytest.raises(errors.AccountNotFound):  # only as to_collection_id
        wallet.initiate_transfer(alice, collection.collection_id, 100)
    with pytest.raises(errors.AccountNotFound):  # it never pays anyone by itself
        wallet.initiate_transfer(collection.collection_id, alice, 100)
    with pytest.raises(errors.AccountNotFound):
        admin.credit_account(collection.collection_id, 100)
    results = admin.create_transfers(
        [{"from_account_id": collection.collection_id, "to_account_id": alice, "amount_cents": 1}],
        mode="INDEPENDENT",
    )
    assert results.results[0].reason == "ACCOUNT_NOT_FOUND"


def test_roles(client_for, make_token, open_account, wallet, merchant, twitter_channel):
    merchant_id, merchant_client = merchant
    other_merchant = open_account("MERCHANT")
    person = open_account()
    # A wallet token never acts for a merchant; a merchant only for itself.
    with pytest.raises(errors.PermissionDenied):
        wallet.create_collection(merchant_id, "Shop", tag())
    with pytest.raises(errors.PermissionDenied):
        merchant_client.create_collection(person, "Not mine", tag())
    with pytest.raises(errors.PermissionDenied):
        merchant_client.create_collection(other_merchant, "Not mine", tag())
    # No merchant owns a collection (its payments bear its fee): not by its own
    # key (the role table), nor by an admin's (the rule).
    with pytest.raises(errors.PermissionDenied):
        merchant_client.create_collection(merchant_id, "Shop drive", tag())
    with pytest.raises(errors.InvalidArgument) as refused:
        client_for(make_token("admin")).create_collection(merchant_id, "Shop drive", tag())
    assert "owner_account_id" in refused.value.field_violations
    theirs = wallet.create_collection(person, "Theirs", tag())
    with pytest.raises(errors.PermissionDenied):
        merchant_client.cancel_collection(theirs.collection_id)
    with pytest.raises(errors.PermissionDenied):  # the role table: no channel
        twitter_channel.create_collection(person, "Channel", tag())
    with pytest.raises(errors.PermissionDenied):
        twitter_channel.close_collection(theirs.collection_id)
    # Anyone asked to pay may read a collection.
    assert twitter_channel.get_collection(hashtag=theirs.hashtag).title == "Theirs"
    assert merchant_client.get_collection(theirs.collection_id).title == "Theirs"
    ledger = client_for(make_token("ledger"))
    with pytest.raises(errors.PermissionDenied):
        ledger.get_collection(theirs.collection_id)


def test_the_owner_is_told_and_contributors_are_refunded_in_events(
    admin, wallet, open_account, association
):
    owner = open_account()
    collection = wallet.create_collection(owner, "Events", tag())
    alice = open_account(balance_cents=1_000)
    pay(wallet, alice, "#" + collection.hashtag, 300)
    wallet.cancel_collection(collection.collection_id)
    events = []
    cursor = ""
    while True:
        page = admin.list_events(after_cursor=cursor, page_size=1000)
        events += page.events
        if page.next_cursor == cursor:
            break
        cursor = page.next_cursor
    about = [e for e in events if e.collection.collection_id == collection.collection_id]
    assert [e.type for e in about] == [event_pb2.EVENT_TYPE_COLLECTION_CANCELLED]
    assert about[0].collection.state == CANCELLED
    refunds = [
        e
        for e in events
        if e.transfer.collection_id == collection.collection_id
        and e.transfer.kind == transfer_pb2.TRANSFER_KIND_REFUND
    ]
    assert [(e.type, e.transfer.to_account_id) for e in refunds] == [
        (event_pb2.EVENT_TYPE_TRANSFER_COMPLETED, alice)
    ]


def test_the_owners_stream_shows_contributions_and_the_close(wallet, open_account):
    owner = open_account()
    collection = wallet.create_collection(owner, "Watched", tag())
    alice = open_account(balance_cents=1_000)
    pay(wallet, alice, "#" + collection.hashtag, 300)
    wallet.close_collection(collection.collection_id)
    seen = []
    for event in wallet.watch_events(owner):
        seen.append(event.type)
        if event.type == event_pb2.EVENT_TYPE_COLLECTION_CLOSED:
            assert event.collection.collected.amount_cents == 300
            break
    # The contribution completed, the payout completed, then the close.
    assert seen == [
        event_pb2.EVENT_TYPE_TRANSFER_COMPLETED,
        event_pb2.EVENT_TYPE_TRANSFER_COMPLETED,
        event_pb2.EVENT_TYPE_COLLECTION_CLOSED,
    ]


def test_the_database_refuses_what_the_rules_forbid(wallet, open_account, association, db):
    collection = wallet.create_collection(association, "Rules", tag())
    alice = open_account(balance_cents=1_000)
    done = pay(wallet, alice, "#" + collection.hashtag, 100)
    pending = wallet.initiate_transfer(alice, "#" + collection.hashtag, 100)
    wallet.close_collection(collection.collection_id)

    def refused(sql, params):
        with pytest.raises((psycopg.errors.CheckViolation, psycopg.errors.RestrictViolation)):
            with db.transaction():
                db.execute(sql, params)

    # A contribution never completes into a closed collection, even in SQL.
    refused(
        "UPDATE transfers SET state = 'COMPLETED', resolve_time = now() WHERE transfer_id = %s",
        (pending.transfer_id,),
    )
    # A collection resolves once and changes nothing else.
    refused(
        "UPDATE collections SET state = 'CANCELLED', resolved_by = 'x' WHERE collection_id = %s",
        (collection.collection_id,),
    )
    refused(
        "UPDATE collections SET title = 'Other' WHERE collection_id = %s",
        (collection.collection_id,),
    )
    # A payout or refund comes from its collection, completed; nothing else does.
    refused(
        "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        " currency_code, amount_cents, initiated_by, resolve_time, collection_id)"
        " VALUES (gen_random_uuid(), 'COLLECTION_REFUND', 'COMPLETED', %s, %s, 'EUR', 1,"
        " 'test', now(), %s)",
        (alice, association, collection.collection_id),
    )
    refused(
        "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
        " currency_code, amount_cents, initiated_by, resolve_time)"
        " VALUES (gen_random_uuid(), 'COLLECTION_PAYOUT', 'COMPLETED', %s, %s, 'EUR', 1,"
        " 'test', now())",
        (collection.collection_id, alice),
    )
    # A contribution goes back only by its collection's cancellation, whole:
    # never as a refund on its own, whatever the path.
    still_open = wallet.create_collection(association, "Open", tag())
    given = pay(wallet, alice, "#" + still_open.hashtag, 100)
    for collection_id in (None, still_open.collection_id):
        refused(
            "INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,"
            " currency_code, amount_cents, initiated_by, resolve_time, collection_id, refund_of)"
            " VALUES (gen_random_uuid(), 'REFUND', 'COMPLETED', %s, %s, 'EUR', 100,"
            " 'test', now(), %s, %s)",
            (still_open.collection_id, alice, collection_id, given.transfer_id),
        )
    # The collection of a transfer never changes.
    other = wallet.create_collection(association, "Other", tag())
    refused(
        "UPDATE transfers SET collection_id = %s, to_account_id = %s WHERE transfer_id = %s",
        (other.collection_id, other.collection_id, pending.transfer_id),
    )
    # A collection has no code: it can never confirm a payment of its own.
    refused(
        "UPDATE accounts SET code_hmac = '\\x00' WHERE account_id = %s",
        (collection.collection_id,),
    )
    assert wallet.get_transfer(done.transfer_id).state == COMPLETED


def test_an_owner_lists_its_collections_newest_first_by_pages(wallet, open_account, merchant):
    owner = open_account()
    made = [wallet.create_collection(owner, f"Drive {n}", tag()) for n in range(5)]
    wallet.close_collection(made[0].collection_id)
    first = wallet.list_collections(owner, page_size=2)
    second = wallet.list_collections(owner, page_size=2, page_token=first.next_page_token)
    third = wallet.list_collections(owner, page_size=2, page_token=second.next_page_token)
    listed = [c.collection_id for page in (first, second, third) for c in page.collections]
    assert listed == [c.collection_id for c in reversed(made)]
    assert third.next_page_token == "" and third.collections[-1].state == CLOSED
    with pytest.raises(errors.InvalidPageToken):
        wallet.list_collections(open_account(), page_token=first.next_page_token)
    merchant_id, merchant_client = merchant
    with pytest.raises(errors.PermissionDenied):
        merchant_client.list_collections(owner)
    with pytest.raises(errors.PermissionDenied):
        wallet.list_collections(merchant_id)


def test_closing_respects_the_owners_maximum_balance(wallet, admin, open_account):
    owner = open_account()  # unverified: at most 150,000 cents
    collection = wallet.create_collection(owner, "Big", tag())
    for _ in range(7):
        pay(wallet, open_account(balance_cents=25_000), "#" + collection.hashtag, 25_000)
    with pytest.raises(errors.LimitExceeded) as refused:
        wallet.close_collection(collection.collection_id)
    assert refused.value.metadata["limit"] == "MAX_BALANCE"
    assert wallet.get_collection(collection.collection_id).state == OPEN
    admin.set_account_tier(owner, "VERIFIED")
    assert wallet.close_collection(collection.collection_id).state == CLOSED
    assert balance(wallet, owner) == 175_000
