"""`envoi x-emulator` as a real process: the credentials it prints work with
tweepy, its page posts as someone (escaped, bounded), and Ctrl-C stops it."""

import signal
import subprocess
import sys

import pytest
import requests

from envoi.channels.twitter.x_api_session import make_client
from envoi.core.ops.harness import envoi_env, free_port

START_TIMEOUT_S = 30


@pytest.fixture
def emulator():
    """(base URL, the printed exports as a dict, the process)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "envoi.core.cli", "x-emulator", "--listen", f"127.0.0.1:{port}"],
        env=envoi_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stdout:  # until it says it is up, or exits
        lines.append(line)
        if line.startswith("Ctrl-C stops it"):
            break
    exports = dict(
        line.strip().removeprefix("export ").split("=", 1)
        for line in lines
        if line.strip().startswith("export ")
    )
    assert exports, "".join(lines)
    yield f"http://127.0.0.1:{port}", exports, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_printed_credentials_read_what_the_page_posted(emulator):
    url, exports, _ = emulator
    answer = requests.post(
        f"{url}/emulator/post",
        data={"as": "alice", "text": "@SmoneyFR #envoyer 10€ @bob"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    bot = make_client(
        exports["ENVOI_TWITTER_API_BASE_URL"],
        consumer_key=exports["ENVOI_TWITTER_CONSUMER_KEY"],
        consumer_secret=exports["ENVOI_TWITTER_CONSUMER_SECRET"],
        access_token=exports["ENVOI_TWITTER_ACCESS_TOKEN"],
        access_token_secret=exports["ENVOI_TWITTER_ACCESS_TOKEN_SECRET"],
    )
    me = bot.get_me().data
    assert (str(me.id), me.username) == (exports["ENVOI_TWITTER_BOT_USER_ID"], "SmoneyFR")
    [mention] = bot.get_users_mentions(me.id, user_auth=True).data
    assert mention.text == "@SmoneyFR #envoyer 10€ @bob"
    reply = bot.create_tweet(text="@alice confirm in your app", in_reply_to_tweet_id=mention.id)
    replies = requests.get(f"{url}/emulator/posts/{mention.id}/replies", timeout=10).json()
    assert [r["id"] for r in replies["data"]] == [str(reply.data["id"])]


def test_the_page_escapes_what_it_shows(emulator):
    url, _, _ = emulator
    requests.post(
        f"{url}/emulator/post", data={"as": "bob", "text": "<script>x</script>"}, timeout=10
    )
    page = requests.get(url, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "form, error",
    [
        ({"as": "mallory", "text": "hello"}, "no such user here"),
        ({"as": "alice", "text": "x" * 281}, "1 to 280 characters"),
        ({"as": "alice", "text": "  "}, "1 to 280 characters"),
    ],
)
def test_a_bad_post_is_refused_and_posts_nothing(emulator, form, error):
    url, exports, _ = emulator
    answer = requests.post(
        f"{url}/emulator/post", data=form, headers={"Accept": "application/json"}, timeout=10
    )
    assert answer.status_code == 400 and error in answer.json()["error"]
    shown = requests.post(f"{url}/emulator/post", data=form, timeout=10)  # a browser's form
    assert shown.url.startswith(f"{url}/?error=") and error in shown.text
    assert "<li>" not in shown.text


def test_a_form_too_large_is_refused(emulator):
    url, _, _ = emulator
    answer = requests.post(
        f"{url}/emulator/post",
        data={"as": "alice", "text": "x" * 5000},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413


def test_ctrl_c_stops_it(emulator):
    url, _, process = emulator
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=START_TIMEOUT_S) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=10)
