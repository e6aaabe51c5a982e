"""The hook a channel plugin implements. One hook: it returns the plugin's channels.

    from envoi.channels import hookimpl

    @hookimpl
    def envoi_channels(env):
        return [MyChannel(env)] if env.get("MYNET_APP_SECRET") else []

Register the module under the `envoi.channels` entry point group of your
distribution; docs/plugins.md walks through a whole plugin.
"""

import pluggy

hookspec = pluggy.HookspecMarker("envoi")
hookimpl = pluggy.HookimplMarker("envoi")


@hookspec
def envoi_channels(env):
    """Return the Channel objects this plugin provides (an empty list when it
    is not configured). `env` is the environment mapping to read settings from."""
