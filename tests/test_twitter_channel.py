"""The Twitter/X channel end to end: real tweepy against the local X API
emulator over HTTP, envoi's real gRPC server, the real gateway and database."""

import base64
import datetime
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envoi.channels import notifier
from envoi.channels.gateway_store import GatewayStore
from envoi.channels.grammar import Grammar
from envoi.channels.twitter.account_activity import posts_in
from envoi.channels.twitter.channel import WEBHOOK_PATH
from envoi.channels.twitter.x_api_emulator import XApiEmulator
from envoi.core import maintenance
from envoi.v1 import identity_pb2, transfer_pb2

S = transfer_pb2
_names = iter(range(10**6))


def webhook_url(gateway) -> str:
    return f"http://127.0.0.1:{gateway.webhooks.port}{WEBHOOK_PATH}"


def transfers_of_post(db, post_id) -> list:
    return db.execute(
        "SELECT transfer_id, state FROM transfers WHERE channel_reference IN (%s, %s)",
        (f"post:{post_id}", f"dm:dm{post_id}"),
    ).fetchall()


def deliver(x, gateway, post, bot, **options):
    return x.deliver_webhook(
        webhook_url(gateway), x.account_activity_payload(post, bot), x.consumer_secret, **options
    )


def texts(replies) -> list[str]:
    return [reply["text"] for reply in replies]


def test_the_crc_challenge_is_answered_with_the_signed_token(x, start_twitter_gateway):
    gateway = start_twitter_gateway()
    token = x.new_crc_token()  # "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0"
    status, body = x.crc_request(webhook_url(gateway), token)
    assert status == 200
    assert body == {"response_token": x.expected_crc_response(token, x.consumer_secret)}


