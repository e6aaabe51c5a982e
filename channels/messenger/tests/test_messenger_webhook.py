"""What the webhook takes in, leaves alone, and refuses, over real HTTP
through envoi's gateway: strict parsing, 200 or 400 and never a 500."""

import itertools
import json
import time

import pytest
from envoi_channel_messenger.channel import WEBHOOK_PATH, MessengerChannel
from envoi_channel_messenger.config import MessengerConfig
from envoi_channel_messenger.send_api_emulator import SendApiEmulator
from envoi_channel_messenger.webhook import sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_psids = itertools.count(1)


@pytest.fixture(scope="module")
def meta():
    with SendApiEmulator(page_id="1001") as emulator:
        yield emulator


@pytest.fixture
def webhook(meta, start_gateway, channel_client_for):
    channel = MessengerChannel(MessengerConfig.from_env(meta.env()))
    gateway = start_gateway(channel, channel_client_for("messenger"))
    return f"http://127.0.0.1:{gateway.webhooks.port}{WEBHOOK_PATH}"


def psid() -> str:
    return str(5_000_000_000 + next(_psids) * 1000 + int(time.time()) % 1000)


def messages_for(db, mid) -> int:
    return db.execute(
        "SELECT count(*) FROM channel_messages WHERE message_key = %s", (f"rejected:{mid}",)
    ).fetchone()[0]


def test_a_message_is_taken_in(meta, webhook, db):
    event = meta.user_message(psid(), "envoyer 10€ @alice")  # nobody linked: refused
    assert meta.deliver(webhook, meta.webhook_payload(event))[0] == 200
    assert messages_for(db, event["message"]["mid"]) == 1


def test_the_signature_is_hex_in_either_case(meta, webhook, db):
    event = meta.user_message(psid(), "envoyer 10€ @alice")
    body = json.dumps(meta.webhook_payload(event)).encode()
    upper = "sha256=" + sign(body, meta.app_secret).removeprefix("sha256=").upper()
    assert meta.deliver(webhook, body, signature=upper)[0] == 200
    assert messages_for(db, event["message"]["mid"]) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["message"].update(is_echo=True),  # the page's own message
        lambda e: e["message"].pop("text"),  # a sticker
        lambda e: e["recipient"].update(id="4242"),  # another page
        lambda e: (e.pop("message"), e.update(delivery={"mids": ["m_1"], "watermark": 1})),
        lambda e: (e.pop("message"), e.update(read={"watermark": 1})),
    ],
)
def test_what_is_not_a_persons_message_is_left_alone(meta, webhook, db, change):
    event = meta.user_message(psid(), "envoyer 10€ @alice")
    change(event)
    assert meta.deliver(webhook, meta.webhook_payload(event))[0] == 200
    assert messages_for(db, "m_1") == 0
    if "message" in event:
        assert messages_for(db, event["message"]["mid"]) == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(object="instagram"),
        lambda p: p.pop("entry"),
        lambda p: p["entry"][0].pop("messaging"),
        lambda p: p["entry"][0]["messaging"][0].update(postback={"payload": "x"}, message=None),
        lambda p: p["entry"][0]["messaging"][0].pop("message"),
        lambda p: p["entry"][0]["messaging"][0].update(timestamp=True),
        lambda p: p["entry"][0]["messaging"][0]["sender"].update(id=12345),
        lambda p: p["entry"][0]["messaging"][0]["sender"].update(id="abc"),
        lambda p: p["entry"][0]["messaging"][0]["message"].update(mid="m " * 3),
        lambda p: p["entry"][0]["messaging"][0]["message"].update(mid="m" * 101),
        lambda p: p["entry"][0]["messaging"][0]["message"].update(text=["envoyer"]),
        lambda p: p["entry"][0]["messaging"][0]["message"].update(is_echo="yes"),
        lambda p: p["entry"][0]["messaging"][0]["message"].update(text="envoyer \ud800 10€"),
    ],
)
def test_what_is_not_understood_gets_400_and_changes_nothing(meta, webhook, db, change):
    event = meta.user_message(psid(), "envoyer 10€ @alice")
    mid = event["message"]["mid"]
    payload = meta.webhook_payload(event)
    change(payload)
    body = json.dumps(payload).encode()
    assert meta.deliver(webhook, body)[0] == 400
    assert messages_for(db, mid) == 0


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def test_fuzzed_bodies_get_200_or_400_and_the_gateway_stays_up(meta, webhook, db):
    """Signed bodies of every shape: raw bytes, any JSON, and Meta's own
    delivery with fields replaced by anything. 200 or 400, never a 500."""
    real = meta.webhook_payload(meta.user_message(psid(), "envoyer 1€ @alice"))
    event = real["entry"][0]["messaging"][0]
    mangled = st.fixed_dictionaries(
        {
            "object": st.one_of(st.just("page"), JSON_VALUES),
            "entry": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.one_of(st.just("1001"), JSON_VALUES),
                        "messaging": st.lists(
                            st.one_of(
                                st.dictionaries(st.sampled_from(sorted(event)), JSON_VALUES).map(
                                    lambda fields: {**event, **fields}
                                ),
                                st.dictionaries(
                                    st.sampled_from(sorted(event["message"])), JSON_VALUES
                                ).map(
                                    lambda fields: {
                                        **event,
                                        "message": {**event["message"], **fields},
                                    }
                                ),
                            ),
                            max_size=2,
                        ),
                    }
                ),
                max_size=2,
            ),
        }
    )
    statuses = []

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=st.one_of(st.binary(max_size=200), JSON_VALUES, mangled))
    def fuzz(body):
        status, _ = meta.deliver(
            webhook, body if isinstance(body, bytes) else json.dumps(body).encode()
        )
        statuses.append(status)
        assert status in (200, 400), (status, body)

    fuzz()
    assert {200, 400} <= set(statuses), statuses
    assert meta.verify(webhook, meta.verify_token, "1158201444")[0] == 200
