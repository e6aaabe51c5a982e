"""Money requests by post, end to end on X: real tweepy against the local X API
emulator, the real gateway, envoi's real gRPC server and database.
`@SmoneyFR #demander 10€ @bob` asks Bob; he is told, finds it in his wallet,
and pays it with his code or declines it; `#partage` splits an amount."""

import datetime

from test_twitter_channel import deliver, texts

from envoi.core import maintenance
from envoi.v1 import transfer_pb2

CODE = "123456"


def requests_of_post(db, post_id) -> list:
    """(transfer id, payer account, amount) of each request of a post, in the post's order."""
    return db.execute(
        "SELECT transfer_id::text, from_account_id::text, amount_cents FROM transfers"
        " WHERE channel_reference LIKE %s ORDER BY channel_reference",
        (f"post:{post_id}:%",),
    ).fetchall()


def balance_of(wallet, account_id) -> int:
    return wallet.get_balance(account_id).balance.amount_cents


def test_a_request_post_asks_the_payer_who_pays_it_with_his_code(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, alice_account), (bob, bob_account) = person(), person(5_000)
    post = x.post(alice, f"@SmoneyFR #demander 12,50€ @{bob['username']} le resto")
    assert deliver(x, gateway, post, bot)[0] == 200
    [(transfer_id, payer, cents)] = requests_of_post(db, post["id"])
    assert (payer, cents) == (bob_account, 1_250)
    gateway.run_once()
    # Bob is asked in a reply under the post, without the amount (public).
    [asked] = texts(x.replies_to(post))
    assert asked.startswith(f"@{bob['username']} @{alice['username']} asks you for money")
    assert "decline" in asked and "12,50" not in asked
    # His wallet shows the request; nothing is held until he confirms.
    [pending] = wallet.list_pending_confirmations(bob_account).transfers
    assert (pending.transfer_id, pending.requested, pending.memo) == (transfer_id, True, "le resto")
    assert pending.to_identity.handle == alice["username"]
    assert wallet.get_balance(bob_account).held.amount_cents == 0

    wallet.confirm_transfer(transfer_id, CODE)
    gateway.run_once()
    told = texts(x.replies_to(post))[1:]
    assert told == [
        f"@{alice['username']} @{bob['username']} paid your request: it is in your envoi app."
        f" (ref {transfer_id})"
    ]
    assert (balance_of(wallet, alice_account), balance_of(wallet, bob_account)) == (1_250, 3_750)


def test_a_split_asks_each_for_a_share_and_the_first_named_pay_the_odd_cent(
    x, bot, start_twitter_gateway, person, wallet, runtime, db
):
    gateway = start_twitter_gateway()
    (alice, alice_account) = person()
    payers = [person(5_000) for _ in range(3)]
    names = " ".join(f"@{user['username']}" for user, _ in payers)
    post = x.post(alice, f"@SmoneyFR #demander 10€ {names} #partage pizza")
    deliver(x, gateway, post, bot)
    deliver(x, gateway, post, bot)  # delivered twice: asked once
    made = requests_of_post(db, post["id"])
    assert [(payer, cents) for _, payer, cents in made] == [
        (payers[0][1], 334),
        (payers[1][1], 333),
        (payers[2][1], 333),
    ]
    gateway.run_once()
    assert len(x.replies_to(post)) == 3  # each payer is asked
    # One pays, one declines, one lets it expire.
    wallet.confirm_transfer(made[0][0], CODE)
    wallet.cancel_transfer(made[1][0])
    expire_time = wallet.get_transfer(made[2][0]).expire_time.ToDatetime(datetime.timezone.utc)
    maintenance.expire_due_transfers(runtime, now=expire_time + datetime.timedelta(seconds=1))
    gateway.run_once()
    paid, declined, expired = texts(x.replies_to(post))[3:]
    assert "paid your request" in paid and f"@{payers[0][0]['username']}" in paid
    assert "declined or withdrawn" in declined and f"@{payers[1][0]['username']}" in declined
    assert "not answered in time" in expired and f"@{payers[2][0]['username']}" in expired
    assert balance_of(wallet, alice_account) == 334
    assert [balance_of(wallet, account) for _, account in payers] == [4_666, 5_000, 5_000]


