"""Real tweepy, over real HTTP on loopback, against the X API emulator."""

import base64
import hashlib
import hmac
import http.server
import json
import logging
import threading
import urllib.parse
import uuid

import pytest
import requests
import tweepy

from envoi.channels.twitter.x_api_emulator import (
    XApiEmulator,
    crc_request,
    deliver_webhook,
    expected_crc_response,
    new_crc_token,
    signature,
)
from envoi.channels.twitter.x_api_session import HostRewritingSession, make_client

NOW_S = 1_750_000_000.0


class Clock:
    def __init__(self, now_s: float = NOW_S):
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def x(clock):
    with XApiEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def bot(x):
    return x.add_user("SmoneyFR", "Smoney")


@pytest.fixture
def client(x, bot):
    """The bot's client: app bearer for reads, OAuth 1.0a user context for writes."""
    return make_client(x.base_url, bearer_token=x.app_bearer_token, **x.oauth1_credentials(bot))


# -- users --------------------------------------------------------------------


def test_get_me_with_oauth1_user_context(x, bot, client):
    me = client.get_me()
    assert (str(me.data.id), me.data.username, me.data.name) == (bot["id"], "SmoneyFR", "Smoney")
    assert x.calls[-1] == {
        "method": "GET",
        "path": "/2/users/me",
        "query": {},
        "endpoint": "get_me",
        "auth": "oauth1",
        "user_id": bot["id"],
        "status": 200,
    }


def test_get_me_with_an_oauth2_user_token_and_not_with_the_app_token(x, bot):
    user_client = make_client(x.base_url, bearer_token=x.user_bearer_token(bot))
    assert user_client.get_me(user_auth=False).data.username == "SmoneyFR"
    assert x.calls[-1]["auth"] == "oauth2-user"
    app_client = make_client(x.base_url, bearer_token=x.app_bearer_token)
    with pytest.raises(tweepy.Forbidden, match="Application-Only is forbidden"):
        app_client.get_me(user_auth=False)


def test_get_user_by_id_and_by_username(x, client):
    alice = x.add_user("alice", "Alice")
    assert alice["id"].isdigit()
    by_id = client.get_user(id=alice["id"])
    by_name = client.get_user(username="ALICE")
    expected = {"id": alice["id"], "name": "Alice", "username": "alice"}
    assert by_id.data.data == by_name.data.data == expected
    assert x.calls[-1]["auth"] == "oauth2-app"


def test_an_unknown_user_is_an_error_in_a_200_as_on_x(client):
    missing = client.get_user(username="nobody")
    assert missing.data is None
    assert missing.errors[0]["title"] == "Not Found Error"
    assert client.get_user(id="123").errors[0]["resource_id"] == "123"
    with pytest.raises(tweepy.BadRequest):
        client.get_user(username="not-a-handle")


# -- mentions ---------------------------------------------------------------


def test_mentions_newest_first_with_since_id_and_pagination(x, bot, client):
    bob = x.add_user("bob")
    posted = [x.post(bob, f"@SmoneyFR #envoyer {n}€ @bob") for n in range(1, 13)]
    x.post(bob, "not a mention of the bot")

    first = client.get_users_mentions(bot["id"], max_results=5)
    assert [str(t.id) for t in first.data] == [p["id"] for p in posted[::-1][:5]]
    assert first.meta["result_count"] == 5
    assert first.meta["newest_id"] == posted[-1]["id"]
    assert first.meta["oldest_id"] == posted[-5]["id"]

    seen, token = [], None
    while True:
        page = client.get_users_mentions(bot["id"], max_results=5, pagination_token=token)
        seen += [str(t.id) for t in page.data]
        token = page.meta.get("next_token")
        if token is None:
            break
    assert seen == [p["id"] for p in posted[::-1]]

    caught_up = client.get_users_mentions(bot["id"], since_id=posted[-1]["id"])
    assert caught_up.data is None and caught_up.meta == {"result_count": 0}
    newer = x.post(bob, "@smoneyfr #envoyer 5€ @bob")
    since = client.get_users_mentions(bot["id"], since_id=posted[-1]["id"])
    assert [str(t.id) for t in since.data] == [newer["id"]]
    assert int(newer["id"]) > int(posted[-1]["id"])


