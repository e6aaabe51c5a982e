"""Channel plugins are found through the `envoi.channels` entry point group,
the built-in twitter channel exactly like an outside one."""

import json
import subprocess
import sys

import pytest

from envoi.channels import plugins
from envoi.channels.twitter.channel import TwitterChannel

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
