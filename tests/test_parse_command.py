"""`envoi parse`: one JSON object on stdout, exit 0 when accepted, 1 when
rejected, 2 for a bad configuration; no server and no database involved."""

import json
import os
import subprocess
import sys

import pytest

# Settings that would fail loudly if the command tried to reach a database.
OFFLINE = {
    "ENVOI_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
    "ENVOI_DATA_DIR": "/nonexistent/envoi",
}


def envoi_parse(*args, **environment):
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("ENVOI_TWITTER_BOT_HANDLE", "ENVOI_CHANNEL_KEYWORDS")
    }
    env.update(OFFLINE, **environment)
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "parse", *args],
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )


def one_json_object(stdout: str) -> dict:
    """stdout holds exactly one JSON object, and nothing else but whitespace."""
    value, end = json.JSONDecoder().raw_decode(stdout.lstrip())
    assert stdout.lstrip()[end:].strip() == "", stdout
    assert isinstance(value, dict)
    return value


def test_an_accepted_post_prints_the_intent_and_exits_0():
    done = envoi_parse("@SmoneyFR #envoyer 10,50 € @alice merci pour le café &amp; 🍰")
    assert (done.returncode, done.stderr) == (0, "")
    assert one_json_object(done.stdout) == {
        "amount_cents": 1050,
        "currency": "EUR",
        "recipient": "alice",
        "memo": "merci pour le café & 🍰",
    }


def test_a_collection_recipient_keeps_its_hashtag():
    done = envoi_parse("@SmoneyFR #envoyer 5€ #TelethonACF")
    assert (done.returncode, done.stderr) == (0, "")
    assert one_json_object(done.stdout) == {
        "amount_cents": 500,
        "currency": "EUR",
        "recipient": "#TelethonACF",
        "memo": "",
    }


@pytest.mark.parametrize(
    "text, reason",
    [
        ("@SmoneyFR #envoyer 1,000€ @alice", "AMBIGUOUS_THOUSANDS"),
        ("#envoyer 10€ @alice", "NOT_ADDRESSED"),
        ("", "NOT_ADDRESSED"),
    ],
)
def test_a_rejected_post_prints_the_reason_and_exits_1(text, reason):
    done = envoi_parse(text)
    assert (done.returncode, done.stderr) == (1, "")
    error = one_json_object(done.stdout)["error"]
    assert error.keys() == {"reason", "message"}
    assert error["reason"] == reason and error["message"].endswith(".")


def test_a_text_starting_with_a_dash_comes_after_double_dash():
    done = envoi_parse("--", "-10€ @SmoneyFR #envoyer @alice")
    assert done.returncode == 1
    assert one_json_object(done.stdout)["error"]["reason"] == "NEGATIVE_AMOUNT"


def test_dm_bot_and_keywords_options():
    assert envoi_parse("#envoyer 10€ @alice").returncode == 1
    done = envoi_parse("--dm", "#envoyer 10€ @alice")
    assert done.returncode == 0 and one_json_object(done.stdout)["recipient"] == "alice"
    done = envoi_parse("--bot", "PayBot", "@paybot #send 10€ @alice")
    assert done.returncode == 0, done.stdout
    done = envoi_parse(
        "@PayBot #payer 2€ @bob",
        ENVOI_TWITTER_BOT_HANDLE="PayBot",
        ENVOI_CHANNEL_KEYWORDS="payer, pay",
    )
    assert done.returncode == 0 and one_json_object(done.stdout)["amount_cents"] == 200
    done = envoi_parse("@SmoneyFR #envoyer 2€ @bob", ENVOI_CHANNEL_KEYWORDS="payer")
    assert one_json_object(done.stdout)["error"]["reason"] == "MISSING_KEYWORD"


@pytest.mark.parametrize(
    "args, environment",
    [
        (["--bot", "not-a-handle"], {}),
        ([], {"ENVOI_CHANNEL_KEYWORDS": "en voyer"}),
        ([], {"ENVOI_CHANNEL_KEYWORDS": " , "}),
    ],
)
def test_a_bad_configuration_exits_2_with_nothing_on_stdout(args, environment):
    done = envoi_parse(*args, "@SmoneyFR #envoyer 10€ @alice", **environment)
    assert done.returncode == 2 and done.stdout == ""
    assert "envoi parse:" in done.stderr


def test_parse_loads_no_server_and_opens_no_database():
    code = (
        "import sys\nfrom envoi.core import cli\ntry:\n    cli.main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\nprint(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "parse", "@SmoneyFR #envoyer 1€ @a"],
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        env={**os.environ, **OFFLINE},
    )
    assert one_json_object(done.stdout)["amount_cents"] == 100
    loaded = set(done.stderr.split())
    assert "envoi.channels.grammar" in loaded
    assert not loaded & {
        "envoi.core.server",
        "envoi.core.runtime",
        "pgserver",
        "envoi.channels.gateway",
    }


def test_help_documents_the_environment():
    done = subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "parse", "--help"],
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 0
    assert "ENVOI_TWITTER_BOT_HANDLE" in done.stdout and "ENVOI_CHANNEL_KEYWORDS" in done.stdout


MESSENGER = {
    "MESSENGER_APP_SECRET": "app-secret",
    "MESSENGER_VERIFY_TOKEN": "verify",
    "MESSENGER_PAGE_ACCESS_TOKEN": "page-token",
    "MESSENGER_PAGE_ID": "1234",
}


def test_a_channel_s_own_grammar_parses_with_channel():
    # Messenger's: a conversation (no hashtag), a plain @alice is twitter:alice.
    done = envoi_parse("--channel", "messenger", "--dm", "envoyer 10€ @alice", **MESSENGER)
    assert done.returncode == 0, done.stderr
    assert one_json_object(done.stdout)["recipient"] == "twitter:alice"
    # X's grammar reads the same text otherwise.
    assert envoi_parse("--dm", "envoyer 10€ @alice").returncode == 1


@pytest.mark.parametrize(
    "args, environment, told",
    [
        (["--channel", "messenger"], {}, "no channel 'messenger' is configured here"),
        (["--channel", "nowhere"], MESSENGER, "(configured: messenger)"),
    ],
)
def test_a_channel_that_is_not_configured_exits_2(args, environment, told):
    done = envoi_parse(*args, "envoyer 10€ @alice", **environment)
    assert done.returncode == 2 and done.stdout == "" and told in done.stderr


def test_bot_and_channel_are_one_or_the_other():
    done = envoi_parse("--bot", "PayBot", "--channel", "messenger", "x", **MESSENGER)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
