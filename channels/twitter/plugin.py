"""Registers the Twitter/X channel, through the same entry point group
(`envoi.channels`) as any outside plugin."""

from envoi.channels import hookimpl
from envoi.channels.twitter.channel import TwitterChannel
from envoi.channels.twitter.config import SETTINGS_HELP, TwitterConfig


@hookimpl
def envoi_channels(env):
    config = TwitterConfig.from_env(env)
    return [TwitterChannel(config)] if config else []


@hookimpl
def envoi_settings_help():
    return SETTINGS_HELP
