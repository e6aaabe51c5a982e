"""The hooks an envoi plugin implements. Each returns what the plugin provides.

    from envoi.channels import hookimpl

    @hookimpl
    def envoi_channels(env: Mapping[str, str]) -> list[Channel]:
        return [MyChannel(env)] if env.get("MYNET_APP_SECRET") else []

A channel plugin registers its module under the `envoi.channels` entry point
group (docs/plugins.md); a payment provider plugin under `envoi.providers`
(docs/providers.md). Each group loads into a plugin manager of its own
(plugins.py): a hook of the other group's in a module is never called.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping

import pluggy

if typing.TYPE_CHECKING:  # the hooks' types; importing them here would be circular
    from envoi.channels.channel import Channel
    from envoi.providers.provider import FundingProvider, PayoutProvider

hookspec = pluggy.HookspecMarker("envoi")
hookimpl = pluggy.HookimplMarker("envoi")


@hookspec
def envoi_channels(env: Mapping[str, str]) -> list[Channel]:
    """Return the Channel objects this plugin provides (an empty list when it
    is not configured). `env` is the environment mapping to read settings from."""


@hookspec
def envoi_funding_providers(env: Mapping[str, str]) -> list[FundingProvider]:
    """Return the FundingProvider objects (envoi.providers.provider) this plugin
    provides: card charging, money in. An empty list when it is not configured."""


@hookspec
def envoi_payout_providers(env: Mapping[str, str]) -> list[PayoutProvider]:
    """Return the PayoutProvider objects this plugin provides: bank transfers
    to an IBAN, money out. An empty list when it is not configured."""


@hookspec
def envoi_settings_help() -> str:
    """Return the help of this plugin's settings, read only when help is asked
    for: a channel's is a block under a heading of its own (`envoi gateway
    --help`), a provider's its variables' lines under the payment providers
    heading (`envoi serve --help`); one line, indented, for each variable."""
