"""The Messenger channel end to end, as an outsider's package: installed on
its own, found through the `envoi.channels` entry point, run by envoi's real
gateway against envoi's real gRPC server and database; Meta's side is the
local emulator, over real HTTP both ways (webhooks in, the Send API out)."""

import importlib.metadata
import itertools
import json
import logging
import pathlib
import re
import subprocess
import sys
import time

import pytest
from envoi_channel_messenger import config
from envoi_channel_messenger.channel import OUTSIDE_WINDOW, WEBHOOK_PATH, MessengerChannel
from envoi_channel_messenger.config import MessengerConfig
from envoi_channel_messenger.send_api_emulator import SendApiEmulator
from envoi_channel_messenger.webhook import sign

from envoi.channels.channel import OutboundMessage, RateLimited
from envoi.channels.testing import private_imports
from envoi.client import errors
from envoi.v1 import identity_pb2, transfer_pb2

_ids = itertools.count(1)
DAY_S = 24 * 3600


@pytest.fixture(scope="module")
def meta():
    with SendApiEmulator(page_id="1001") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def messenger_client(channel_client_for):
    return channel_client_for("messenger")


@pytest.fixture
def start(meta, start_gateway, messenger_client):
    """start(clock=time.time) -> (gateway, channel), configured from MESSENGER_* settings."""

    def make(clock=time.time):
        channel = MessengerChannel(MessengerConfig.from_env(meta.env()), clock=clock)
        return start_gateway(channel, messenger_client), channel

    return make


def url(gateway) -> str:
    return f"http://127.0.0.1:{gateway.webhooks.port}{WEBHOOK_PATH}"


@pytest.fixture
def payer(open_account, wallet):
    """payer(balance_cents) -> (PSID, account id): someone who linked Messenger."""

    def make(balance_cents=5_000):
        psid = str(9_000_000 + next(_ids) + int(time.time()) % 1000 * 1000)
        account_id = open_account(balance_cents=balance_cents)
        wallet.link_identity(
            account_id, identity_pb2.Identity(namespace="messenger", subject_id=psid)
        )
        return psid, account_id

    return make


@pytest.fixture
def tweeter(open_account, wallet):
    """tweeter() -> (handle, account id): someone who linked a Twitter account."""

    def make():
        n = next(_ids)
        handle = f"tw{n}_{int(time.time()) % 100000}"
        account_id = open_account()
        wallet.link_identity(
            account_id,
            identity_pb2.Identity(
                namespace="twitter", subject_id=f"77{n}{int(time.time())}", handle=handle
            ),
        )
        return handle, account_id

    return make


def transfers_of(client, mid) -> list:
    """What became of a message, asked over gRPC with the channel's own token:
    [(transfer_id, state, to_namespace, to_handle)], or [] when it started none."""
    try:
        found = client.get_channel_transfer(f"dm:{mid}")
    except errors.TransferNotFound:
        return []
    state = transfer_pb2.TransferState.Name(found.state).removeprefix("TRANSFER_STATE_")
    return [(found.transfer_id, state, found.to_identity.namespace, found.to_identity.handle)]


def sent_to(meta, psid) -> list[str]:
    return [message["text"] for message in meta.sent if message["recipient"] == psid]


