"""Plugins are found through their entry point groups, each group into a plugin
manager of its own: channels through `envoi.channels`, payment providers
through `envoi.providers`, the built-in twitter channel and sandbox provider
exactly like outside ones."""

import collections.abc
import json
import re
import subprocess
import sys
import typing

import pytest

from envoi import plugins
from envoi.channels import channel as channel_module
from envoi.channels.channel import Channel
from envoi.channels.testing import private_imports
from envoi.channels.twitter.channel import TwitterChannel
from envoi.plugins import hookspecs
from envoi.providers.sandbox.bank_transfers import SandboxBankTransfers
from envoi.providers.sandbox.cards import SandboxCards
from envoi.providers.sandbox.config import SandboxConfig

OUTSIDE_PLUGIN = """
from envoi.channels import hookimpl
from envoi.channels.channel import Channel
from envoi.channels.grammar import Grammar


class EchoChannel(Channel):
    name = "echo"
    grammar = Grammar(bot_handle="echobot")


@hookimpl
def envoi_channels(env):
    return [EchoChannel()] if env.get("ECHO_ENABLED") else []
"""


@pytest.fixture
def outside_plugin(tmp_path, monkeypatch):
    """An installed distribution `envoi-channel-echo` 1.2.3, as pip would leave it."""
    (tmp_path / "envoi_channel_echo.py").write_text(OUTSIDE_PLUGIN)
    dist_info = tmp_path / "envoi_channel_echo-1.2.3.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: envoi-channel-echo\nVersion: 1.2.3\n"
    )
    (dist_info / "entry_points.txt").write_text("[envoi.channels]\necho = envoi_channel_echo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "envoi_channel_echo", raising=False)  # fresh each test
    return tmp_path


def test_the_built_in_and_outside_plugins_are_listed_with_their_versions(outside_plugin):
    listed = {p.name: p for p in plugins.installed_plugins({})}
    assert listed["twitter"].module == "envoi.channels.twitter.plugin"
    assert listed["twitter"].distribution == "envoi"
    assert (listed["echo"].distribution, listed["echo"].version) == ("envoi-channel-echo", "1.2.3")
    assert all(p.enabled for p in listed.values())


def test_envoi_channels_limits_which_plugins_load(outside_plugin):
    env = {"ECHO_ENABLED": "1", "ENVOI_TWITTER_CONSUMER_SECRET": "s"}
    assert sorted(c.name for c in plugins.load_channels(env)) == ["echo", "twitter"]
    only_echo = {**env, "ENVOI_CHANNELS": "echo"}
    assert [c.name for c in plugins.load_channels(only_echo)] == ["echo"]
    assert {p.name: p.enabled for p in plugins.installed_plugins(only_echo)}["twitter"] is False
    assert plugins.load_channels({**env, "ENVOI_CHANNELS": ""}) == []


def test_a_plugin_without_its_settings_provides_no_channel():
    assert plugins.load_channels({}) == []
    [channel] = plugins.load_channels({"ENVOI_TWITTER_CONSUMER_SECRET": "s"})
    assert isinstance(channel, TwitterChannel)


def test_two_plugins_may_not_provide_one_channel(outside_plugin):
    (outside_plugin / "envoi_channel_echo.py").write_text(
        OUTSIDE_PLUGIN.replace('name = "echo"', 'name = "twitter"')
    )
    with pytest.raises(ValueError, match="twitter"):
        plugins.load_channels({"ECHO_ENABLED": "1", "ENVOI_TWITTER_CONSUMER_SECRET": "s"})


def test_envoi_plugins_prints_them(outside_plugin):
    done = subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "plugins"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(outside_plugin), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    listed = {p["name"]: p["version"] for p in json.loads(done.stdout)}
    assert listed["echo"] == "1.2.3" and "twitter" in listed


def test_settings_help_comes_through_the_hook_of_every_installed_plugin(outside_plugin):
    (outside_plugin / "envoi_channel_echo.py").write_text(
        OUTSIDE_PLUGIN + "\n\n@hookimpl\ndef envoi_settings_help():\n    return 'ECHO_ENABLED\\n'\n"
    )
    texts = plugins.settings_help(plugins.ENTRY_POINT_GROUP)
    assert "ECHO_ENABLED\n" in texts  # enabled or not: ENVOI_CHANNELS is not read
    assert any("ENVOI_TWITTER_CONSUMER_SECRET" in text for text in texts)
    [sandbox] = plugins.settings_help(plugins.PROVIDER_ENTRY_POINT_GROUP)
    assert "ENVOI_SANDBOX_WEBHOOK_SECRET" in sandbox


def test_a_plugin_that_cannot_load_is_named_in_the_help_and_hides_no_other(outside_plugin):
    (outside_plugin / "envoi_channel_echo.py").write_text("raise RuntimeError('no')\n")
    texts = plugins.settings_help(plugins.ENTRY_POINT_GROUP)
    assert "echo: cannot be loaded (RuntimeError)\n" in texts
    assert any("ENVOI_TWITTER_CONSUMER_SECRET" in text for text in texts)


# Payment providers: the same plugin manager, their own entry point group.

SANDBOX_ENV = {"ENVOI_SANDBOX_WEBHOOK_SECRET": "s" * 32}

OUTSIDE_PROVIDER = """
from envoi.channels import hookimpl
from envoi.providers.provider import PayoutProvider


class PigeonPost(PayoutProvider):
    name = "pigeon"

    def submit(self, **payout):
        return "coo"

    def parse_callback(self, payload, signature):
        raise NotImplementedError


@hookimpl
def envoi_payout_providers(env):
    return [PigeonPost()]
"""


@pytest.fixture
def outside_provider(tmp_path, monkeypatch):
    """An installed distribution `envoi-provider-pigeon` 0.3.0 in the envoi.providers group."""
    (tmp_path / "envoi_provider_pigeon.py").write_text(OUTSIDE_PROVIDER)
    dist_info = tmp_path / "envoi_provider_pigeon-0.3.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: envoi-provider-pigeon\nVersion: 0.3.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[envoi.providers]\npigeon = envoi_provider_pigeon\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "envoi_provider_pigeon", raising=False)
    return tmp_path


def test_the_sandbox_provider_is_listed_in_the_providers_group(outside_provider):
    listed = {(p.group, p.name): p for p in plugins.installed_plugins({})}
    sandbox = listed[("envoi.providers", "sandbox")]
    assert (sandbox.module, sandbox.distribution) == ("envoi.providers.sandbox.plugin", "envoi")
    assert listed[("envoi.providers", "pigeon")].version == "0.3.0"
    assert listed[("envoi.channels", "twitter")].group == "envoi.channels"


def test_the_sandbox_loads_only_when_configured():
    assert plugins.load_funding_providers({}) == {}
    assert plugins.load_payout_providers({}) == {}
    funding = plugins.load_funding_providers(SANDBOX_ENV)
    payouts = plugins.load_payout_providers(SANDBOX_ENV)
    assert isinstance(funding["sandbox"], SandboxCards)
    assert isinstance(payouts["sandbox"], SandboxBankTransfers)
    with pytest.raises(ValueError, match="at least 32"):
        plugins.load_funding_providers({"ENVOI_SANDBOX_WEBHOOK_SECRET": "short"})


def test_the_sandbox_secret_stays_out_of_repr():
    secret = "a secret nobody may read in a log: 40 b."
    env = {"ENVOI_SANDBOX_WEBHOOK_SECRET": secret}
    shown = repr(plugins.load_funding_providers(env)) + repr(plugins.load_payout_providers(env))
    shown += repr(SandboxConfig.from_env(env))
    assert secret not in shown


def test_envoi_providers_limits_which_providers_load(outside_provider):
    assert sorted(plugins.load_payout_providers(SANDBOX_ENV)) == ["pigeon", "sandbox"]
    only_pigeon = {**SANDBOX_ENV, "ENVOI_PROVIDERS": "pigeon"}
    assert sorted(plugins.load_payout_providers(only_pigeon)) == ["pigeon"]
    assert plugins.load_funding_providers(only_pigeon) == {}
    # The channels' variable does not limit providers, nor the reverse.
    assert sorted(plugins.load_payout_providers({**SANDBOX_ENV, "ENVOI_CHANNELS": ""})) == [
        "pigeon",
        "sandbox",
    ]
    assert plugins.load_channels({"ENVOI_TWITTER_CONSUMER_SECRET": "s", "ENVOI_PROVIDERS": ""})


def test_two_plugins_may_not_provide_one_provider(outside_provider):
    (outside_provider / "envoi_provider_pigeon.py").write_text(
        OUTSIDE_PROVIDER.replace('name = "pigeon"', 'name = "sandbox"')
    )
    with pytest.raises(ValueError, match="sandbox"):
        plugins.load_payout_providers(SANDBOX_ENV)


def test_a_channel_plugin_cannot_bring_a_payment_provider(outside_plugin):
    """Issue 13: with one plugin manager for both groups, a channel plugin that
    also implemented a provider hook loaded money-moving code whatever
    ENVOI_PROVIDERS said. Providers come only from the envoi.providers group."""
    (outside_plugin / "envoi_channel_echo.py").write_text(
        OUTSIDE_PLUGIN + OUTSIDE_PROVIDER.replace("from envoi.channels import hookimpl", "")
    )
    assert plugins.load_payout_providers({"ENVOI_PROVIDERS": ""}) == {}
    assert plugins.load_payout_providers(SANDBOX_ENV).keys() == {"sandbox"}
    assert [c.name for c in plugins.load_channels({"ECHO_ENABLED": "1"})] == ["echo"]


@pytest.mark.parametrize(
    "change, told",
    [
        (('name = "echo"', 'name = "Echo Net"'), "channel name 'Echo Net'"),
        (('grammar = Grammar(bot_handle="echobot")', "grammar = None"), "has no parse"),
        (("class EchoChannel(Channel):", "class EchoChannel:"), "is not an envoi.channels"),
    ],
)
def test_a_channel_the_gateway_could_not_run_is_refused_at_load(outside_plugin, change, told):
    (outside_plugin / "envoi_channel_echo.py").write_text(OUTSIDE_PLUGIN.replace(*change))
    with pytest.raises(ValueError, match=re.escape(told)):
        plugins.load_channels({"ECHO_ENABLED": "1"})


def test_a_grammar_of_the_plugin_s_own_is_a_parser(outside_plugin):
    own = OUTSIDE_PLUGIN.replace(
        'grammar = Grammar(bot_handle="echobot")',
        "class grammar:\n        @staticmethod\n        def parse(text, **flags):\n"
        "            return Grammar('echobot').parse(text, **flags)",
    )
    (outside_plugin / "envoi_channel_echo.py").write_text(own)
    [echo] = plugins.load_channels({"ECHO_ENABLED": "1"})
    assert echo.grammar.parse("@echobot #send 1€ @a").amount_cents == 100


def test_the_hooks_are_typed():
    hints = typing.get_type_hints(hookspecs.envoi_channels, localns=vars(channel_module))
    assert hints == {"env": collections.abc.Mapping[str, str], "return": list[Channel]}


@pytest.mark.filterwarnings("default:the `channel` fixture:DeprecationWarning")
def test_the_kit_s_twitter_only_channel_fixture_warns_that_it_goes(request):
    with pytest.warns(DeprecationWarning, match='channel_client_for\\("<your channel>"\\)'):
        request.getfixturevalue("channel")


def test_the_kit_finds_imports_of_envoi_s_internals(tmp_path):
    (tmp_path / "good.py").write_text(
        "from envoi.channels.channel import Channel\nimport envoi.client\n"
        "from envoi.v1 import event_pb2\nfrom . import sibling\nimport requests\n"
    )
    (tmp_path / "bad.py").write_text(
        "from envoi.core.ledger import transfers\nimport envoi.channels.intake\nimport envoi\n"
    )
    assert private_imports(tmp_path) == [
        ("bad.py", "envoi.core.ledger"),
        ("bad.py", "envoi.channels.intake"),
        ("bad.py", "envoi"),
    ]
