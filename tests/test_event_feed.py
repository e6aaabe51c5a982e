"""EventService.ListEvents: the outbox in order, resumable, with no gap."""

import uuid

import psycopg
import pytest

from envoi.client import errors
from envoi.v1 import event_pb2


def read_all(client, cursor="") -> tuple[list, str]:
    events = []
    while True:
        page = client.list_events(cursor, page_size=3)
        events += page.events
        if page.next_cursor == cursor:
            return events, cursor
        cursor = page.next_cursor


def test_a_channel_reads_its_own_events_in_order_and_resumes(
    twitter_channel, wallet, admin, open_account, posted_by
):
    _, start = read_all(twitter_channel)
    alice, bob = open_account(balance_cents=5_000), open_account()
    alice_posting = posted_by(alice)
    mine = twitter_channel.initiate_transfer(alice_posting, bob, 100)
    wallet.initiate_transfer(alice, bob, 200)  # not the channel's: never shown to it
    wallet.confirm_transfer(mine.transfer_id, "123456")
    events, cursor = read_all(twitter_channel, start)
    assert [(e.type, e.transfer.transfer_id) for e in events] == [
        (event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED, mine.transfer_id),
        (event_pb2.EVENT_TYPE_TRANSFER_COMPLETED, mine.transfer_id),
    ]
    # Resuming from the cursor repeats nothing; the next event follows.
    assert read_all(twitter_channel, cursor)[0] == []
    other = twitter_channel.initiate_transfer(alice_posting, bob, 300)
    assert [e.transfer.transfer_id for e in read_all(twitter_channel, cursor)[0]] == [
        other.transfer_id
    ]
    # An admin sees every event.
    assert len(read_all(admin, start)[0]) >= 4


def test_a_channel_moves_past_others_events_instead_of_scanning_them_again(
    twitter_channel, wallet, open_account, posted_by
):
    _, start = read_all(twitter_channel)
    alice, bob = open_account(balance_cents=5_000), open_account()
    for _ in range(25):  # events that are not the channel's
        wallet.initiate_transfer(alice, bob, 1)
    page = twitter_channel.list_events(start, page_size=2)  # looks at 20 events at most
    assert list(page.events) == [] and page.next_cursor != start
    mine = twitter_channel.initiate_transfer(posted_by(alice), bob, 100)
    events, _ = read_all(twitter_channel, page.next_cursor)
    assert [e.transfer.transfer_id for e in events] == [mine.transfer_id]


def test_an_event_committed_late_is_not_skipped(admin, open_account, database_url):
    _, start = read_all(admin)
    payer, payee, credited = open_account(balance_cents=500), open_account(), open_account()
    # An older transaction writes an event (a payment on hold) and stays open...
    slow = psycopg.connect(database_url)
    held = uuid.uuid4()
    slow.execute(
        "INSERT INTO transfers (transfer_id, kind, state, from_account_id,"
        " to_account_id, currency_code, amount_cents, initiated_by, expire_time)"
        " VALUES (%s, 'PAYMENT', 'PENDING_CONFIRMATION', %s, %s, 'EUR', 100, 'test',"
        " now() + interval '1 hour')",
        (held, payer, payee),
    )
    try:
        # ...while a younger one commits. Its event must wait, or a reader
        # would move past the older event before it is visible.
        credit = admin.credit_account(credited, 2)
        seen, cursor = read_all(admin, start)
        assert credit.transfer.transfer_id not in [e.transfer.transfer_id for e in seen]
        slow.commit()
        after, _ = read_all(admin, cursor)
        assert [e.transfer.transfer_id for e in after][-2:] == [
            str(held),
            credit.transfer.transfer_id,
        ]
    finally:
        slow.close()


def test_a_cursor_that_was_not_handed_out_is_refused(twitter_channel):
    with pytest.raises(errors.InvalidPageToken):
        twitter_channel.list_events("not-a-cursor")