def test_mentions_fields_and_expansions(x, bot, client):
    bob, alice = x.add_user("bob", "Bob"), x.add_user("alice")
    payment = x.post(bob, "@SmoneyFR #envoyer 10€ @alice & merci <3")
    retweet = x.post(alice, None, retweet_of=payment)
    quote = x.post(alice, "@SmoneyFR look", quote_of=payment)
    reply = x.post(bob, "@SmoneyFR @alice done", reply_to=payment)

    page = client.get_users_mentions(
        bot["id"],
        tweet_fields=["author_id", "created_at", "entities", "referenced_tweets"],
        expansions=["author_id"],
    )
    by_id = {str(t.id): t for t in page.data}
    assert list(by_id) == [reply["id"], quote["id"], retweet["id"], payment["id"]]

    tweet = by_id[payment["id"]]
    assert tweet.text == "@SmoneyFR #envoyer 10€ @alice &amp; merci &lt;3"  # X escapes HTML
    assert tweet.author_id == int(bob["id"])
    assert tweet.created_at.timestamp() == NOW_S
    assert tweet.entities["mentions"] == [
        {"start": 0, "end": 9, "username": "SmoneyFR", "id": bot["id"]},
        {"start": 23, "end": 29, "username": "alice", "id": alice["id"]},
    ]
    assert tweet.entities["hashtags"] == [{"start": 10, "end": 18, "tag": "envoyer"}]
    assert tweet.referenced_tweets is None

    assert by_id[retweet["id"]].text.startswith("RT @bob: @SmoneyFR #envoyer 10€")
    for post, kind in ((retweet, "retweeted"), (quote, "quoted"), (reply, "replied_to")):
        assert by_id[post["id"]].referenced_tweets[0].data == {"type": kind, "id": payment["id"]}
    assert {u.username for u in page.includes["users"]} == {"bob", "alice"}

    expanded = client.get_users_mentions(bot["id"], expansions=["referenced_tweets.id"])
    assert [str(t.id) for t in expanded.includes["tweets"]] == [payment["id"]]

    bare = client.get_users_mentions(bot["id"]).data[0]
    assert set(bare.data) == {"id", "text", "edit_history_tweet_ids"}


def test_mention_entities_only_for_known_users_and_valid_handles(x, bot):
    post = x.post(x.add_user("bob"), "@SmoneyFR pay @ghost and me@alice @waytoolonghandle_1234")
    assert [m["username"] for m in post["entities"]["mentions"]] == ["SmoneyFR"]


def test_mentions_parameters_are_validated_as_on_x(x, bot, client):
    with pytest.raises(tweepy.BadRequest, match="between 5 and 100"):
        client.get_users_mentions(bot["id"], max_results=200)
    with pytest.raises(tweepy.BadRequest, match="tweet.fields"):
        client.get_users_mentions(bot["id"], tweet_fields=["entitys"])
    with pytest.raises(tweepy.BadRequest, match="since_id"):
        client.get_users_mentions(bot["id"], since_id="abc")


# -- writes -------------------------------------------------------------------


def test_create_tweet_in_reply(x, bot, client):
    bob = x.add_user("bob")
    payment = x.post(bob, "@SmoneyFR #envoyer 10€ @alice")
    created = client.create_tweet(
        text="@bob confirm in your app", in_reply_to_tweet_id=payment["id"]
    )
    assert created.data["text"] == "@bob confirm in your app"
    (reply,) = x.replies_to(payment["id"])
    assert reply["id"] == created.data["id"]
    assert (reply["author_id"], reply["in_reply_to_user_id"]) == (bot["id"], bob["id"])
    assert reply["referenced_tweets"] == [{"type": "replied_to", "id": payment["id"]}]
    assert x.posts_by(bot) == [reply]
    assert x.calls[-1]["auth"] == "oauth1" and x.calls[-1]["status"] == 201


def test_create_tweet_refuses_duplicates_unknown_parents_and_app_auth(x, bot, client):
    client.create_tweet(text="hello")
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        client.create_tweet(text="hello")
    with pytest.raises(tweepy.Forbidden, match="deleted or not visible"):
        client.create_tweet(text="hi", in_reply_to_tweet_id="1")
    with pytest.raises(tweepy.Forbidden, match="Application-Only"):
        client.create_tweet(text="as the app", user_auth=False)
    assert [p["text"] for p in x.posts_by(bot)] == ["hello"]