def test_the_plugin_is_found_through_its_entry_point(meta):
    """As an operator sees it (`envoi plugins`), and as the gateway loads it:
    the entry point's module, its hook called with the environment."""
    envoi = pathlib.Path(sys.executable).with_name("envoi")
    listed = json.loads(
        subprocess.run(
            [str(envoi), "plugins"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    )
    [found] = [p for p in listed if p["name"] == "messenger"]
    assert (found["distribution"], found["module"], found["group"]) == (
        "envoi-channel-messenger",
        "envoi_channel_messenger.plugin",
        "envoi.channels",
    )
    [entry_point] = importlib.metadata.entry_points(group="envoi.channels", name="messenger")
    plugin = entry_point.load()
    [channel] = plugin.envoi_channels(env=meta.env())
    assert isinstance(channel, MessengerChannel) and channel.name == "messenger"
    assert plugin.envoi_channels(env={}) == []  # not configured: no channel
    with pytest.raises(ValueError, match="MESSENGER_PAGE_ID"):
        plugin.envoi_channels(env={**meta.env(), "MESSENGER_PAGE_ID": ""})
    assert meta.app_secret not in repr(channel.config)
    assert meta.page_access_token not in repr(channel.config)


def test_the_package_uses_only_envois_public_plugin_api():
    """What an outsider may import: the plugin API and the client, nothing of envoi.core."""
    package = pathlib.Path(config.__file__).parent
    assert private_imports(package, pathlib.Path(__file__).parent) == []


@pytest.mark.parametrize(
    "mode, right_token, challenge, status",
    [
        ("subscribe", True, "1158201444", 200),
        ("subscribe", False, "1158201444", 403),
        ("unsubscribe", True, "1158201444", 403),
        ("subscribe", True, "", 403),
        ("subscribe", True, "<script>alert(1)</script>", 403),
        ("subscribe", True, "1158201444\n", 403),
        ("subscribe", True, "1" * 33, 403),
    ],
)
def test_the_verification_echoes_the_challenge_only_with_the_right_token(
    meta, start, mode, right_token, challenge, status
):
    gateway, _ = start()
    token = meta.verify_token if right_token else meta.verify_token + "x"
    got, body, content_type = meta.verify(url(gateway), token, challenge, mode)
    assert got == status
    if status == 200:
        assert (body, content_type) == (b"1158201444", "text/plain")
    else:
        assert b"1158201444" not in body


def test_a_message_pays_a_twitter_handle_and_is_answered_through_the_send_api(
    meta, start, payer, tweeter, wallet, messenger_client
):
    gateway, _ = start()
    (psid, payer_account), (handle, payee_account) = payer(), tweeter()
    event = meta.user_message(psid, f"envoyer 10,50€ @{handle} pour le resto")
    status, _ = meta.deliver(url(gateway), meta.webhook_payload(event))
    assert status == 200
    [(transfer_id, state, namespace, to_handle)] = transfers_of(
        messenger_client, event["message"]["mid"]
    )
    assert (state, namespace, to_handle) == ("PENDING_CONFIRMATION", "twitter", handle)
    gateway.run_once()
    assert sent_to(meta, psid) == [
        f"Confirm your payment of 10,50 € to @{handle} on twitter in your envoi app."
    ]
    assert meta.sent[-1]["messaging_type"] == "RESPONSE"

    wallet.confirm_transfer(str(transfer_id), "123456")
    gateway.run_once()
    assert sent_to(meta, psid)[1:] == [
        f"Your payment of 10,50 € to @{handle} on twitter went through."
    ]
    assert wallet.get_balance(payee_account).balance.amount_cents == 1_050
    assert wallet.get_balance(payer_account).balance.amount_cents == 3_950
    gateway.run_once()  # nothing new: nothing sent again
    assert len(sent_to(meta, psid)) == 2


def test_the_english_form_and_a_qualified_handle_work_too(
    meta, start, payer, tweeter, messenger_client
):
    gateway, _ = start()
    (psid, _), (handle, _) = payer(), tweeter()
    event = meta.user_message(psid, f"Send 3€ @twitter:{handle.upper()}")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    [(_, state, namespace, to_handle)] = transfers_of(messenger_client, event["message"]["mid"])
    assert (state, namespace, to_handle) == ("PENDING_CONFIRMATION", "twitter", handle)


def test_a_redelivered_message_starts_one_transfer(meta, start, payer, tweeter, messenger_client):
    gateway, _ = start()
    (psid, _), (handle, _) = payer(), tweeter()
    event = meta.user_message(psid, f"envoyer 2€ @{handle}")
    for _ in range(3):
        assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    assert len(transfers_of(messenger_client, event["message"]["mid"])) == 1
    gateway.run_once()
    assert len(sent_to(meta, psid)) == 1


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "wrong secret", "sha1=abc"])
def test_a_bad_or_missing_signature_gets_403_and_changes_nothing(
    meta, start, payer, tweeter, messenger_client, signature
):
    gateway, _ = start()
    (psid, _), (handle, _) = payer(), tweeter()
    event = meta.user_message(psid, f"envoyer 2€ @{handle}")
    body = meta.webhook_payload(event)
    if signature == "wrong secret":
        signature = sign(b"{}", "not-the-app-secret")
    assert meta.deliver(url(gateway), body, signature=signature)[0] == 403
    gateway.run_once()
    assert transfers_of(messenger_client, event["message"]["mid"]) == []
    assert sent_to(meta, psid) == []


