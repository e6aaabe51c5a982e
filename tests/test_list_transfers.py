"""History of one account: newest first, opaque page tokens, filters."""

import datetime

import pytest

from envoi.client import errors
from envoi.v1 import identity_pb2, transfer_pb2


@pytest.fixture(scope="module")
def history(wallet, open_account):
    """Alice pays Bob 5 times (3 confirmed, 1 cancelled, 1 pending); Bob pays her twice."""
    alice, bob = open_account(balance_cents=10_000), open_account(balance_cents=10_000)
    made = []
    for n in range(5):
        transfer = wallet.initiate_transfer(alice, bob, 100 + n)
        if n < 3:
            transfer = wallet.confirm_transfer(transfer.transfer_id, "123456")
        elif n == 3:
            transfer = wallet.cancel_transfer(transfer.transfer_id)
        made.append(transfer)
    for n in range(2):
        transfer = wallet.initiate_transfer(bob, alice, 200 + n)
        made.append(wallet.confirm_transfer(transfer.transfer_id, "123456"))
    return alice, bob, made


def test_pages_walk_the_whole_history_newest_first(wallet, history):
    alice, _, made = history
    seen, token, pages = [], "", 0
    while True:
        page = wallet.list_transfers(alice, page_size=3, page_token=token)
        assert len(page.transfers) <= 3
        seen += [t.transfer_id for t in page.transfers]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    # Seven payments plus the funding credit, newest first, none twice.
    assert pages == 3
    assert seen[:7] == [t.transfer_id for t in reversed(made)]
    assert len(seen) == len(set(seen)) == 8


def test_filters_by_direction_and_state(wallet, history):
    alice, _, made = history
    outgoing = list(wallet.iter_transfers(alice, direction="OUTGOING"))
    assert [t.amount.amount_cents for t in outgoing] == [104, 103, 102, 101, 100]
    incoming = list(wallet.iter_transfers(alice, direction="INCOMING"))
    assert [t.amount.amount_cents for t in incoming][:2] == [201, 200]
    assert all(t.to_account_id == alice for t in incoming)
    pending_or_cancelled = list(
        wallet.iter_transfers(alice, states=["PENDING_CONFIRMATION", "CANCELLED"])
    )
    assert [t.state for t in pending_or_cancelled] == [
        transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION,
        transfer_pb2.TRANSFER_STATE_CANCELLED,
    ]
    completed_out = list(
        wallet.iter_transfers(alice, states=["COMPLETED"], direction="OUTGOING", page_size=1)
    )
    assert [t.amount.amount_cents for t in completed_out] == [102, 101, 100]


def test_a_page_token_is_bound_to_its_filters(wallet, history):
    alice, bob, _ = history
    token = wallet.list_transfers(alice, page_size=1).next_page_token
    assert token
    for changed in ({"direction": "OUTGOING"}, {"states": ["COMPLETED"]}):
        with pytest.raises(errors.InvalidPageToken):
            wallet.list_transfers(alice, page_size=1, page_token=token, **changed)
    with pytest.raises(errors.InvalidPageToken):
        wallet.list_transfers(bob, page_size=1, page_token=token)
    with pytest.raises(errors.InvalidPageToken):
        wallet.list_transfers(alice, page_token="not-a-token")


def test_an_unknown_account_has_no_history(wallet):
    with pytest.raises(errors.AccountNotFound):
        wallet.list_transfers("00000000-0000-4000-8000-000000000000")


def test_the_history_names_both_sides(wallet, admin, twitter_channel, open_account):
    alice = wallet.open_account("PERSON", "Alice Martin", "123456").account_id
    bob = wallet.open_account("PERSON", "Bob Durand", "123456").account_id
    admin.credit_account(alice, 2_000)
    paid = wallet.confirm_transfer(wallet.initiate_transfer(alice, bob, 100).transfer_id, "123456")
    assert (paid.from_display_name, paid.to_display_name) == ("Alice Martin", "Bob Durand")
    # Money waiting in escrow shows the handle it waits for.
    wallet.link_identity(alice, identity_pb2.Identity(namespace="twitter", subject_id="hn-1"))
    waiting = twitter_channel.initiate_transfer(
        identity_pb2.Identity(namespace="twitter", subject_id="hn-1"),
        identity_pb2.Identity(namespace="twitter", subject_id="hn-2", handle="newbie"),
        200,
        channel_reference="post:1",
    )
    history = {t.transfer_id: t for t in wallet.iter_transfers(alice)}
    assert history[waiting.transfer_id].to_display_name == "@newbie"
    assert history[waiting.transfer_id].channel == "twitter"
    assert history[paid.transfer_id].to_display_name == "Bob Durand"


def test_filters_by_time_range_and_counterpart(wallet, open_account):
    alice, bob, carol = open_account(balance_cents=5_000), open_account(), open_account()
    to_bob = wallet.initiate_transfer(alice, bob, 100)
    to_carol = wallet.initiate_transfer(alice, carol, 200)
    from_bob = wallet.initiate_transfer(open_account(balance_cents=500), alice, 50)
    with_bob = [t.transfer_id for t in wallet.iter_transfers(alice, counterpart_account_id=bob)]
    assert with_bob == [to_bob.transfer_id]
    assert from_bob.transfer_id not in with_bob

    middle = to_carol.create_time.ToDatetime(datetime.timezone.utc)
    since = [t.transfer_id for t in wallet.iter_transfers(alice, start_time=middle)]
    assert since == [from_bob.transfer_id, to_carol.transfer_id]
    before = [t.transfer_id for t in wallet.iter_transfers(alice, end_time=middle)]
    assert to_bob.transfer_id in before and to_carol.transfer_id not in before
    with pytest.raises(errors.InvalidArgument) as bad:
        wallet.list_transfers(alice, start_time=middle, end_time=middle)
    assert "end_time" in bad.value.field_violations


def test_the_confirmation_screen_lists_what_waits_for_the_code(wallet, open_account):
    alice, bob = open_account(balance_cents=5_000), open_account()
    first = wallet.initiate_transfer(alice, bob, 100)
    second = wallet.initiate_transfer(alice, bob, 200)
    third = wallet.initiate_transfer(alice, bob, 300)
    wallet.confirm_transfer(second.transfer_id, "123456")
    wallet.initiate_transfer(open_account(balance_cents=500), alice, 50)  # not Alice's to confirm
    page = wallet.list_pending_confirmations(alice, page_size=1)
    assert [t.transfer_id for t in page.transfers] == [first.transfer_id]  # oldest first
    rest = wallet.list_pending_confirmations(alice, page_token=page.next_page_token)
    assert [t.transfer_id for t in rest.transfers] == [third.transfer_id]
    assert not rest.next_page_token
    assert rest.transfers[0].to_display_name  # the screen says whom it pays