def test_create_direct_message(x, bot, client):
    bob = x.add_user("bob")
    sent = client.create_direct_message(
        participant_id=bob["id"], text="Your payment of 10 € is waiting"
    )
    assert sent.data["dm_conversation_id"] == "-".join(sorted((bot["id"], bob["id"]), key=int))
    (dm,) = x.dms_to(bob)
    assert (dm["id"], dm["sender_id"], dm["text"]) == (
        sent.data["dm_event_id"],
        bot["id"],
        "Your payment of 10 € is waiting",
    )
    x.send_dm(bob, bot, "#envoyer 5€ @alice")
    assert [d["text"] for d in x.dms_to(bot)] == ["#envoyer 5€ @alice"]


# -- rate limits, failures, auth ----------------------------------------------


def test_an_injected_429_raises_too_many_requests_with_the_reset_time(x, bot, client):
    x.fail_next("get_users_mentions", status=429, reset_in_s=60)
    with pytest.raises(tweepy.TooManyRequests) as caught:
        client.get_users_mentions(bot["id"])
    assert caught.value.reset_time == int(NOW_S) + 60
    headers = caught.value.response.headers
    assert headers["x-rate-limit-remaining"] == "0"
    assert headers["x-rate-limit-reset"] == str(int(NOW_S) + 60)
    assert int(headers["x-rate-limit-limit"]) > 0
    assert caught.value.response.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    # only the next call failed
    assert client.get_users_mentions(bot["id"]).meta == {"result_count": 0}


def test_an_injected_failure_does_nothing_and_lasts_n_calls(x, bot, client):
    x.fail_next("POST /2/tweets", status=503, times=2)
    for _ in range(2):
        with pytest.raises(tweepy.TwitterServerError):
            client.create_tweet(text="@bob your money arrived")
    assert x.posts_by(bot) == []
    client.create_tweet(text="@bob your money arrived")
    assert [c["status"] for c in x.calls] == [503, 503, 201]


def test_fail_next_takes_names_patterns_and_paths(x, bot):
    for ref in ("get_user", "/2/users/:id", "GET /2/users/:id", f"/2/users/{bot['id']}"):
        x.fail_next(ref, status=500)
    x.fail_next("/2/users/me", status=500)
    with pytest.raises(KeyError):
        x.fail_next("/2/nothing")


def test_a_per_endpoint_budget_and_its_window(x, bot, client, clock):
    x.set_rate_limit("get_user", 2, window_s=60)
    client.return_type = requests.Response
    remaining = [client.get_user(id=bot["id"]).headers["x-rate-limit-remaining"] for _ in range(2)]
    assert remaining == ["1", "0"]
    with pytest.raises(tweepy.TooManyRequests) as caught:
        client.get_user(id=bot["id"])
    assert caught.value.reset_time == int(NOW_S) + 60
    assert client.get_me().headers["x-rate-limit-remaining"] == "74"  # other endpoints unaffected
    clock.now_s += 60
    assert client.get_user(id=bot["id"]).headers["x-rate-limit-remaining"] == "1"


