"""Finds channel plugins through the `envoi.channels` entry point group.

Built-in channels (twitter) are registered through the same group as outside
ones. ENVOI_CHANNELS, a comma-separated list of entry point names, limits
which load; unset, all installed ones do.
"""

import dataclasses
import importlib.metadata
import os

import pluggy

from envoi.channels import hookspecs

ENTRY_POINT_GROUP = "envoi.channels"


@dataclasses.dataclass(frozen=True)
class InstalledPlugin:
    name: str
    module: str
    distribution: str
    version: str
    enabled: bool


def enabled_names(env=os.environ) -> set[str] | None:
    """The names ENVOI_CHANNELS allows, or None when every plugin may load."""
    raw = env.get("ENVOI_CHANNELS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def installed_plugins(env=os.environ) -> list[InstalledPlugin]:
    allowed = enabled_names(env)
    found = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found.append(
            InstalledPlugin(
                name=entry_point.name,
                module=entry_point.value,
                distribution=dist.name if dist else "",
                version=dist.version if dist else "",
                enabled=allowed is None or entry_point.name in allowed,
            )
        )
    return sorted(found, key=lambda plugin: plugin.name)


def plugin_manager(env=os.environ) -> pluggy.PluginManager:
    """A plugin manager with every enabled plugin registered."""
    manager = pluggy.PluginManager("envoi")
    manager.add_hookspecs(hookspecs)
    allowed = enabled_names(env)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is None or entry_point.name in allowed:
            manager.register(entry_point.load(), name=entry_point.name)
    return manager


def load_channels(env=os.environ, manager: pluggy.PluginManager | None = None) -> list:
    """Every channel of every enabled plugin; two channels may not share a name."""
    manager = manager or plugin_manager(env)
    channels = [
        channel for provided in manager.hook.envoi_channels(env=env) for channel in provided
    ]
    names = [channel.name for channel in channels]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise ValueError(f"several plugins provide the channel(s) {sorted(duplicated)}")
    return channels
