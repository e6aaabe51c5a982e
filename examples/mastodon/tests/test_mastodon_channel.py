"""The Mastodon channel end to end, built only on envoi's public plugin API and
test kit: a real `envoi serve` (which loads this package through its entry
point and runs the channel's listen() in its gateway), the emulated Mastodon
server over real HTTP, requests as the client."""

import pathlib
import threading
import time

import pytest
from envoi_channel_mastodon import statuses
from envoi_channel_mastodon.channel import MastodonChannel
from envoi_channel_mastodon.config import MastodonConfig
from envoi_channel_mastodon.emulator import MastodonEmulator

from envoi.channels.testing import private_imports
from envoi.client import errors
from envoi.v1 import identity_pb2, transfer_pb2

WAIT_S = 30.0
CODE = "123456"
PENDING = transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
COMPLETED = transfer_pb2.TRANSFER_STATE_COMPLETED


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def server():
    with MastodonEmulator("envoi.social") as emulated:
        emulated.bot = emulated.add_account("envoi", bot=True)
        emulated.alice = emulated.add_account("alice")
        emulated.bob = emulated.add_account("bob.martin", "example.social")
        yield emulated


@pytest.fixture
def envoi(server, envoi_serve):
    """A real envoi serve with this channel, alice (50 €) and bob linked."""
    serve = envoi_serve({**server.env(), "ENVOI_CHANNELS": "mastodon"})
    serve.wallet = serve.client("wallet")
    serve.mastodon = serve.client("channel", channel_name="mastodon")
    admin = serve.client("admin")
    for person, balance_cents in ((server.alice, 5_000), (server.bob, 0)):
        account = serve.wallet.open_account("PERSON", person["username"], CODE)
        serve.wallet.link_identity(
            account.account_id,
            identity_pb2.Identity(
                namespace="mastodon",
                subject_id=statuses.full_acct(person, server.domain),  # the convention
                handle=person["acct"],
            ),
        )
        if balance_cents:
            admin.credit_account(account.account_id, balance_cents)
        person["account_id"] = account.account_id
    return serve


def transfer_of(serve, status) -> "transfer_pb2.Transfer | None":
    """What became of a post, asked over gRPC with the channel's token."""
    try:
        return serve.mastodon.get_channel_transfer(f"post:{status['id']}")
    except errors.TransferNotFound:
        return None


def test_a_mention_pays_a_person_of_another_server_once_confirmed(server, envoi):
    post = server.post(server.alice, "@envoi #envoyer 10€ @bob.martin@example.social merci")
    pending = wait_for(lambda: transfer_of(envoi, post), "the pending transfer")
    assert pending.state == PENDING and pending.amount.amount_cents == 1_000
    assert pending.to_identity.subject_id == "bob.martin@example.social"
    assert pending.memo == "merci"
    [asked] = wait_for(lambda: server.direct_to(server.alice), "the confirmation request")
    assert "Confirm your payment of 10,00 € to bob.martin@example.social" in asked["content"]

    envoi.wallet.confirm_transfer(pending.transfer_id, CODE)
    assert transfer_of(envoi, post).state == COMPLETED
    wait_for(lambda: len(server.direct_to(server.alice)) == 2, "the completion message")
    assert "went through" in server.direct_to(server.alice)[1]["content"]
    assert envoi.wallet.get_balance(server.bob["account_id"]).balance.amount_cents == 1_000


def test_what_was_posted_while_nobody_listened_is_caught_up_once(server, envoi):
    wait_for(lambda: server.stream_connections, "the channel listening")
    server.fail_streams = 2  # the server restarts: its stream is down for a while
    server.disconnect_streams()
    missed = server.post(server.alice, "@envoi #envoyer 2€ @bob.martin@example.social")
    wait_for(lambda: transfer_of(envoi, missed), "the missed post, caught up")
    # Hung up again: the catch-up reads it once more, and it starts nothing new.
    server.disconnect_streams()
    later = server.post(server.alice, "@envoi #envoyer 3€ @bob.martin@example.social")
    wait_for(lambda: transfer_of(envoi, later), "the next post")
    pending = envoi.wallet.list_pending_confirmations(server.alice["account_id"])
    assert sorted(t.amount.amount_cents for t in pending.transfers) == [200, 300]