def test_a_handle_nobody_linked_is_refused_in_the_conversation(
    meta, start, payer, messenger_client
):
    gateway, _ = start()
    psid, _ = payer()
    event = meta.user_message(psid, "envoyer 2€ @twitter:nobody_here")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    gateway.run_once()
    assert transfers_of(messenger_client, event["message"]["mid"]) == []
    [told] = sent_to(meta, psid)
    assert "Nobody has linked @nobody_here on twitter" in told


def test_a_grammar_mistake_is_explained_with_the_conversation_form(meta, start, payer):
    gateway, _ = start()
    psid, _ = payer()
    event = meta.user_message(psid, "envoyer 10 @someone")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    gateway.run_once()
    assert sent_to(meta, psid) == ["Put the currency next to the amount, like 10€."]


def test_outside_the_24_hour_window_nothing_is_sent_and_the_skip_is_recorded(
    meta, start, payer, tweeter, messenger_client, caplog
):
    late = {"s": 0.0}
    gateway, channel = start(clock=lambda: time.time() + late["s"])
    (psid, _), (handle, _) = payer(), tweeter()
    event = meta.user_message(psid, f"envoyer 4€ @{handle}")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    assert len(transfers_of(messenger_client, event["message"]["mid"])) == 1
    late["s"] = DAY_S + 60  # the gateway relays the event a day later
    calls_before = len(meta.calls)
    with caplog.at_level(logging.INFO, logger="envoi_channel_messenger"):
        gateway.run_once()
    assert len(meta.calls) == calls_before  # no Send API call at all
    assert sent_to(meta, psid) == []
    assert channel.skipped == {OUTSIDE_WINDOW: 1}
    [record] = [r for r in caplog.records if r.name == "envoi_channel_messenger"]
    assert "outside the 24-hour window" in record.getMessage()
    assert psid not in record.getMessage() and meta.page_access_token not in caplog.text


def test_a_message_the_send_api_refuses_for_the_window_is_recorded_not_retried(meta, start, payer):
    _, channel = start()
    psid, _ = payer()
    meta.user_message(psid, "hello")
    message = OutboundMessage("test:late", "Your payment went through.", direct_to=psid)
    real_clock = meta.clock
    meta.clock = lambda: time.time() + DAY_S + 60
    try:
        channel.send(message)  # does not raise: the gateway marks it done
    finally:
        meta.clock = real_clock
    assert channel.skipped == {OUTSIDE_WINDOW: 1}
    assert sent_to(meta, psid) == []
    assert meta.calls[-1]["status"] == 400


def test_a_rate_limited_send_asks_to_retry_later(meta, start, payer):
    _, channel = start()
    psid, _ = payer()
    meta.user_message(psid, "hello")
    meta.fail_next(613)
    with pytest.raises(RateLimited) as limited:
        channel.send(OutboundMessage("test:limited", "hi", direct_to=psid))
    assert limited.value.retry_at_s > time.time()
    channel.send(OutboundMessage("test:limited", "hi", direct_to=psid))
    assert sent_to(meta, psid) == ["hi"]


def test_secrets_stay_out_of_logs(meta, start, payer, tweeter, caplog):
    """Every logger at DEBUG (requests' and urllib3's too) while the webhook is
    verified, deliveries are signed right and wrong, and the Send API is used."""
    caplog.set_level(logging.DEBUG)
    gateway, _ = start()
    (psid, _), (handle, _) = payer(), tweeter()
    meta.verify(url(gateway), meta.verify_token, "1158201444")
    meta.verify(url(gateway), "wrong-token", "1158201444")
    event = meta.user_message(psid, f"envoyer 1€ @{handle}")
    meta.deliver(url(gateway), meta.webhook_payload(event), signature="sha256=" + "1" * 64)
    meta.deliver(url(gateway), meta.webhook_payload(event))
    gateway.run_once()
    assert sent_to(meta, psid), "the flow did not run"
    for secret in (meta.app_secret, meta.verify_token, meta.page_access_token):
        assert secret not in caplog.text


