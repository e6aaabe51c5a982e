"""Finds envoi's plugins through their entry point groups, a plugin manager for each.

- `envoi.channels`: channel plugins (hook envoi_channels), run by the gateway.
  ENVOI_CHANNELS, a comma-separated list of entry point names, limits which
  load; unset, all installed ones do.
- `envoi.providers`: payment provider plugins (hooks envoi_funding_providers
  and envoi_payout_providers), run inside the core server because they move
  money. ENVOI_PROVIDERS limits them the same way. A separate group, so that an
  operator can allow channels and money-moving code independently.

Built-in plugins (the twitter channel, the sandbox provider) are registered
through the same groups as outside ones.
"""

import dataclasses
import importlib.metadata
import os

import pluggy

from envoi.plugins import hookspecs

ENTRY_POINT_GROUP = "envoi.channels"
PROVIDER_ENTRY_POINT_GROUP = "envoi.providers"
# Each group and the environment variable that limits it.
GROUP_FILTERS = {ENTRY_POINT_GROUP: "ENVOI_CHANNELS", PROVIDER_ENTRY_POINT_GROUP: "ENVOI_PROVIDERS"}


@dataclasses.dataclass(frozen=True)
class InstalledPlugin:
    name: str
    module: str
    distribution: str
    version: str
    enabled: bool
    group: str = ENTRY_POINT_GROUP


def enabled_names(env=os.environ, group: str = ENTRY_POINT_GROUP) -> set[str] | None:
    """The names the group's variable (ENVOI_CHANNELS, ENVOI_PROVIDERS) allows,
    or None when every plugin of the group may load."""
    raw = env.get(GROUP_FILTERS[group])
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def installed_plugins(env=os.environ) -> list[InstalledPlugin]:
    found = []
    for group in GROUP_FILTERS:
        allowed = enabled_names(env, group)
        for entry_point in importlib.metadata.entry_points(group=group):
            dist = entry_point.dist
            found.append(
                InstalledPlugin(
                    name=entry_point.name,
                    module=entry_point.value,
                    distribution=dist.name if dist else "",
                    version=dist.version if dist else "",
                    enabled=allowed is None or entry_point.name in allowed,
                    group=group,
                )
            )
    return sorted(found, key=lambda plugin: (plugin.group, plugin.name))


def plugin_manager(env=os.environ, group: str = ENTRY_POINT_GROUP) -> pluggy.PluginManager:
    """A plugin manager with the enabled plugins of one group registered. One
    manager a group: a channel module that also implements a provider hook
    brings no provider, whatever ENVOI_PROVIDERS says."""
    manager = pluggy.PluginManager("envoi")
    manager.add_hookspecs(hookspecs)
    allowed = enabled_names(env, group)
    for entry_point in importlib.metadata.entry_points(group=group):
        if allowed is None or entry_point.name in allowed:
            manager.register(entry_point.load(), name=f"{group}:{entry_point.name}")
    return manager


def settings_help(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """The settings help of every installed plugin of the group, enabled or not
    (an operator reads it to choose), by entry point name. A plugin that cannot
    be loaded is named by the error's class, and never hides the others' help."""
    texts = []
    for entry_point in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        manager = pluggy.PluginManager("envoi")  # one a plugin: the help comes in name order
        manager.add_hookspecs(hookspecs)
        try:
            manager.register(entry_point.load())
            texts += [text for text in manager.hook.envoi_settings_help() if text]
        except Exception as exc:  # a broken plugin must not hide the help
            texts.append(f"{entry_point.name}: cannot be loaded ({type(exc).__name__})\n")
    return texts


def load_channels(env=os.environ) -> list:
    """Every channel of every enabled channel plugin; two channels may not share a name."""
    manager = plugin_manager(env, ENTRY_POINT_GROUP)
    channels = [
        channel for provided in manager.hook.envoi_channels(env=env) for channel in provided
    ]
    for channel in channels:
        _check_channel(channel)
    names = [channel.name for channel in channels]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise ValueError(f"several plugins provide the channel(s) {sorted(duplicated)}")
    return channels


def _check_channel(channel) -> None:
    """What the gateway relies on, said at load rather than at the first post."""
    from envoi.channels.channel import Channel, Parser
    from envoi.core.api.request_validation import IDENTITY_NAMESPACE

    if not isinstance(channel, Channel):
        raise ValueError(f"{channel!r} is not an envoi.channels.channel.Channel")
    name = getattr(channel, "name", None)
    if not isinstance(name, str) or not IDENTITY_NAMESPACE.fullmatch(name):
        raise ValueError(
            f"channel name {name!r}: 1 to 32 of a-z 0-9 _ - starting with a letter "
            "(it is its users' identity namespace)"
        )
    if not isinstance(getattr(channel, "grammar", None), Parser):
        raise ValueError(f"channel {name}: its grammar has no parse(text, ...) (a Parser)")


def load_funding_providers(env=os.environ, manager: pluggy.PluginManager | None = None) -> dict:
    """name -> FundingProvider, of every enabled provider plugin."""
    manager = manager or plugin_manager(env, PROVIDER_ENTRY_POINT_GROUP)
    return _by_name(manager.hook.envoi_funding_providers(env=env), "funding provider")


def load_payout_providers(env=os.environ, manager: pluggy.PluginManager | None = None) -> dict:
    """name -> PayoutProvider, of every enabled provider plugin."""
    manager = manager or plugin_manager(env, PROVIDER_ENTRY_POINT_GROUP)
    return _by_name(manager.hook.envoi_payout_providers(env=env), "payout provider")


def _by_name(provided_lists, what: str) -> dict:
    providers = [provider for provided in provided_lists for provider in provided]
    names = [provider.name for provider in providers]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise ValueError(f"several plugins provide the {what}(s) {sorted(duplicated)}")
    return {provider.name: provider for provider in providers}
