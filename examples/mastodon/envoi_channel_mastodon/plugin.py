"""Registers the Mastodon channel under the `envoi.channels` entry point group."""

from envoi.channels import hookimpl
from envoi_channel_mastodon.channel import MastodonChannel
from envoi_channel_mastodon.config import SETTINGS_HELP, MastodonConfig


@hookimpl
def envoi_channels(env):
    config = MastodonConfig.from_env(env)
    return [MastodonChannel(config)] if config else []


@hookimpl
def envoi_settings_help():
    return SETTINGS_HELP