def test_a_mistake_or_a_refusal_moves_nothing_and_is_answered_privately(server, envoi):
    post = server.post(server.alice, "@envoi #envoyer 10 @bob.martin@example.social")  # no €
    [told] = wait_for(lambda: server.replies_to(post["id"]), "the explanation")
    assert told["visibility"] == "direct" and "currency" in told["content"]
    assert [m["acct"] for m in told["mentions"]] == ["alice"]  # only she sees it
    broke = server.post(server.bob, "@envoi@envoi.social #envoyer 1€ @alice")  # bob has 0 €
    [refused] = wait_for(lambda: server.replies_to(broke["id"]), "bob's refusal")
    assert "balance is too low" in refused["content"]
    assert transfer_of(envoi, post) is None and transfer_of(envoi, broke) is None


def test_a_boost_is_never_a_payment(server):
    """Mastodon notifies a boost (reblog) with the boosted status: even one
    whose text would pay is read as a share, which the grammar leaves silent."""
    paying = server.post(server.alice, "@envoi #envoyer 10€ @bob.martin@example.social")
    notification = {"id": "1", "type": "reblog", "account": server.bob, "status": paying}
    post = statuses.post_of(notification, server.domain)
    assert post.is_retweet
    channel = MastodonChannel(MastodonConfig.from_env(server.env()))
    assert channel.grammar.parse(post.text, is_retweet=post.is_retweet).reason == "RETWEET"
    as_a_mention = statuses.post_of({**notification, "type": "mention"}, server.domain)
    assert channel.grammar.parse(as_a_mention.text).amount_cents == 1_000  # the control


def test_a_retried_send_posts_one_status(server):
    channel = MastodonChannel(MastodonConfig.from_env(server.env()))
    from envoi.channels.channel import OutboundMessage

    message = OutboundMessage("event:42:sender", "hello", direct_to="alice@envoi.social")
    channel.send(message)
    channel.send(message)  # the gateway retries after a crash before it recorded the first
    assert len(server.direct_to(server.alice)) == 1


def test_a_remote_mention_is_read_with_its_server():
    url = "https://example.social/@bob"
    content = (
        '<p>@envoi #envoyer 5&nbsp;€ <span class="h-card"><a href="https://example.social/@bob" '
        'class="u-url mention">@<span>bob</span></a></span> fish &amp; chips<br>merci</p>'
    )
    text = statuses.text_of(content, {url: "bob@example.social"})
    assert text == "@envoi #envoyer 5\u00a0€ @bob@example.social fish & chips\nmerci"


def test_the_stream_stops_when_the_gateway_does(server):
    channel = MastodonChannel(MastodonConfig.from_env(server.env()))

    class Intake:
        stopping = threading.Event()
        saved = None

        def take_in(self, post):
            return "ignored"

        def cursor(self):
            return self.saved

        def save_cursor(self, cursor):
            self.saved = cursor

    intake = Intake()
    listening = threading.Thread(target=channel.listen, args=(intake,))
    listening.start()
    wait_for(lambda: server.stream_connections, "the stream")
    intake.stopping.set()
    listening.join(5)
    assert not listening.is_alive()


def test_the_package_uses_only_envois_public_plugin_api():
    package = pathlib.Path(statuses.__file__).parent
    assert private_imports(package, pathlib.Path(__file__).parent) == []


def test_the_catch_up_pages_through_everything_missed_oldest_first(server):
    """More than a page (40) was posted while nobody listened: every one is
    taken in, in order, and the cursor ends on the last."""
    missed = [server.post(server.alice, f"@envoi #envoyer 1€ @bob {n}") for n in range(45)]
    channel = MastodonChannel(MastodonConfig.from_env(server.env()))

    class Intake:
        stopping = threading.Event()
        saved, taken = None, []

        def take_in(self, post):
            self.taken.append(post.post_id)
            if len(self.taken) == len(missed):
                self.stopping.set()  # all in: the listening may end
            return "initiated"

        def cursor(self):
            return self.saved

        def save_cursor(self, cursor):
            self.saved = cursor

    intake = Intake()
    listening = threading.Thread(target=channel.listen, args=(intake,))
    listening.start()
    listening.join(WAIT_S)
    assert intake.taken == [status["id"] for status in missed]
    assert intake.saved == server.notifications[-1]["id"]


def test_an_oversized_catch_up_page_is_refused_unread(server):
    channel = MastodonChannel(MastodonConfig.from_env(server.env()))
    server.padding_bytes = 5_000_000  # past the channel's 4 MB for a page

    class Intake:
        stopping = threading.Event()

        def cursor(self):
            return None

    with pytest.raises(ValueError, match="size limit"):
        channel.listen(Intake())