def test_envoi_gateway_help_documents_every_setting():
    envoi = pathlib.Path(sys.executable).with_name("envoi")
    done = subprocess.run(
        [str(envoi), "gateway", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    read = set(re.findall(r'"(MESSENGER_[A-Z_]+)"', pathlib.Path(config.__file__).read_text()))
    assert len(read) == 7
    for name in read:
        assert re.search(rf"^\s+{name}\s", done.stdout, re.MULTILINE), name


def test_a_half_configuration_stops_the_gateway_naming_what_is_missing(gateway_database_url):
    envoi = pathlib.Path(sys.executable).with_name("envoi")
    secret = "a-secret-that-must-not-be-printed"
    done = subprocess.run(
        [str(envoi), "gateway", "--database-url", gateway_database_url],
        env={
            "PATH": "/usr/bin:/bin",
            "MESSENGER_APP_SECRET": secret,
            "ENVOI_CHANNELS": "messenger",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "MESSENGER_PAGE_ID" in done.stderr and secret not in done.stderr + done.stdout


# Requests: `demander 10€ @bob` asks someone of another network for money.


def requests_of(client, mid, count) -> list:
    """[(transfer id, state, payer's handle, amount)] of a message's requests, in order."""
    found = [client.get_channel_transfer(f"dm:{mid}:{n}") for n in range(1, count + 1)]
    return [
        (
            t.transfer_id,
            transfer_pb2.TransferState.Name(t.state).removeprefix("TRANSFER_STATE_"),
            t.from_identity.handle,
            t.amount.amount_cents,
        )
        for t in found
    ]


def test_a_message_asks_a_twitter_handle_for_money_who_pays_it_with_the_code(
    meta, start, payer, tweeter, admin, wallet, messenger_client
):
    gateway, _ = start()
    (psid, requester_account), (handle, payer_account) = payer(balance_cents=0), tweeter()
    admin.credit_account(payer_account, 2_000)
    event = meta.user_message(psid, f"demander 12€ @{handle} le resto")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    [(transfer_id, state, from_handle, cents)] = requests_of(
        messenger_client, event["message"]["mid"], 1
    )
    assert (state, from_handle, cents) == ("PENDING_CONFIRMATION", handle, 1_200)
    gateway.run_once()
    assert sent_to(meta, psid) == [
        f"You asked @{handle} on twitter for 12,00 €: they pay it with their code in their"
        " envoi app."
    ]
    [pending] = wallet.list_pending_confirmations(payer_account).transfers
    assert (pending.transfer_id, pending.requested, pending.memo) == (transfer_id, True, "le resto")
    wallet.confirm_transfer(transfer_id, "123456")
    gateway.run_once()
    assert sent_to(meta, psid)[1:] == [f"@{handle} on twitter paid your request of 12,00 €."]
    assert wallet.get_balance(requester_account).balance.amount_cents == 1_200
    assert wallet.get_balance(payer_account).balance.amount_cents == 800


def test_a_split_in_a_conversation_asks_each_and_names_who_cannot_be_asked(
    meta, start, payer, tweeter, wallet, messenger_client
):
    gateway, _ = start()
    psid, _ = payer(balance_cents=0)
    (bob, _), (carol, _) = tweeter(), tweeter()
    event = meta.user_message(
        psid, f"demander 10€ @{bob} @twitter:{carol} @twitter:nobody_here #partage"
    )
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    asked = requests_of(messenger_client, event["message"]["mid"], 2)
    # 10 € among three: 3,34 € for the first named, 3,33 € each after.
    assert [(handle, cents) for _, _, handle, cents in asked] == [(bob, 334), (carol, 333)]
    with pytest.raises(errors.TransferNotFound):
        messenger_client.get_channel_transfer(f"dm:{event['message']['mid']}:3")
    wallet.cancel_transfer(asked[1][0])  # Carol declines
    gateway.run_once()
    told = sent_to(meta, psid)
    assert told[0] == (
        "Nobody has linked @nobody_here on twitter to envoi yet: they can sign in to the"
        " envoi app with twitter first."
    )
    assert told[1].startswith(f"You asked @{bob} on twitter for 3,34 €")
    assert told[2].startswith(f"You asked @{carol} on twitter for 3,33 €")
    assert told[3] == (
        f"Your request of 3,33 € to @{carol} on twitter was declined or withdrawn:"
        " nothing was paid."
    )


def test_a_request_the_grammar_does_not_understand_is_explained(meta, start, payer):
    gateway, _ = start()
    psid, _ = payer()
    event = meta.user_message(psid, "demander 10€ @bob @carol partage")
    assert meta.deliver(url(gateway), meta.webhook_payload(event))[0] == 200
    gateway.run_once()
    assert sent_to(meta, psid) == ["Ask one person per post, or add #partage to share the amount."]