def test_every_api_response_carries_rate_limit_headers(x, bot):
    for response in (
        requests.get(f"{x.base_url}/2/users/{bot['id']}"),
        requests.get(
            f"{x.base_url}/2/users/{bot['id']}",
            headers={"Authorization": f"Bearer {x.app_bearer_token}"},
        ),
    ):
        rate_headers = {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"}
        assert rate_headers <= set(response.headers)


def test_missing_or_wrong_credentials_are_401(x, bot):
    with pytest.raises(tweepy.Unauthorized):
        make_client(x.base_url).get_user(id=bot["id"])  # tweepy sends "Bearer None"
    with pytest.raises(tweepy.Unauthorized):
        make_client(x.base_url, bearer_token="guessed").get_user(id=bot["id"])
    forged = x.oauth1_credentials(bot) | {"access_token_secret": "not the secret"}
    with pytest.raises(tweepy.Unauthorized):
        make_client(x.base_url, **forged).create_tweet(text="forged")
    response = requests.get(f"{x.base_url}/2/users/{bot['id']}")
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"
    assert [c["auth"] for c in x.calls] == [None] * 4
    assert x.posts_by(bot) == []


def test_concurrent_clients_get_distinct_increasing_ids(x, bot):
    ids, errors = [], []

    def tweet(n):
        try:
            writer = make_client(x.base_url, **x.oauth1_credentials(bot))
            for i in range(5):
                ids.append(writer.create_tweet(text=f"post {n}/{i}").data["id"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=tweet, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(ids)) == 40
    assert [p["id"] for p in x.posts_by(bot)] == sorted(ids, key=int)


# -- the session ------------------------------------------------------------


def test_the_session_rewrites_both_x_hosts_and_nothing_else():
    session = HostRewritingSession("http://127.0.0.1:9/prefix/")
    assert (
        session.rewrite_url("https://api.twitter.com/2/users/me?a=1")
        == "http://127.0.0.1:9/prefix/2/users/me?a=1"
    )
    assert session.rewrite_url("https://api.x.com/2/tweets") == "http://127.0.0.1:9/prefix/2/tweets"
    for other in (
        "https://example.com/2/users/me",
        "https://api.twitter.com.evil.example/2/users/me",
        "http://api.twitter.com/2/users/me",
        "https://upload.twitter.com/1.1/media/upload.json",
    ):
        assert session.rewrite_url(other) == other
    request = requests.Request("GET", "https://api.x.com/2/users/me", params={"b": "2"})
    prepared = session.prepare_request(request)
    assert prepared.url == "http://127.0.0.1:9/prefix/2/users/me?b=2"


def test_both_hosts_reach_the_emulator_and_oauth1_signs_the_rewritten_url(x, bot):
    client = make_client(x.base_url, **x.oauth1_credentials(bot))
    for host in ("https://api.twitter.com", "https://api.x.com"):
        client.request("GET", "/2/users/me", user_auth=True)  # tweepy's own host
        response = client.session.get(
            host + "/2/users/me",
            auth=tweepy.OAuth1UserHandler(
                client.consumer_key,
                client.consumer_secret,
                client.access_token,
                client.access_token_secret,
            ).apply_auth(),
        )
        assert response.json()["data"]["id"] == bot["id"]
    assert [c["auth"] for c in x.calls] == ["oauth1"] * 4


def test_with_the_real_host_the_client_is_plain_tweepy():
    client = make_client("https://api.twitter.com", bearer_token="t")
    plain = tweepy.Client(bearer_token="t")
    request = requests.Request(
        "GET", "https://api.twitter.com/2/users/me", params={"user.fields": "id"}
    )
    assert client.session.prepare_request(request).url == plain.session.prepare_request(request).url
    assert client.wait_on_rate_limit is False
    with pytest.raises(ValueError):
        HostRewritingSession("127.0.0.1:8080")


def test_secrets_never_reach_the_logs(x, bot, caplog):
    assert logging.getLogger("tweepy").getEffectiveLevel() >= logging.INFO
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tweepy")  # even when someone lowers tweepy's level
    credentials = x.oauth1_credentials(bot)
    client = make_client(x.base_url, bearer_token=x.app_bearer_token, **credentials)
    client.get_user(id=bot["id"])
    client.get_me()
    client.create_tweet(text="logged?")
    with pytest.raises(tweepy.Unauthorized):
        make_client(x.base_url, bearer_token="wrong-" + x.app_bearer_token).get_me(user_auth=False)
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records, "the test must capture something to mean anything"
    for secret in (
        x.app_bearer_token,
        credentials["consumer_secret"],
        credentials["access_token"],
        credentials["access_token_secret"],
    ):
        assert secret not in logged


# -- webhooks -----------------------------------------------------------------


def test_the_signature_helpers_match_an_independent_hmac():
    body, secret = b'{"for_user_id":"1","tweet_create_events":[]}', "consumer secret"
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    independent = "sha256=" + base64.b64encode(digest).decode()
    assert signature(body, secret) == XApiEmulator.signature(body, secret) == independent
    crc = base64.b64encode(hmac.new(secret.encode(), b"token-1", hashlib.sha256).digest()).decode()
    assert expected_crc_response("token-1", secret) == "sha256=" + crc


def test_crc_tokens_have_the_shape_x_sends():
    tokens = {new_crc_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:  # base64 of a UUID string, as in M2RkODJkZmMtYjlk...
        assert len(token) == 48
        text = base64.b64decode(token).decode()
        assert str(uuid.UUID(text)) == text


@pytest.fixture
def receiver():
    """A webhook endpoint that answers CRC and checks signatures, as a channel must."""
    secret, received = "the consumer secret", []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            token = query["crc_token"][0]
            assert set(query) == {"crc_token", "nonce"}
            self._answer(200, {"response_token": expected_crc_response(token, secret)})

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            sent = self.headers.get("x-twitter-webhooks-signature", "")
            good = hmac.compare_digest(sent, signature(body, secret))
            if good:
                received.append(body)
            self._answer(200 if good else 401, {})

        def _answer(self, status, document):
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/twitter", secret, received
    server.shutdown()
    server.server_close()


def test_deliver_webhook_and_crc_over_real_http(x, bot, receiver):
    url, secret, received = receiver
    token = new_crc_token()
    assert crc_request(url, token) == (
        200,
        {"response_token": expected_crc_response(token, secret)},
    )
    status, answer = crc_request(url)  # a fresh token of its own
    assert status == 200 and answer["response_token"].startswith("sha256=")
    payment = x.post(x.add_user("bob"), "@SmoneyFR #envoyer 10€ @bob")
    payload = x.account_activity_payload(payment, bot)
    status, _ = deliver_webhook(url, payload, secret)
    assert status == 200 and json.loads(received[-1]) == payload
    exact = json.dumps(payload, indent=2).encode()
    assert deliver_webhook(url, exact, secret)[0] == 200 and received[-1] == exact
    assert deliver_webhook(url, payload, secret, signature="sha256=Zm9yZ2Vk")[0] == 401
    assert deliver_webhook(url, payload, secret, signature="")[0] == 401
    assert deliver_webhook(url, payload, "another secret")[0] == 401
    assert len(received) == 2


def test_account_activity_payload_for_posts(x, bot):
    bob, alice = x.add_user("bob", "Bob"), x.add_user("alice")
    payment = x.post(bob, "@SmoneyFR #envoyer 10€ @alice & co")
    payload = x.account_activity_payload(payment, bot)
    assert payload["for_user_id"] == bot["id"]
    (event,) = payload["tweet_create_events"]
    assert event["id_str"] == payment["id"]
    assert event["text"] == "@SmoneyFR #envoyer 10€ @alice &amp; co"
    assert event["user"] == {
        "id": int(bob["id"]),
        "id_str": bob["id"],
        "name": "Bob",
        "screen_name": "bob",
    }
    mentions = event["entities"]["user_mentions"]
    assert [(m["id_str"], m["screen_name"], m["indices"]) for m in mentions] == [
        (bot["id"], "SmoneyFR", [0, 9]),
        (alice["id"], "alice", [23, 29]),
    ]
    assert event["user_has_blocked"] is False
    assert event["is_quote_status"] is False and "retweeted_status" not in event
    assert event["in_reply_to_status_id_str"] is None

    def event_for(post):
        return x.account_activity_payload(post, bot)["tweet_create_events"][0]

    retweet = event_for(x.post(alice, None, retweet_of=payment))
    assert retweet["retweeted_status"]["id_str"] == payment["id"]
    assert retweet["text"].startswith("RT @bob: @SmoneyFR")
    quote = event_for(x.post(alice, "@SmoneyFR so", quote_of=payment))
    assert quote["is_quote_status"] is True and quote["quoted_status"]["id_str"] == payment["id"]
    reply = event_for(x.post(bob, "@SmoneyFR hm", reply_to=payment))
    assert reply["in_reply_to_status_id_str"] == payment["id"]
    assert reply["in_reply_to_user_id_str"] == bob["id"]


def test_account_activity_payload_for_a_direct_message(x, bot):
    bob = x.add_user("bob")
    dm = x.send_dm(bob, bot, "#envoyer 10€ @SmoneyFR")
    payload = x.account_activity_payload(dm, bot)
    assert payload["for_user_id"] == bot["id"]
    (event,) = payload["direct_message_events"]
    assert event["type"] == "message_create" and event["id"] == dm["id"]
    assert event["message_create"]["sender_id"] == bob["id"]
    assert event["message_create"]["target"] == {"recipient_id": bot["id"]}
    assert event["message_create"]["message_data"]["text"] == "#envoyer 10€ @SmoneyFR"
    entities = event["message_create"]["message_data"]["entities"]
    assert entities["user_mentions"][0]["id_str"] == bot["id"]
    assert payload["users"][bob["id"]]["screen_name"] == "bob"