def test_a_request_not_answered_in_seven_days_expires_and_the_requester_is_told(
    x, bot, start_twitter_gateway, person, wallet, runtime, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, bob_account) = person(), person(5_000)
    post = x.post(alice, f"@SmoneyFR #demander 5€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    [(transfer_id, _, _)] = requests_of_post(db, post["id"])
    expire_time = wallet.get_transfer(transfer_id).expire_time.ToDatetime(datetime.timezone.utc)
    maintenance.expire_due_transfers(runtime, now=expire_time + datetime.timedelta(seconds=1))
    assert wallet.get_transfer(transfer_id).state == transfer_pb2.TRANSFER_STATE_EXPIRED
    gateway.run_once()
    asked, expired = texts(x.replies_to(post))
    assert expired.startswith(f"@{alice['username']} your request to @{bob['username']}")
    assert "not answered in time" in expired
    assert balance_of(wallet, bob_account) == 5_000


def test_in_a_split_each_payer_is_asked_on_their_own(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, bob_account), (carol, _) = person(), person(), person(linked=False)
    post = x.post(
        alice, f"@SmoneyFR #demander 30€ @{bob['username']} @{carol['username']} #partage"
    )
    deliver(x, gateway, post, bot)
    # Bob is asked for his share; Carol has no envoi account: nothing is kept for her.
    assert [(payer, cents) for _, payer, cents in requests_of_post(db, post["id"])] == [
        (bob_account, 1_500)
    ]
    gateway.run_once()
    [asked] = texts(x.replies_to(post))
    assert asked.startswith(f"@{bob['username']} @{alice['username']} asks you")
    # Alice is told privately who could not be asked, and why.
    [dm] = x.dms_to(alice)
    no_account = "has no envoi account yet: ask again once they have one."
    assert dm["text"] == f"@{carol['username']} {no_account}"


def test_a_request_post_the_grammar_does_not_understand_is_answered(
    x, bot, start_twitter_gateway, person, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, _), (carol, _) = person(), person(), person()
    post = x.post(alice, f"@SmoneyFR #demander 30€ @{bob['username']} @{carol['username']}")
    deliver(x, gateway, post, bot)
    gateway.run_once()
    assert requests_of_post(db, post["id"]) == []
    [answer] = texts(x.replies_to(post))
    assert (
        answer
        == f"@{alice['username']} Ask one person per post, or add #partage to share the amount."
    )


def test_a_request_by_private_message_is_answered_in_private(
    x, bot, start_twitter_gateway, person, wallet, db
):
    gateway = start_twitter_gateway()
    (alice, alice_account), (bob, _) = person(), person(5_000)
    dm = x.send_dm(alice, bot, f"#demander 7€ @{bob['username']} cinéma")
    deliver(x, gateway, dm, bot)
    [(transfer_id, _, cents)] = db.execute(
        "SELECT transfer_id::text, from_account_id, amount_cents FROM transfers"
        " WHERE channel_reference = %s",
        (f"dm:dm{dm['id']}:1",),
    ).fetchall()
    gateway.run_once()
    [asked] = x.dms_to(bob)
    assert asked["text"].startswith(f"@{alice['username']} asks you for 7,00 € (cinéma).")
    wallet.confirm_transfer(transfer_id, CODE)
    gateway.run_once()
    assert x.dms_to(alice)[-1]["text"].startswith(f"@{bob['username']} paid your request of 7,00 €")
    assert balance_of(wallet, alice_account) == cents == 700


def test_an_author_without_an_account_is_told_privately_and_nobody_is_asked(
    x, bot, start_twitter_gateway, person, db
):
    gateway = start_twitter_gateway()
    (stranger, _), (bob, _) = person(linked=False), person()
    post = x.post(stranger, f"@SmoneyFR #demander 5€ @{bob['username']}")
    deliver(x, gateway, post, bot)
    gateway.run_once()
    assert requests_of_post(db, post["id"]) == [] and x.replies_to(post) == []
    [dm] = x.dms_to(stranger)
    assert dm["text"] == "Open your envoi wallet and sign in with this account to ask for money."


def test_a_handle_x_resolved_for_nobody_is_named_and_the_others_are_asked(
    x, bot, start_twitter_gateway, person, db
):
    gateway = start_twitter_gateway()
    (alice, _), (bob, bob_account) = person(), person()
    post = x.post(alice, f"@SmoneyFR #demander 20€ @nobody_has_it @{bob['username']} #partage")
    deliver(x, gateway, post, bot)
    # Shares are of everyone named: Bob is asked for his half, in the post's order (2nd).
    [(_, payer, cents)] = requests_of_post(db, post["id"])
    assert (payer, cents) == (bob_account, 1_000)
    assert db.execute(
        "SELECT channel_reference FROM transfers WHERE channel_reference LIKE %s",
        (f"post:{post['id']}:%",),
    ).fetchall() == [(f"post:{post['id']}:2",)]
    gateway.run_once()
    replies = texts(x.replies_to(post))
    assert f"@{alice['username']} @nobody_has_it is not a user we can ask." in replies
    assert any(text.startswith(f"@{bob['username']} @{alice['username']} asks") for text in replies)
