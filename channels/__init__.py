"""envoi.channels: the channel plugin system and the channel gateway.

A channel turns posts on a social network into payments through envoi's gRPC
API, with a `channel` token; docs/plugins.md explains how to write one.
"""

from envoi.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
