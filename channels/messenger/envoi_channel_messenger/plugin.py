"""Registers the Messenger channel with envoi, through the `envoi.channels`
entry point group declared in this package's pyproject.toml."""

from envoi.channels import hookimpl
from envoi_channel_messenger.channel import MessengerChannel
from envoi_channel_messenger.config import SETTINGS_HELP, MessengerConfig


@hookimpl
def envoi_channels(env):
    config = MessengerConfig.from_env(env)
    return [MessengerChannel(config)] if config else []


@hookimpl
def envoi_settings_help():
    return SETTINGS_HELP