def test_a_crc_signs_no_forged_delivery_so_posting_it_gets_401(
    x, bot, start_twitter_gateway, person, db
):
    """Issue 13, finding 1: the CRC signed any crc_token, and deliveries are
    signed with the same formula, so a forged body sent as the token came back
    with its valid signature."""
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(50_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 250€ @{bob['username']}")
    forged = json.dumps(x.account_activity_payload(post, bot), separators=(",", ":"))
    crc_status, answer = x.crc_request(webhook_url(gateway), forged)
    stolen_signature = (answer or {}).get("response_token", "")  # what the attack would get
    status, _ = x.deliver_webhook(
        webhook_url(gateway), forged.encode(), x.consumer_secret, signature=stolen_signature
    )
    assert (crc_status, stolen_signature, status) == (400, "", 401)
    assert transfers_of_post(db, post["id"]) == []


@pytest.mark.parametrize(
    "crc_token",
    [
        "",
        "challenge-123",
        "3dd82dfc-b9db-46d8-940e-3bcc903d8244",  # a UUID, not its base64
        base64.b64encode(b"3DD82DFC-B9DB-46D8-940E-3BCC903D8244").decode(),  # not canonical
        base64.b64encode(b"x" * 36).decode(),  # 48 characters, not a UUID
        base64.b64encode(b'{"tweet_create_events":[1]}').decode(),
        "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0\n",
        "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0==",  # padding it never has
    ],
)
def test_the_crc_answers_400_to_a_token_x_would_not_send(x, start_twitter_gateway, crc_token):
    gateway = start_twitter_gateway()
    status, answer = x.crc_request(webhook_url(gateway), crc_token)
    assert status == 400 and "response_token" not in answer


@pytest.mark.parametrize(
    "crc_token",
    [
        "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0",  # from a real X CRC request
        XApiEmulator.new_crc_token(),
    ],
    ids=["from-x", "from-the-emulator"],
)
def test_the_crc_answers_a_token_of_x_s_shape(x, start_twitter_gateway, crc_token):
    gateway = start_twitter_gateway()
    status, answer = x.crc_request(webhook_url(gateway), crc_token)
    assert status == 200
    assert answer == {"response_token": x.expected_crc_response(crc_token, x.consumer_secret)}


def test_a_signed_delivery_starts_one_payment_even_replayed(
    x, bot, start_twitter_gateway, person, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 10€ @{bob['username']} merci !")
    for _ in range(3):  # delivered, then replayed twice
        status, _ = deliver(x, gateway, post, bot)
        assert status == 200
    [(_, state)] = transfers_of_post(db, post["id"])
    assert state == "PENDING_CONFIRMATION"


def forget_request_ids(db) -> None:
    """What a day of maintenance does: the request ids past their retention go."""
    db.execute("UPDATE idempotency_keys SET create_time = now() - interval '2 days'")
    db.execute("DELETE FROM idempotency_keys WHERE create_time < now() - interval '1 day'")


def test_a_delivery_replayed_after_its_request_id_is_forgotten_starts_nothing(
    x, bot, start_twitter_gateway, person, wallet, admin, db
):
    """Issue 13: a genuine delivery replayed after the 24 h purge of request ids
    started a new payment. A post is taken in once, for as long as envoi lives."""
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    paid = x.post(alice, f"@SmoneyFR #envoyer 10€ @{bob['username']}")
    deliver(x, gateway, paid, bot)
    [(transfer_id, _)] = transfers_of_post(db, paid["id"])
    wallet.cancel_transfer(str(transfer_id))
    (carol, carol_account), dave = person(0), person()[0]
    refused = x.post(carol, f"@SmoneyFR #envoyer 10€ @{dave['username']}")
    deliver(x, gateway, refused, bot)  # INSUFFICIENT_FUNDS: refused, nothing started
    assert transfers_of_post(db, refused["id"]) == []
    admin.credit_account(carol_account, 5_000)  # a replay would now find the money
    forget_request_ids(db)
    for post in (paid, refused):
        status, _ = deliver(x, gateway, post, bot)
        assert status == 200
    assert [state for _, state in transfers_of_post(db, paid["id"])] == ["CANCELLED"]
    assert transfers_of_post(db, refused["id"]) == []


@pytest.mark.parametrize("signature", ["", "sha256=AAAA", "forged"])
def test_a_bad_or_missing_signature_gets_401_and_records_nothing(
    x, bot, start_twitter_gateway, person, db, signature
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 10€ @{bob['username']}")
    if signature == "forged":  # signed with another secret
        signature = x.signature(b"{}", "not-the-consumer-secret")
    status, _ = deliver(x, gateway, post, bot, signature=signature)
    assert status == 401
    assert transfers_of_post(db, post["id"]) == []
    assert (
        db.execute(
            "SELECT count(*) FROM channel_messages WHERE message_key LIKE %s", (f"%{post['id']}%",)
        ).fetchone()[0]
        == 0
    )


def test_a_post_becomes_a_payment_confirmed_in_the_app_and_both_are_told(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, alice_account), (bob, bob_account) = person(5_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 10,50€ @{bob['username']} pour le pique-nique")
    assert deliver(x, gateway, post, bot)[0] == 200
    gateway.run_once()
    [asked] = texts(x.replies_to(post))
    assert "confirm" in asked and f"@{alice['username']}" in asked
    assert not any(amount in asked for amount in ("10,50", "10.50", "1050", "€"))  # not public

    [(transfer_id, _)] = transfers_of_post(db, post["id"])
    transfer = wallet.get_transfer(str(transfer_id))
    assert (transfer.memo, transfer.amount.amount_cents) == ("pour le pique-nique", 1_050)
    wallet.confirm_transfer(str(transfer_id), "123456")
    gateway.run_once()
    told = texts(x.replies_to(post))[1:]
    assert len(told) == 1 and f"@{bob['username']}" in told[0] and "sent you money" in told[0]
    assert wallet.get_balance(bob_account).balance.amount_cents == 1_050
    assert wallet.get_balance(alice_account).balance.amount_cents == 3_950
    gateway.run_once()  # nothing new: nothing sent again
    assert len(x.replies_to(post)) == 2


def test_webhook_and_polling_of_one_post_start_one_transfer(
    x, bot, start_twitter_gateway, person, db
):
    gateway = start_twitter_gateway(poll_interval_s=3600)
    (alice, _), (bob, _) = person(5_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 3€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    gateway.run_once()  # polls the mentions timeline too
    assert len(transfers_of_post(db, post["id"])) == 1
    assert len(x.replies_to(post)) == 1


def test_a_restarted_poller_neither_loses_nor_repeats_posts(x, start_twitter_gateway, person, db):
    (alice, _), (bob, _) = person(5_000), person()
    first = [x.post(alice, f"@SmoneyFR #envoyer {n}€ @{bob['username']}") for n in (1, 2)]
    start_twitter_gateway(poll_interval_s=3600).run_once()
    later = x.post(alice, f"@SmoneyFR #envoyer 3€ @{bob['username']}")
    restarted = start_twitter_gateway(
        poll_interval_s=3600
    )  # new channel, new gateway: state from the DB
    restarted.run_once()
    for post in first + [later]:
        assert len(transfers_of_post(db, post["id"])) == 1
        assert len(x.replies_to(post)) == 1
    mention_calls = [c for c in x.calls if c["endpoint"] == "get_users_mentions"]
    assert mention_calls[-1]["query"].get("since_id")  # resumed from the saved cursor


def test_a_retweet_of_a_payment_post_moves_nothing(x, bot, start_twitter_gateway, person, db):
    gateway = start_twitter_gateway(poll_interval_s=3600)
    (alice, _), (bob, _) = person(5_000), person()
    (carol, _) = person(5_000)
    original = x.post(alice, f"@SmoneyFR #envoyer 4€ @{bob['username']}")
    retweet = x.post(carol, None, retweet_of=original)
    deliver(x, gateway, retweet, bot)
    gateway.run_once()
    assert transfers_of_post(db, retweet["id"]) == []
    assert x.replies_to(retweet) == []
    assert len(transfers_of_post(db, original["id"])) == 1  # polled: the original only


def test_a_post_that_does_not_parse_gets_the_expected_form_once(
    x, bot, start_twitter_gateway, person
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    post = x.post(alice, f"@SmoneyFR #envoyer 10 @{bob['username']}")  # no currency
    deliver(x, gateway, post, bot)
    deliver(x, gateway, post, bot)
    gateway.run_once()
    [answer] = texts(x.replies_to(post))
    assert "€" in answer and f"@{alice['username']}" in answer


def test_an_unlinked_sender_is_told_privately_to_open_an_account(
    x, bot, start_twitter_gateway, person
):
    gateway = start_twitter_gateway()
    (stranger, _), (bob, _) = person(linked=False), person()
    post = x.post(stranger, f"@SmoneyFR #envoyer 5€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    gateway.run_once()
    assert x.replies_to(post) == []
    [dm] = x.dms_to(stranger)
    assert "envoi" in dm["text"] and "account" in dm["text"]


def test_a_frozen_sender_is_told_privately_and_nothing_is_held(
    x, bot, start_twitter_gateway, person, admin, db
):
    gateway = start_twitter_gateway()
    (alice, alice_id), (bob, _) = person(balance_cents=1_000), person()
    admin.freeze_account(alice_id, "channel test: fraud review")
    post = x.post(alice, f"@SmoneyFR #envoyer 5€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    gateway.run_once()
    assert transfers_of_post(db, post["id"]) == [] and x.replies_to(post) == []
    [dm] = x.dms_to(alice)
    assert "frozen" in dm["text"]
    assert admin.get_balance(alice_id).available.amount_cents == 1_000


def test_money_for_someone_without_an_account_waits_and_is_claimed(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, _), (newcomer, _) = person(5_000), person(linked=False)
    post = x.post(alice, f"@SmoneyFR #envoyer 7€ @{newcomer['username']}")
    deliver(x, gateway, post, bot)
    [(transfer_id, _)] = transfers_of_post(db, post["id"])
    assert (
        wallet.confirm_transfer(str(transfer_id), "123456").state == S.TRANSFER_STATE_AWAITING_CLAIM
    )
    gateway.run_once()
    invitation = texts(x.replies_to(post))[-1]
    assert f"@{newcomer['username']}" in invitation and "14 days" in invitation

    # The newcomer signs in with X in the wallet app (OAuth done by the wallet backend).
    opened = wallet.open_account_response(
        "PERSON",
        "Newcomer",
        "555555",
        identity=identity_pb2.Identity(
            namespace="twitter", subject_id=newcomer["id"], handle=newcomer["username"]
        ),
    )
    assert [t.transfer_id for t in opened.claimed_transfers] == [str(transfer_id)]
    assert wallet.get_balance(opened.account.account_id).balance.amount_cents == 700


def test_unclaimed_money_is_refunded_at_the_deadline_and_both_are_told(
    x, bot, start_twitter_gateway, person, wallet, runtime, db
):
    gateway = start_twitter_gateway()
    (alice, alice_account), (ghost, _) = person(5_000), person(linked=False)
    post = x.post(alice, f"@SmoneyFR #envoyer 8€ @{ghost['username']}")
    deliver(x, gateway, post, bot)
    [(transfer_id, _)] = transfers_of_post(db, post["id"])
    confirmed = wallet.confirm_transfer(str(transfer_id), "123456")
    maintenance.expire_due_transfers(
        runtime, now=confirmed.claim_expire_time.ToDatetime(tzinfo=datetime.timezone.utc)
    )
    gateway.run_once()
    replies = texts(x.replies_to(post))
    # In the order things happened, though all were queued in one relay.
    assert "confirm" in replies[0] and "14 days" in replies[1]
    notices = replies[2:]  # both are told, each in a reply of their own
    assert sorted(text.split()[0] for text in notices) == sorted(
        [f"@{alice['username']}", f"@{ghost['username']}"]
    )
    assert all("went back" in text for text in notices)
    assert wallet.get_balance(alice_account).balance.amount_cents == 5_000


def test_a_rate_limited_reply_is_delayed_then_sent_once(
    x, bot, start_twitter_gateway, person, gateway_pool
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    # Messages earlier tests left retrying (a DM X refused for good is retried
    # with backoff) must not take this test's 429.
    with gateway_pool.connection() as conn:
        conn.execute(
            "UPDATE channel_messages SET not_before = now() + interval '1 hour'"
            " WHERE sent_time IS NULL"
        )
    post = x.post(alice, f"@SmoneyFR #envoyer 2€ @{bob['username']}")
    x.fail_next("create_tweet", 429, reset_in_s=1)
    deliver(x, gateway, post, bot)
    gateway.run_once()
    assert x.replies_to(post) == []  # limited: kept, not dropped
    [message] = [
        m for m in GatewayStore(gateway_pool).messages("twitter") if m["in_reply_to"] == post["id"]
    ]
    assert message["sent_time"] is None and message["attempts"] == 1
    time.sleep(1.2)
    gateway.run_once()
    gateway.run_once()
    assert len(x.replies_to(post)) == 1


def test_a_private_message_payment_gets_private_answers(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    dm = x.send_dm(alice, bot, f"#envoyer 6€ @{bob['username']}")
    assert deliver(x, gateway, dm, bot)[0] == 200
    [(transfer_id, _)] = transfers_of_post(db, dm["id"])
    gateway.run_once()
    [asked] = x.dms_to(alice)
    assert "6,00 €" in asked["text"]  # private: the amount may be said
    wallet.confirm_transfer(str(transfer_id), "123456")
    gateway.run_once()
    assert "6,00 €" in x.dms_to(bob)[-1]["text"]
    assert not [p for p in x.posts_by(bot) if p["text"].count("6,00")]


def test_a_gateway_restarted_mid_stream_loses_and_repeats_nothing(
    x, bot, start_twitter_gateway, person, twitter_client, runtime, db
):
    (alice, _), (bob, _) = person(50_000), person()
    first = start_twitter_gateway()
    posts = [x.post(alice, f"@SmoneyFR #envoyer {n}€ @{bob['username']}") for n in range(1, 6)]
    for post in posts:
        deliver(x, first, post, bot)
    # The first gateway relays one small page of events, then dies.
    notifier.relay_events(first.channels[0], twitter_client, first.store, page_size=2)
    second = start_twitter_gateway()
    second.run_once()
    second.run_once()
    for post in posts:
        assert len(x.replies_to(post)) == 1, post["text"]


def test_handles_replied_to_are_not_recipients():
    # X puts "@bob @SmoneyFR " (who is replied to) before display_text_range.
    text = "@bob @SmoneyFR #envoyer 5€ @carol"

    def mention(handle, user_id):
        start = text.index("@" + handle)
        return {
            "id_str": user_id,
            "screen_name": handle,
            "indices": [start, start + 1 + len(handle)],
        }

    tweet = {
        "id_str": "99",
        "text": text,
        "display_text_range": [15, len(text)],
        "user": {"id_str": "1", "screen_name": "alice"},
        "entities": {
            "user_mentions": [mention("bob", "2"), mention("SmoneyFR", "9"), mention("carol", "3")]
        },
    }
    body = json.dumps({"tweet_create_events": [tweet]}).encode()
    [post] = posts_in(body, bot_user_id="9")
    assert post.text == "@SmoneyFR #envoyer 5€ @carol"  # still addressed to the bot
    assert [m.handle for m in post.mentions] == ["carol"]
    assert Grammar(bot_handle="SmoneyFR").parse(post.text).recipient == "carol"


@pytest.mark.parametrize("preference", ["PRIVATE_MESSAGE", "APP_ONLY"])
def test_each_person_chooses_how_the_channel_tells_them(
    x, bot, start_twitter_gateway, person, wallet, db, preference
):
    gateway = start_twitter_gateway()
    (alice, alice_account), (bob, bob_account) = person(5_000), person()
    wallet.set_notification_preference(alice_account, preference)
    wallet.set_notification_preference(bob_account, preference)
    post = x.post(alice, f"@SmoneyFR #envoyer 4€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    [(transfer_id, _)] = transfers_of_post(db, post["id"])
    wallet.confirm_transfer(str(transfer_id), "123456")
    gateway.run_once()
    assert x.replies_to(post) == []  # nothing public either way
    told = [dm["text"] for person in (alice, bob) for dm in x.dms_to(person)]
    if preference == "APP_ONLY":
        assert told == []
    else:
        assert len(told) == 2 and all("4,00 €" in text for text in told)


def test_a_flood_of_posts_from_one_person_is_dropped_past_its_rate_without_replies(
    x, bot, start_twitter_gateway, person, settings, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(50_000), person()
    posts = [
        x.post(alice, f"@SmoneyFR #envoyer {n}€ @{bob['username']}")
        for n in range(1, settings.identity_rate_burst + 3)
    ]
    for post in posts:
        assert deliver(x, gateway, post, bot)[0] == 200  # taken in: not redelivered
    gateway.run_once()
    taken, dropped = posts[: settings.identity_rate_burst], posts[settings.identity_rate_burst :]
    assert all(len(transfers_of_post(db, post["id"])) == 1 for post in taken)
    assert all(len(x.replies_to(post)) == 1 for post in taken)
    # Past the burst: no payment, and no answer that would flood X in turn.
    assert all(transfers_of_post(db, post["id"]) == [] for post in dropped)
    assert all(x.replies_to(post) == [] for post in dropped)


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def test_fuzzed_webhook_bodies_get_a_clean_answer_and_the_gateway_stays_up(
    x, bot, start_twitter_gateway, person, db
):
    """Signed bodies of every shape: raw bytes, any JSON, and X's own events
    with their fields replaced by anything. The signature is right, so the
    parser itself is what is tried: 200 or 400, never a 500 or a dead gateway."""
    gateway = start_twitter_gateway()
    (alice, _), (bob, _) = person(5_000), person()
    real = x.account_activity_payload(
        x.post(alice, f"@SmoneyFR #envoyer 1€ @{bob['username']}"), bot
    )
    event = real["tweet_create_events"][0]
    mangled_events = st.fixed_dictionaries(
        {"for_user_id": st.one_of(st.just(real["for_user_id"]), JSON_VALUES)},
        optional={
            "tweet_create_events": st.lists(
                st.dictionaries(st.sampled_from(sorted(event)), JSON_VALUES).map(
                    lambda fields: {**event, **fields}
                ),
                max_size=2,
            ),
            "direct_message_events": st.lists(JSON_VALUES, max_size=2),
        },
    )
    statuses = []

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=st.one_of(st.binary(max_size=200), JSON_VALUES, mangled_events))
    def fuzz(body):
        status, _ = x.deliver_webhook(webhook_url(gateway), body, x.consumer_secret)
        statuses.append(status)
        assert status in (200, 400), (status, body)

    fuzz()
    assert {200, 400} <= set(statuses), statuses  # both kinds were tried
    assert x.crc_request(webhook_url(gateway))[0] == 200


def test_a_post_pays_into_a_collection_by_its_hashtag(
    x, bot, start_twitter_gateway, person, open_account, wallet, db
):
    gateway = start_twitter_gateway()
    association = open_account("ASSOCIATION")
    hashtag = f"Telethon{next(_names)}"
    collection = wallet.create_collection(association, "Téléthon", hashtag, target_cents=10_000)
    (alice, alice_account), (carol, _) = person(5_000), person(5_000)
    post = x.post(alice, f"@SmoneyFR #envoyer 5€ #{hashtag} courage !")
    assert deliver(x, gateway, post, bot)[0] == 200
    gateway.run_once()
    [asked] = texts(x.replies_to(post))
    assert "confirm" in asked and f"@{alice['username']}" in asked
    [(transfer_id, _)] = transfers_of_post(db, post["id"])
    transfer = wallet.get_transfer(str(transfer_id))
    assert transfer.collection_id == collection.collection_id and transfer.memo == "courage !"
    wallet.confirm_transfer(str(transfer_id), "123456")
    gateway.run_once()
    thanked = texts(x.replies_to(post))[1:]
    assert len(thanked) == 1 and "thank you" in thanked[0] and "€" not in thanked[0]
    read = wallet.get_collection(hashtag=hashtag)
    assert (read.collected.amount_cents, read.contributor_count) == (500, 1)
    assert read.progress_basis_points == 500
    assert wallet.get_balance(alice_account).balance.amount_cents == 4_500

    # Once closed, a post to it is refused, privately, and nothing is held.
    wallet.close_collection(collection.collection_id)
    late = x.post(carol, f"@SmoneyFR #envoyer 5€ #{hashtag}")
    deliver(x, gateway, late, bot)
    gateway.run_once()
    assert transfers_of_post(db, late["id"]) == []
    [dm] = x.dms_to(carol)
    assert "no longer takes payments" in dm["text"]
    unknown = x.post(carol, "@SmoneyFR #envoyer 5€ #NoSuchDriveAtAll")
    deliver(x, gateway, unknown, bot)
    gateway.run_once()
    assert "No collection has this hashtag." in [dm["text"] for dm in x.dms_to(carol)]


@pytest.mark.parametrize("body", [b'"a string"', b"[]", b"42", b"null"])
def test_only_a_json_object_is_a_delivery(body):
    with pytest.raises(TypeError):
        posts_in(body, bot_user_id="9")


def test_a_handle_x_resolved_for_nobody_is_named_in_the_reply(
    x, bot, start_twitter_gateway, person
):
    gateway = start_twitter_gateway()
    alice, _ = person(5_000)
    post = x.post(alice, "@SmoneyFR #envoyer 5€ @nobody_has_it")  # no such X user
    deliver(x, gateway, post, bot)
    gateway.run_once()
    [answer] = texts(x.replies_to(post))
    assert "@nobody_has_it is not a user we can pay." in answer
