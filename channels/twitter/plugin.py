"""Registers the Twitter/X channel, through the same entry point group
(`envoi.channels`) as any outside plugin."""

from envoi.channels import hookimpl
from envoi.channels.twitter.channel import TwitterChannel
from envoi.channels.twitter.config import TwitterConfig


@hookimpl
def envoi_channels(env):
    config = TwitterConfig.from_env(env)
    return [TwitterChannel(config)] if config else []
